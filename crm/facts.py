"""The fact catalogue: everything a rule may test, by name.

Rule files name these fields in `when:`; `docs/facts.md` is generated from this model, so
what an editor reads is what the engine sees. Facts are plain values (numbers, strings,
booleans): times appear as ages in days, money as decimals in the account currency.
"""

from __future__ import annotations

from decimal import Decimal
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from crm.events import GameCategory

Trigger = Literal[
    "registered", "first_deposit", "deposit", "deposit_failed", "loss", "inactive",
    "churn_risk", "vip_review",
]
TRIGGERS: tuple[str, ...] = get_args(Trigger)
VipTier = Literal["none", "bronze", "silver", "gold", "platinum"]
VIP_TIERS: tuple[str, ...] = get_args(VipTier)
KycStatus = Literal["none", "pending", "verified", "rejected"]
# The churn model's features (crm/churn.py), any of which may be what drives a player's score.
ChurnSignal = Literal["none", "falling_frequency", "falling_stake", "failed_deposits", "game_switch", "long_absence",
                      "tenure", "deposit_value", "net_result", "bonus_share"]
# The names of crm/segments.py (own segments, then population ones); a test keeps them equal.
SEGMENTS: tuple[str, ...] = (
    "new", "first_week", "vip", "inactive", "at_risk", "bonus_driven",
    "high_value", "prefers_slots", "prefers_live_casino", "prefers_table", "prefers_sports",
    "prefers_poker", "prefers_bingo",
)

Money = Annotated[Decimal, Field(ge=0)]
Days = Annotated[int, Field(ge=0)]


def _fact(group: str, description: str, **kwargs: object) -> object:
    return Field(description=description, json_schema_extra={"group": group}, **kwargs)


class Facts(BaseModel):
    """What the rules see about one player at one trigger."""

    model_config = ConfigDict(extra="forbid")

    # The decision
    brand: str = _fact("decision", "Brand the player belongs to.", default="default")
    trigger: Trigger = _fact("decision", "What asked for this decision.", default="registered")
    trigger_amount: Money = _fact(
        "decision", "The money in the trigger: the deposit for first_deposit/deposit, "
        "the failed amount for deposit_failed, the net loss for loss; else 0.", default=Decimal(0))
    journey_step: str = _fact(
        "decision", "The journey's decision point (see docs/rules.md); rules pick one with `step:`.", default="start")
    days_inactive: Days = _fact("decision", "For `inactive`: days since the player was last active.", default=0)

    # Profile
    country: str = _fact("profile", "ISO 3166-1 alpha-2 country of the account.", default="")
    age: int | None = _fact("profile", "Age in whole years; absent when no birth date is known.", default=None)
    tenure_days: Days = _fact("profile", "Days since registration.", default=0)
    kyc_status: KycStatus = _fact("profile", "Identity verification state.", default="none")
    consent_email: bool = _fact("profile", "Marketing consent by email.", default=False)
    consent_sms: bool = _fact("profile", "Marketing consent by SMS.", default=False)
    consent_push: bool = _fact("profile", "Marketing consent by push notification.", default=False)
    consent_phone: bool = _fact("profile", "Marketing consent by phone.", default=False)
    vip_tier: VipTier = _fact("profile", "Current VIP tier.", default="none")

    # Money
    deposit_count: Days = _fact("money", "Successful deposits, lifetime.", default=0)
    deposit_total: Money = _fact("money", "Sum of successful deposits, lifetime.", default=Decimal(0))
    deposits_7d: Money = _fact("money", "Sum of successful deposits in the last 7 days.", default=Decimal(0))
    deposits_30d: Money = _fact("money", "Sum of successful deposits in the last 30 days.", default=Decimal(0))
    failed_deposit_count: Days = _fact("money", "Failed deposits, lifetime.", default=0)
    failed_deposits_7d: Days = _fact("money", "Failed deposits in the last 7 days.", default=0)
    withdrawal_total: Money = _fact("money", "Sum of completed withdrawals, lifetime.", default=Decimal(0))
    days_since_last_deposit: int | None = _fact(
        "money", "Days since the last successful deposit; absent before the first.", default=None)

    # Play
    session_count: Days = _fact("play", "Game sessions, lifetime.", default=0)
    sessions_7d: Days = _fact("play", "Game sessions in the last 7 days.", default=0)
    sessions_30d: Days = _fact("play", "Game sessions in the last 30 days.", default=0)
    stake_total: Money = _fact("play", "Total stake, lifetime.", default=Decimal(0))
    stake_7d: Money = _fact("play", "Stake in the last 7 days.", default=Decimal(0))
    stake_30d: Money = _fact("play", "Stake in the last 30 days.", default=Decimal(0))
    win_total: Money = _fact("play", "Total winnings, lifetime.", default=Decimal(0))
    net_loss: Decimal = _fact("play", "Stake minus win, lifetime (negative when the player is ahead).",
                              default=Decimal(0))
    net_loss_7d: Decimal = _fact("play", "Stake minus win in the last 7 days.", default=Decimal(0))
    net_loss_30d: Decimal = _fact("play", "Stake minus win in the last 30 days.", default=Decimal(0))
    favourite_game: GameCategory | None = _fact(
        "play", "Game category with the most stake in the last 30 days; absent without play.", default=None)
    days_since_last_active: int | None = _fact(
        "play", "Days since the player last logged in, played or paid.", default=None)

    # Bonuses
    bonus_claimed_count: Days = _fact("bonus", "Bonuses claimed, lifetime.", default=0)
    bonus_completed_count: Days = _fact("bonus", "Bonuses whose wagering was completed.", default=0)
    bonus_forfeited_count: Days = _fact("bonus", "Bonuses forfeited.", default=0)
    bonus_share_of_stake: Annotated[Decimal, Field(ge=0, le=1)] = _fact(
        "bonus", "Share of lifetime stake played with bonus money, 0 to 1.", default=Decimal(0))

    # Model outputs
    segments: list[str] = _fact(
        "segments", "Segments the player is in; test with `segment: NAME`.", default_factory=list)
    churn_risk: Annotated[Decimal, Field(ge=0, le=1)] = _fact(
        "churn", "Predicted probability that the player churns, 0 to 1.", default=Decimal(0))
    churn_top_signal: ChurnSignal = _fact("churn", "The strongest churn signal.", default="none")
    ltv_12m: Decimal = _fact("value", "Expected net gaming revenue from the player over the next 12 months "
                             "(BG/NBD active days x a robust revenue per active day; 0 until first computed).",
                             default=Decimal(0))


# Names a rule may use in `fact:`; `segments` is tested with `segment:` instead.
FACT_NAMES: tuple[str, ...] = tuple(name for name in Facts.model_fields if name != "segments")


def fact_kind(name: str) -> tuple[str, tuple[str, ...]]:
    """How a fact's values compare: ("number" | "string" | "bool", allowed values if closed)."""
    base = Facts.model_fields[name].annotation
    if get_origin(base) in (Union, UnionType):  # optional: the type beside None
        base = next(a for a in get_args(base) if a is not type(None))
    if get_origin(base) is Annotated:
        base = get_args(base)[0]
    if get_origin(base) is Literal:
        return "string", get_args(base)
    if base is bool:
        return "bool", ()
    if base in (int, Decimal):
        return "number", ()
    return "string", ()


def optional_facts() -> frozenset[str]:
    return frozenset(n for n, f in Facts.model_fields.items() if f.default is None)
