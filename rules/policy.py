"""Jurisdiction policy packs and brand configuration: what the guards enforce, per brand.

A pack holds the law's limits; the brand config (``rules/<brand>/brand.yaml``) names its pack
and sets the commercial caps and budgets. Neither can be loosened by a rule file.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.events import Channel
from crm.journeys import Duration, JourneySettings
from crm.segments import SegmentSettings

PackName = Literal["default", "ukgc", "mga", "sga"]


class ChannelCap(BaseModel):
    model_config = ConfigDict(frozen=True)
    per_day: int = Field(ge=0)
    per_week: int = Field(ge=0)


class PolicyPack(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: PackName
    blocking_rg_severity: Literal["low", "medium", "high"] = Field(
        description="An RG flag at or above this severity stops marketing and incentives.")
    vip_min_age: int
    max_wagering: Decimal | None = Field(description="Largest wagering multiplier a bonus may carry.")
    cashback_as_cash: bool = Field(description="Cashback is paid as cash: no wagering on it.")
    bonus_only_before_first_deposit: bool
    message_caps: dict[Channel, ChannelCap]
    quiet_from: time
    quiet_until: time
    hold_in_quiet_hours: bool = Field(description="Hold a message due in quiet hours until they end (else drop it).")
    loss_framing_words: tuple[str, ...] = Field(
        default=(), description="A message template naming any of these frames play as chasing losses: vetoed.")


_CAPS: dict[Channel, ChannelCap] = {
    "email": ChannelCap(per_day=2, per_week=7),
    "sms": ChannelCap(per_day=1, per_week=3),
    "push": ChannelCap(per_day=2, per_week=10),
    "phone": ChannelCap(per_day=1, per_week=2),
}

# UKGC: marketing must not frame play as a way to win back what was lost.
_LOSS_WORDS = ("loss", "chase", "chasing", "recover", "win_back")

PACKS: dict[str, PolicyPack] = {
    # Cautious where no jurisdiction is named: the strictest of the others on each point.
    "default": PolicyPack(
        name="default", blocking_rg_severity="medium", vip_min_age=25, max_wagering=Decimal(10),
        cashback_as_cash=True, bonus_only_before_first_deposit=False, message_caps=_CAPS,
        quiet_from=time(21), quiet_until=time(9), hold_in_quiet_hours=True, loss_framing_words=_LOSS_WORDS,
    ),
    # UK Gambling Commission: SR 3.4.3 harm indicators stop marketing and bonus take-up;
    # no VIP under 25; wagering at most 10x; money back is cash.
    "ukgc": PolicyPack(
        name="ukgc", blocking_rg_severity="medium", vip_min_age=25, max_wagering=Decimal(10),
        cashback_as_cash=True, bonus_only_before_first_deposit=False, message_caps=_CAPS,
        quiet_from=time(21), quiet_until=time(9), hold_in_quiet_hours=True,
        loss_framing_words=_LOSS_WORDS,
    ),
    # Malta Gaming Authority.
    "mga": PolicyPack(
        name="mga", blocking_rg_severity="high", vip_min_age=18, max_wagering=None,
        cashback_as_cash=False, bonus_only_before_first_deposit=False, message_caps=_CAPS,
        quiet_from=time(22), quiet_until=time(8), hold_in_quiet_hours=True,
    ),
    # Sweden (Spelinspektionen): a bonus only at the first occasion of play.
    "sga": PolicyPack(
        name="sga", blocking_rg_severity="medium", vip_min_age=18, max_wagering=None,
        cashback_as_cash=False, bonus_only_before_first_deposit=True, message_caps=_CAPS,
        quiet_from=time(21), quiet_until=time(9), hold_in_quiet_hours=True,
    ),
}


class Caps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bonus_amount: Decimal = Field(default=Decimal(100), gt=0, description="Largest value of a single bonus.")


class Budgets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    player_30d: Decimal = Field(default=Decimal(300), ge=0, description="Incentive value per player per 30 days.")
    brand_day: Decimal = Field(default=Decimal(10000), ge=0, description="Incentive value per brand per day.")


class ChurnSettings(BaseModel):
    """`churn:` in brand.yaml: how often the brand's players are scored, and what counts as at risk."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    threshold: Decimal = Field(default=Decimal("0.5"), gt=0, lt=1, description=(
        "A score crossing this upward signals churn_risk to the player's workflow (reactivation)."))
    score_every: Duration = Field(default=timedelta(days=1), description="How often the Temporal Schedule scores.")


class BrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    policy: PackName = "default"
    caps: Caps = Caps()
    budgets: Budgets = Budgets()
    hold_in_quiet_hours: bool | None = Field(
        default=None, description="Override the pack: hold messages due in quiet hours (true) or drop them (false).")
    group: str | None = Field(
        default=None, pattern=r"^[a-z0-9_-]{1,32}$",
        description="Brands naming the same group share player ids: a group self-exclusion covers them all.")
    journeys: JourneySettings = JourneySettings()
    churn: ChurnSettings = ChurnSettings()
    segments: SegmentSettings = SegmentSettings()

    @property
    def pack(self) -> PolicyPack:
        pack = PACKS[self.policy]
        if self.hold_in_quiet_hours is None or self.hold_in_quiet_hours == pack.hold_in_quiet_hours:
            return pack
        return pack.model_copy(update={"hold_in_quiet_hours": self.hold_in_quiet_hours})
