"""What a decision needs to know about a player, read from PostgreSQL and the risk system."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from adapters.platform.risk import Risk
from adapters.segments import Segments
from crm.facts import Facts, Trigger
from crm.player_facts import Window, facts_for
from crm.profile import PlayerProfile
from crm.segments import own_segments
from rules.guards import PlayerStatus
from rules.registry import RuleRegistry

BONUS_ABUSE_FROM = Decimal("0.8")

_WINDOW = """
    SELECT coalesce(sum(deposit_amount), 0) AS deposits, coalesce(sum(failed_deposits), 0) AS failed_deposits,
           coalesce(sum(sessions), 0) AS sessions, coalesce(sum(stake), 0) AS stake, coalesce(sum(win), 0) AS win
    FROM player_days WHERE brand = $1 AND player_id = $2 AND day > $3::date
"""
_TOP_CATEGORY = """
    SELECT game_category FROM player_day_games WHERE brand = $1 AND player_id = $2 AND day > $3::date
    GROUP BY game_category HAVING sum(stake) > 0 ORDER BY sum(stake) DESC, game_category LIMIT 1
"""
_MESSAGES = """
    SELECT channel, count(*) FILTER (WHERE sent_at > $3) AS today, count(*) AS week
    FROM communications WHERE brand = $1 AND player_id = $2 AND status = 'sent' AND sent_at > $4 GROUP BY channel
"""
_INCENTIVES = """
    SELECT coalesce(sum(amount) FILTER (WHERE player_id = $2 AND created_at > $4), 0) AS player_30d,
           coalesce(sum(amount) FILTER (WHERE created_at > $3), 0) AS brand_today
    FROM incentives WHERE brand = $1 AND status IN ('pending', 'granted') AND created_at > $4
"""


class UnknownPlayer(Exception):
    """No profile is stored for the player: nothing to decide on."""


class PlayerFacts:
    def __init__(self, pool: asyncpg.Pool, risk: Risk, rules: RuleRegistry) -> None:
        self._pool = pool
        self._risk = risk
        self._rules = rules
        self._segments = Segments(pool)

    async def facts(self, brand: str, player_id: str, *, trigger: Trigger, step: str, trigger_amount: Decimal,
                    days_inactive: int, now: datetime) -> Facts:
        """What the rules match on, without the guards' reads and the risk call: a VIP check needs no more."""
        async with self._pool.acquire() as conn:
            profile, week, month = await self._history(conn, brand, player_id, now)
        return await self._facts(profile, week, month, trigger=trigger, step=step, trigger_amount=trigger_amount,
                                 days_inactive=days_inactive, now=now)

    async def gather(self, brand: str, player_id: str, *, trigger: Trigger, step: str, trigger_amount: Decimal,
                     days_inactive: int, now: datetime) -> tuple[Facts, PlayerStatus]:
        async with self._pool.acquire() as conn:
            profile, week, month = await self._history(conn, brand, player_id, now)
            today = now.replace(hour=0, minute=0, second=0, microsecond=0)
            sent = await conn.fetch(_MESSAGES, brand, player_id, today, now - timedelta(days=7))
            spent = await conn.fetchrow(_INCENTIVES, brand, player_id, today, now - timedelta(days=30))
        risk = await self._risk.profile(brand, player_id)
        facts = await self._facts(profile, week, month, trigger=trigger, step=step, trigger_amount=trigger_amount,
                                  days_inactive=days_inactive, now=now)
        status = PlayerStatus(
            self_excluded=profile.self_excluded, account_closed=profile.account_closed,
            rg_severity=profile.rg_severity, bonus_abuse=risk.bonus_abuse_score >= BONUS_ABUSE_FROM,
            timezone=profile.timezone,
            messages_today={r["channel"]: r["today"] for r in sent}, messages_week={r["channel"]: r["week"] for r in sent},
            incentives_30d=spent["player_30d"], brand_incentives_today=spent["brand_today"],
        )
        return facts, status

    async def _history(self, conn: asyncpg.Connection, brand: str, player_id: str,
                       now: datetime) -> tuple[PlayerProfile, Window, Window]:
        row = await conn.fetchrow("SELECT profile FROM players WHERE brand = $1 AND player_id = $2", brand, player_id)
        if row is None:
            raise UnknownPlayer(f"no profile stored for player {player_id!r} of brand {brand!r}")
        profile = PlayerProfile.model_validate(_json(row["profile"]))
        week = await self._window(conn, brand, player_id, now, 7)
        return profile, week, await self._window(conn, brand, player_id, now, 30)

    async def _facts(self, profile: PlayerProfile, week: Window, month: Window, *, trigger: Trigger, step: str,
                     trigger_amount: Decimal, days_inactive: int, now: datetime) -> Facts:
        config = self._rules.current().book.for_brand(profile.brand).config
        population, ltv = await self._segments.of_player(profile.brand, profile.player_id)
        segments = own_segments(profile, now, config.segments, config.churn.threshold) + population
        return facts_for(profile, week, month, trigger=trigger, step=step, trigger_amount=trigger_amount,
                         days_inactive=days_inactive, now=now, segments=segments, ltv_12m=ltv)

    async def _window(self, conn: asyncpg.Connection, brand: str, player_id: str, now: datetime, days: int) -> Window:
        since = (now - timedelta(days=days)).date()
        sums = await conn.fetchrow(_WINDOW, brand, player_id, since)
        top = await conn.fetchval(_TOP_CATEGORY, brand, player_id, since)
        return Window(deposits=sums["deposits"], failed_deposits=sums["failed_deposits"], sessions=sums["sessions"],
                      stake=sums["stake"], win=sums["win"], top_category=top)


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value
