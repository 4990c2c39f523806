"""From a player's profile and recent daily totals to the facts the rules see.

Windowed figures (7 and 30 days) come from the daily aggregates, lifetime figures from the
profile; segments are the deterministic ones (churn-model segments arrive with scoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crm.facts import Facts, Trigger
from crm.profile import PlayerProfile

# Where a churn score puts a player at risk unless the brand says otherwise (churn.threshold).
AT_RISK_FROM = Decimal("0.5")


@dataclass(frozen=True)
class Window:
    """Sums over the last N days from `player_days` (and the top game category by stake)."""

    deposits: Decimal = Decimal(0)
    failed_deposits: int = 0
    sessions: int = 0
    stake: Decimal = Decimal(0)
    win: Decimal = Decimal(0)
    top_category: str | None = None


def _days_since(at: datetime | None, now: datetime) -> int | None:
    return None if at is None else max((now - at).days, 0)


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))




def facts_for(profile: PlayerProfile, week: Window, month: Window, *, trigger: Trigger, step: str,
              trigger_amount: Decimal, days_inactive: int, now: datetime, segments: list[str],
              ltv_12m: Decimal | None = None) -> Facts:
    share = profile.bonus_stake_total / profile.stake_total if profile.stake_total else Decimal(0)
    return Facts(
        brand=profile.brand, trigger=trigger, journey_step=step, trigger_amount=trigger_amount,
        days_inactive=days_inactive,
        country=profile.country or "", age=_age(profile.birth_date, now.date()),
        tenure_days=_days_since(profile.registered_at, now) or 0, kyc_status=profile.kyc_status or "none",
        consent_email=profile.consents.email, consent_sms=profile.consents.sms,
        consent_push=profile.consents.push, consent_phone=profile.consents.phone, vip_tier=profile.vip_tier,
        deposit_count=profile.deposit_count, deposit_total=profile.deposit_total,
        deposits_7d=week.deposits, deposits_30d=month.deposits,
        failed_deposit_count=profile.failed_deposit_count, failed_deposits_7d=week.failed_deposits,
        withdrawal_total=profile.withdrawal_total,
        days_since_last_deposit=_days_since(profile.last_deposit_at, now),
        session_count=profile.session_count, sessions_7d=week.sessions, sessions_30d=month.sessions,
        stake_total=profile.stake_total, stake_7d=week.stake, stake_30d=month.stake, win_total=profile.win_total,
        net_loss=profile.net_loss, net_loss_7d=week.stake - week.win, net_loss_30d=month.stake - month.win,
        favourite_game=month.top_category, days_since_last_active=_days_since(profile.last_active_at, now),
        bonus_claimed_count=profile.bonus_claimed_count, bonus_completed_count=profile.bonus_completed_count,
        bonus_forfeited_count=profile.bonus_forfeited_count, bonus_share_of_stake=min(share, Decimal(1)),
        segments=segments, ltv_12m=ltv_12m if ltv_12m is not None else Decimal(0),
        churn_risk=profile.churn_risk or Decimal(0), churn_top_signal=profile.churn_top_signal,
    )
