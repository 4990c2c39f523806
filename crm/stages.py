"""The stage staff filter on in the Temporal UI (`CrmStage`): where a player stands today.

Protection comes first: a protected player is shown as protected whatever else is true.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from crm.player_facts import AT_RISK_FROM, NEW_FOR_DAYS
from crm.profile import PlayerProfile

Stage = Literal["new", "active", "at_risk", "lapsed", "vip", "protected"]


def is_protected(profile: PlayerProfile) -> bool:
    return profile.self_excluded or profile.account_closed or profile.rg_severity == "high"


def stage_of(profile: PlayerProfile, now: datetime, seen_active_at: datetime | None,
             at_risk_after: timedelta, lapsed_after: timedelta) -> Stage:
    if is_protected(profile):
        return "protected"
    if profile.vip_tier != "none":
        return "vip"
    away = now - seen_active_at if seen_active_at else timedelta(0)
    if away >= lapsed_after:
        return "lapsed"
    if away >= at_risk_after or (profile.churn_risk is not None and profile.churn_risk >= AT_RISK_FROM):
        return "at_risk"
    if profile.registered_at is None or now - profile.registered_at <= timedelta(days=NEW_FOR_DAYS):
        return "new"
    return "active"
