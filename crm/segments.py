"""Segments: named groups of players, defined per brand (`segments:` in brand.yaml).

Two kinds. A player's own segments follow from their profile alone — `new`, `first_week`,
`vip`, `inactive`, `at_risk`, `bonus_driven` — so PlayerWorkflow keeps them current on every
event. Population segments need everyone's figures — `high_value` (top share of the brand by
90-day deposits) and `prefers_<category>` (dominant game over the preference window) — and
are computed in SQL by the daily scoring run (`adapters/segments.py`), which also computes the
first kind the same way for `crm segments`; a test holds the two definitions together.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from crm.profile import PlayerProfile

CATEGORIES = ("slots", "live_casino", "table", "sports", "poker", "bingo")
OWN = ("new", "first_week", "vip", "inactive", "at_risk", "bonus_driven")
POPULATION = ("high_value", *(f"prefers_{c}" for c in CATEGORIES))
SEGMENTS = (*OWN, *POPULATION)


class SegmentSettings(BaseModel):
    """`segments:` in brand.yaml. A churn score at or above `churn.threshold` makes `at_risk`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    new_days: int = Field(default=30, ge=1, description="`new`: registered within this many days.")
    first_week_days: int = Field(default=7, ge=1, description="`first_week`: registered within this many days.")
    inactive_days: int = Field(default=14, ge=1, description="`inactive`: no activity for this many days.")
    bonus_driven_share: Decimal = Field(default=Decimal("0.5"), gt=0, le=1,
                                        description="`bonus_driven`: this share of stake or more is bonus money.")
    bonus_driven_claims_per_deposit: Decimal = Field(default=Decimal("1.0"), gt=0, description=(
        "`bonus_driven`: or this many bonus claims per deposit or more (at least 3 claims)."))
    high_value_top_percent: Decimal = Field(default=Decimal(5), gt=0, le=100, description=(
        "`high_value`: the top this-many percent of the brand's players by deposits in 90 days."))
    preference_days: int = Field(default=30, ge=1, description="`prefers_<category>`: the most staked-on category "
                                 "over this many days.")


def own_segments(profile: PlayerProfile, now: datetime, settings: SegmentSettings, at_risk_from: Decimal) -> list[str]:
    """The segments a player's own profile puts them in, in the order of OWN."""
    found = []
    if profile.registered_at is not None:
        tenure = (now - profile.registered_at).days
        if tenure < settings.new_days:
            found.append("new")
        if tenure < settings.first_week_days:
            found.append("first_week")
    if profile.vip_tier != "none":
        found.append("vip")
    if profile.last_active_at is not None and now - profile.last_active_at >= timedelta(days=settings.inactive_days):
        found.append("inactive")
    if profile.churn_risk is not None and profile.churn_risk >= at_risk_from:
        found.append("at_risk")
    if _bonus_driven(profile, settings):
        found.append("bonus_driven")
    return found


def _bonus_driven(profile: PlayerProfile, settings: SegmentSettings) -> bool:
    if profile.stake_total and profile.bonus_stake_total / profile.stake_total >= settings.bonus_driven_share:
        return True
    claims, deposits = profile.bonus_claimed_count, max(profile.deposit_count, 1)
    return claims >= 3 and Decimal(claims) / deposits >= settings.bonus_driven_claims_per_deposit
