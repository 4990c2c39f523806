"""What a decision needs to know about a player, read from PostgreSQL and the risk system."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from adapters.platform.risk import Risk
from crm.facts import Facts, Trigger
from crm.player_facts import Window, facts_for
from crm.profile import PlayerProfile
from crm.segments import own_segments
from rules.guards import PlayerStatus
from rules.registry import RuleRegistry

BONUS_ABUSE_FROM = Decimal("0.8")

# A window's sums: the name in `Window`, the column of `player_days`.
_SUMS = {"deposits": "deposit_amount", "failed_deposits": "failed_deposits", "sessions": "sessions",
         "stake": "stake", "win": "win"}
_TOP_CATEGORY = """
    SELECT game_category FROM player_day_games WHERE brand = $1 AND player_id = $2 AND day > {since}
    GROUP BY game_category HAVING sum(stake) > 0 ORDER BY sum(stake) DESC, game_category LIMIT 1
"""
# Everything a player's rules match on, in one round trip: asked after every deposit (the VIP
# check) as well as at each journey's decision. $3 and $4 are the first days after the 7- and
# 30-day windows' starts.
_HISTORY = f"""
    SELECT p.profile, s.population, s.ltv_12m, w.*, t7.game_category AS top_7, t30.game_category AS top_30
    FROM players p
    CROSS JOIN LATERAL (
        SELECT {", ".join(f"coalesce(sum({column}) FILTER (WHERE day > {since}), 0) AS {name}_{days}"
                          for days, since in ((7, "$3::date"), (30, "$4::date")) for name, column in _SUMS.items())}
        FROM player_days WHERE brand = $1 AND player_id = $2 AND day > $4::date) w
    LEFT JOIN LATERAL ({_TOP_CATEGORY.format(since="$3::date")}) t7 ON true
    LEFT JOIN LATERAL ({_TOP_CATEGORY.format(since="$4::date")}) t30 ON true
    LEFT JOIN player_segments s ON s.brand = p.brand AND s.player_id = p.player_id
    WHERE p.brand = $1 AND p.player_id = $2
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

    async def facts(self, brand: str, player_id: str, *, trigger: Trigger, step: str, trigger_amount: Decimal,
                    days_inactive: int, now: datetime) -> Facts:
        """What the rules match on, without the guards' reads and the risk call: a VIP check needs no more."""
        history = await self._history(self._pool, brand, player_id, now)
        return self._facts(history, trigger=trigger, step=step, trigger_amount=trigger_amount,
                           days_inactive=days_inactive, now=now)

    async def gather(self, brand: str, player_id: str, *, trigger: Trigger, step: str, trigger_amount: Decimal,
                     days_inactive: int, now: datetime) -> tuple[Facts, PlayerStatus]:
        # The risk system is asked while PostgreSQL answers: a journey's decision is on the way
        # from the triggering event to the player's bonus.
        (history, sent, spent), risk = await asyncio.gather(self._status_reads(brand, player_id, now),
                                                            self._risk.profile(brand, player_id))
        facts = self._facts(history, trigger=trigger, step=step, trigger_amount=trigger_amount,
                            days_inactive=days_inactive, now=now)
        profile = history.profile
        status = PlayerStatus(
            self_excluded=profile.self_excluded, account_closed=profile.account_closed,
            rg_severity=profile.rg_severity, bonus_abuse=risk.bonus_abuse_score >= BONUS_ABUSE_FROM,
            timezone=profile.timezone,
            messages_today={r["channel"]: r["today"] for r in sent}, messages_week={r["channel"]: r["week"] for r in sent},
            incentives_30d=spent["player_30d"], brand_incentives_today=spent["brand_today"],
        )
        return facts, status

    async def _status_reads(self, brand: str, player_id: str,
                            now: datetime) -> tuple[_History, list[asyncpg.Record], asyncpg.Record]:
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._pool.acquire() as conn:
            return (await self._history(conn, brand, player_id, now),
                    await conn.fetch(_MESSAGES, brand, player_id, today, now - timedelta(days=7)),
                    await conn.fetchrow(_INCENTIVES, brand, player_id, today, now - timedelta(days=30)))

    async def _history(self, db: asyncpg.Pool | asyncpg.Connection, brand: str, player_id: str,
                       now: datetime) -> _History:
        row = await db.fetchrow(_HISTORY, brand, player_id, (now - timedelta(days=7)).date(),
                                (now - timedelta(days=30)).date())
        if row is None:
            raise UnknownPlayer(f"no profile stored for player {player_id!r} of brand {brand!r}")
        week, month = (Window(**{name: row[f"{name}_{days}"] for name in _SUMS}, top_category=row[f"top_{days}"])
                       for days in (7, 30))
        return _History(profile=PlayerProfile.model_validate(_json(row["profile"])), week=week, month=month,
                        population=list(row["population"] or []), ltv_12m=row["ltv_12m"])

    def _facts(self, history: _History, *, trigger: Trigger, step: str, trigger_amount: Decimal,
               days_inactive: int, now: datetime) -> Facts:
        profile = history.profile
        config = self._rules.current().book.for_brand(profile.brand).config
        segments = own_segments(profile, now, config.segments, config.churn.threshold) + history.population
        return facts_for(profile, history.week, history.month, trigger=trigger, step=step,
                         trigger_amount=trigger_amount, days_inactive=days_inactive, now=now, segments=segments,
                         ltv_12m=history.ltv_12m)


@dataclass(frozen=True)
class _History:
    profile: PlayerProfile
    week: Window
    month: Window
    population: list[str]
    ltv_12m: Decimal | None


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value
