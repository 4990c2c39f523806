"""The stage staff filter on in the Temporal UI (`CrmStage`): where a player stands today.

Protection comes first: a protected player is shown as protected whatever else is true.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from crm.profile import PlayerProfile

Stage = Literal["new", "active", "at_risk", "lapsed", "vip", "protected"]


def is_protected(profile: PlayerProfile) -> bool:
    return profile.self_excluded or profile.account_closed or profile.rg_severity == "high"


def stage_of(profile: PlayerProfile, now: datetime, seen_active_at: datetime | None,
             at_risk_after: timedelta, lapsed_after: timedelta, segments: list[str]) -> Stage:
    """`segments`: the player's own segments (crm/segments.py), for `new` and `at_risk`."""
    if is_protected(profile):
        return "protected"
    if profile.vip_tier != "none":
        return "vip"
    away = now - seen_active_at if seen_active_at else timedelta(0)
    if away >= lapsed_after:
        return "lapsed"
    if away >= at_risk_after or "at_risk" in segments:
        return "at_risk"
    if profile.registered_at is None or "new" in segments:
        return "new"
    return "active"
