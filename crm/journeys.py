"""Lifecycle journeys in the shared vocabulary: kinds, steps, brand settings, results.

Pure and deterministic, so that PlayerWorkflow and the journey workflows may import it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

JourneyKind = Literal["welcome", "first_deposit", "loss_recovery", "reactivation", "vip_upgrade"]
JOURNEY_KINDS: tuple[str, ...] = get_args(JourneyKind)

# The decision points of each journey, in the order they come. Rules name one with `step:`;
# a rule without `step:` is asked at `start`.
JOURNEY_STEPS: dict[str, tuple[str, ...]] = {
    "welcome": ("start", "kyc_reminder", "deposit_offer"),
    "first_deposit": ("start", "second_deposit_offer"),
    "loss_recovery": ("start",),
    "reactivation": ("start", "follow_up"),
    "vip_upgrade": ("start", "approved"),
}

# The trigger each journey's decisions are asked at.
JOURNEY_TRIGGERS: dict[str, str] = {
    "welcome": "registered", "first_deposit": "first_deposit", "loss_recovery": "loss",
    "reactivation": "inactive", "vip_upgrade": "vip_review",
}

Outcome = Literal["converted", "expired", "cancelled"]
Group = Literal["treatment", "holdout"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _duration(value: Any) -> Any:
    """Brand files say `3d`, `12h`, `30m`, `90s` or `2w`; ISO 8601 and seconds work too."""
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found:
            return timedelta(**{_UNIT[found.group(2)]: float(found.group(1))})
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def spoken(duration: timedelta) -> str:
    """A duration as staff read it in an outcome: `10 days`, `3 days 12 hours`, `1 minute 30 seconds`."""
    seconds, parts = int(duration.total_seconds()), []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "0 seconds"
Share = Annotated[Decimal, Field(ge=0, le=1)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    control_share: Share = Field(default=Decimal("0.10"), description="Share of entries held out as a control group.")


class WelcomeSettings(_Settings):
    kyc_reminder_after: Duration = Field(default=timedelta(days=2), description="Remind to verify identity if not verified by then.")
    deposit_offer_after: Duration = Field(default=timedelta(days=3), description="Offer a first deposit if none by then.")
    window: Duration = Field(default=timedelta(days=14), description="The journey ends (expired) without a deposit by then.")


class FirstDepositSettings(_Settings):
    second_deposit_offer_after: Duration = Field(default=timedelta(days=3), description="Offer if no second deposit by then.")
    window: Duration = Field(default=timedelta(days=10), description="Ends (expired) without a second deposit by then.")


class LossRecoverySettings(_Settings):
    threshold: Decimal = Field(default=Decimal(200), gt=0, description="Net loss in one session or one day that starts it.")
    cooldown: Duration = Field(default=timedelta(days=14), description="No second loss recovery for the player within this.")
    suppress_after_limit_change: Duration = Field(
        default=timedelta(days=30), description="A limit set this recently says the player may be in trouble: no offer.")
    window: Duration = Field(default=timedelta(days=7), description="Converted if the player plays again within this.")


class ReactivationSettings(_Settings):
    stages: list[Duration] = Field(
        default=[timedelta(days=7), timedelta(days=14), timedelta(days=30)], min_length=1,
        description="Inactivity at which to contact the player: the first starts the journey.")
    give_up_after: Duration = Field(default=timedelta(days=60), description="Inactivity at which it ends (expired).")


class VipUpgradeSettings(_Settings):
    control_share: Share = Field(default=Decimal(0), description="VIP care is not a marketing test: no holdout by default.")
    review_escalate_after: Duration = Field(default=timedelta(days=2), description="Escalate an unanswered review then.")
    review_expires_after: Duration = Field(default=timedelta(days=7), description="An unanswered review ends (expired) then.")


class JourneySettings(BaseModel):
    """Waits, windows, cooldowns and control-group shares: `journeys:` in brand.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    welcome: WelcomeSettings = WelcomeSettings()
    first_deposit: FirstDepositSettings = FirstDepositSettings()
    loss_recovery: LossRecoverySettings = LossRecoverySettings()
    reactivation: ReactivationSettings = ReactivationSettings()
    vip_upgrade: VipUpgradeSettings = VipUpgradeSettings()

    def share(self, kind: str) -> Decimal:
        return getattr(self, kind).control_share


def control_group(brand: str, player_id: str, kind: str, share: Decimal) -> Group:
    """Treatment or holdout, the same every time for this brand, player and journey."""
    digest = hashlib.sha256(f"{brand}\0{player_id}\0{kind}".encode()).digest()
    position = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
    return "holdout" if position < share else "treatment"


def journey_id(kind: str, brand: str, player_id: str, n: int) -> str:
    return f"journey:{kind}:{brand}:{player_id}:{n}"


def journey_task_queue(task_queue: str) -> str:
    """Journeys have a task queue of their own beside the players' one: a journey's next step, the
    one a player is waiting for, never queues behind every other player's session."""
    return f"{task_queue}-journeys"


class PlayerView(BaseModel):
    """What a running journey knows of its player: the parent sends a fresh one on each change."""

    deposit_count: int = 0
    kyc_status: str | None = None
    session_count: int = 0
    last_active_at: datetime | None = None  # when the workflow saw the player act
    vip_tier: str = "none"


class JourneyStart(BaseModel):
    brand: str
    player_id: str
    kind: JourneyKind
    n: int
    parent_id: str
    settings: JourneySettings
    view: PlayerView
    trigger_amount: Decimal = Decimal(0)
    days_inactive: int = 0
    churn_risk: Decimal | None = None
    marketing_paused: str | None = None  # staff's reason, while a pause holds
    proposed_tier: str | None = None  # vip_upgrade: what the rules proposed


class JourneyResult(BaseModel):
    """How a journey ended: recorded in Postgres and reported to the player's workflow."""

    journey_id: str
    kind: JourneyKind
    group: Group
    outcome: Outcome
    reason: str
    started_at: datetime
    ended_at: datetime
    vip_tier: str | None = None  # set when a VIP upgrade was approved
    days_to_return: int | None = None  # reactivation: how long the player was away


class VipReview(BaseModel):
    approved: bool
    reviewer: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=1000)
