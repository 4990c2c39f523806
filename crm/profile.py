"""The unified player profile and how each event changes it.

The PlayerWorkflow folds events into this profile as they arrive and persists a snapshot of
it, so the ``profile`` query and the ``players`` table always say the same thing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from crm.facts import ChurnSignal, VipTier

from crm.events import (
    AccountClosed,
    BonusClaimed,
    BonusCompleted,
    BonusForfeited,
    ConsentChanged,
    Consents,
    DepositFailed,
    DepositSucceeded,
    Event,
    KycUpdated,
    LimitChanged,
    LoggedIn,
    Registered,
    RgFlagged,
    SelfExcluded,
    SessionEnded,
    WithdrawalCompleted,
)

# Where the account stands with the operator; CrmStage (crm/stages.py) is where the player stands with us.
AccountStatus = Literal["prospect", "registered", "depositor", "self_excluded", "closed"]
Severity = Literal["low", "medium", "high"]
_SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}

# Events that show the player themself doing something; RG markers, KYC and limits are the
# operator acting on the account and do not make a player "active". Journeys read it too.
PLAYER_ACTIVITY = (
    Registered, LoggedIn, SessionEnded, DepositSucceeded, DepositFailed,
    WithdrawalCompleted, BonusClaimed,
)


class Limit(BaseModel):
    value: Decimal
    period: str
    set_at: datetime


class RgFlag(BaseModel):
    marker: str
    severity: Severity
    flagged_at: datetime


class PlayerProfile(BaseModel):
    brand: str
    player_id: str

    registered_at: datetime | None = None
    country: str | None = None
    currency: str | None = None
    birth_date: date | None = None
    timezone: str = "UTC"
    acquisition_channel: str | None = None

    kyc_status: Literal["pending", "verified", "rejected"] | None = None
    kyc_updated_at: datetime | None = None
    consents: Consents = Consents()
    # When each channel's consent was last set, so a late, older event cannot undo a newer
    # withdrawal of consent.
    consents_set_at: dict[str, datetime] = Field(default_factory=dict)

    self_excluded: bool = False
    self_excluded_at: datetime | None = None
    self_excluded_until: datetime | None = None
    self_exclusion_scope: Literal["brand", "group"] | None = None
    rg_flags: list[RgFlag] = Field(default_factory=list)
    limits: dict[str, Limit] = Field(default_factory=dict)
    account_closed: bool = False
    closed_at: datetime | None = None

    deposit_count: int = 0
    deposit_total: Decimal = Decimal(0)
    first_deposit_at: datetime | None = None
    last_deposit_at: datetime | None = None
    failed_deposit_count: int = 0
    failed_deposit_total: Decimal = Decimal(0)
    last_failed_deposit_at: datetime | None = None
    withdrawal_count: int = 0
    withdrawal_total: Decimal = Decimal(0)

    session_count: int = 0
    session_seconds: int = 0
    rounds_total: int = 0
    stake_total: Decimal = Decimal(0)
    win_total: Decimal = Decimal(0)
    bonus_stake_total: Decimal = Decimal(0)
    stake_by_category: dict[str, Decimal] = Field(default_factory=dict)

    bonus_claimed_count: int = 0
    bonus_claimed_total: Decimal = Decimal(0)
    bonus_completed_count: int = 0
    bonus_forfeited_count: int = 0

    login_count: int = 0
    last_login_at: datetime | None = None
    last_active_at: datetime | None = None

    events_accepted: int = 0
    events_rejected: int = 0

    # Set by the CRM itself: a VIP upgrade approved by staff, and the churn model's latest score.
    vip_tier: VipTier = "none"
    churn_risk: Decimal | None = None
    churn_top_signal: ChurnSignal = "none"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def account_status(self) -> AccountStatus:
        if self.account_closed:
            return "closed"
        if self.self_excluded:
            return "self_excluded"
        if self.deposit_count:
            return "depositor"
        if self.registered_at:
            return "registered"
        return "prospect"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_loss(self) -> Decimal:
        """Stake minus win: what the player has lost on play (negative when ahead)."""
        return self.stake_total - self.win_total

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rg_severity(self) -> Severity | None:
        if not self.rg_flags:
            return None
        return max(self.rg_flags, key=lambda f: _SEVERITY_RANK[f.severity]).severity

    def apply(self, event: Event) -> None:
        """Fold one accepted, not-yet-seen event into the profile."""
        at = event.occurred_at
        self.events_accepted += 1
        if isinstance(event, PLAYER_ACTIVITY):
            self.last_active_at = _latest(self.last_active_at, at)

        match event:
            case Registered():
                self.registered_at = at
                self.country, self.currency = event.country, event.currency
                self.birth_date, self.timezone = event.birth_date, event.timezone
                self.acquisition_channel = event.acquisition_channel
                for channel, granted in event.consents.model_dump().items():
                    self._set_consent(channel, granted, at)
            case KycUpdated():
                if self.kyc_updated_at is None or at >= self.kyc_updated_at:
                    self.kyc_status, self.kyc_updated_at = event.status, at
            case ConsentChanged():
                self._set_consent(event.channel, event.granted, at)
            case LoggedIn():
                self.login_count += 1
                self.last_login_at = _latest(self.last_login_at, at)
            case SessionEnded():
                self.session_count += 1
                self.session_seconds += event.duration_seconds
                self.rounds_total += event.rounds
                self.stake_total += event.stake
                self.win_total += event.win
                self.bonus_stake_total += event.bonus_stake
                category = event.game_category
                self.stake_by_category[category] = (
                    self.stake_by_category.get(category, Decimal(0)) + event.stake
                )
            case DepositSucceeded():
                self.deposit_count += 1
                self.deposit_total += event.amount
                self.first_deposit_at = _earliest(self.first_deposit_at, at)
                self.last_deposit_at = _latest(self.last_deposit_at, at)
            case DepositFailed():
                self.failed_deposit_count += 1
                self.failed_deposit_total += event.amount
                self.last_failed_deposit_at = _latest(self.last_failed_deposit_at, at)
            case WithdrawalCompleted():
                self.withdrawal_count += 1
                self.withdrawal_total += event.amount
            case BonusClaimed():
                self.bonus_claimed_count += 1
                self.bonus_claimed_total += event.amount
            case BonusCompleted():
                self.bonus_completed_count += 1
            case BonusForfeited():
                self.bonus_forfeited_count += 1
            case LimitChanged():
                current = self.limits.get(event.kind)
                if current is None or at >= current.set_at:
                    self.limits[event.kind] = Limit(value=event.value, period=event.period, set_at=at)
            case SelfExcluded():
                # Exclusions only ever widen here: lifting one is the exclusion running out,
                # never a later event that happens to say less.
                indefinite = event.until is None or (
                    self.self_excluded and self.self_excluded_until is None
                )
                self.self_excluded_until = (
                    None if indefinite else _latest(self.self_excluded_until, event.until)
                )
                self.self_excluded_at = (
                    _earliest(self.self_excluded_at, at) if self.self_excluded else at
                )
                self.self_excluded = True
                if self.self_exclusion_scope != "group":
                    self.self_exclusion_scope = event.scope
            case RgFlagged():
                self.rg_flags.append(RgFlag(marker=event.marker, severity=event.severity, flagged_at=at))
            case AccountClosed():
                self.account_closed = True
                self.closed_at = _earliest(self.closed_at, at)

    def end_self_exclusion(self) -> None:
        self.self_excluded = False
        self.self_excluded_until = None
        self.self_exclusion_scope = None

    def _set_consent(self, channel: str, granted: bool, at: datetime) -> None:
        last = self.consents_set_at.get(channel)
        if last is not None and at < last:
            return
        self.consents = self.consents.model_copy(update={channel: granted})
        self.consents_set_at[channel] = at


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current
