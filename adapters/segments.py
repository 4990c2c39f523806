"""Segments and lifetime value for a whole brand, in SQL, as the daily scoring run refreshes them.

The definitions are crm/segments.py's; `own` ones are the same as PlayerWorkflow computes
from the profile (a test holds them together), `population` ones need everyone's figures.
Lifetime value over 12 months is BG/NBD's expected active days times a robust net gaming
revenue per active day: daily revenue winsorised at the brand's 1st and 99th percentiles,
and each player's mean shrunk towards the brand's median by `SHRINK_DAYS` days of it, since
casino stakes are too heavy-tailed for Gamma-Gamma.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import numpy as np

from crm.bgnbd import BgNbd
from crm.segments import SegmentSettings

SHRINK_DAYS = 5
VALUE_LOOKBACK_DAYS = 365

_SEGMENTS = """
WITH b AS (SELECT $2::date AS d, ($2::date)::timestamp AT TIME ZONE 'UTC' AS ts),
value AS (
    SELECT player_id, sum(deposit_amount) AS deposits FROM player_days, b
    WHERE brand = $1 AND day >= d - 90 AND day < d GROUP BY player_id HAVING sum(deposit_amount) > 0
), ranked AS (
    SELECT player_id, cume_dist() OVER (ORDER BY deposits DESC) AS top FROM value
), staked AS (
    SELECT player_id, game_category, sum(stake) AS stake FROM player_day_games, b
    WHERE brand = $1 AND day >= d - $10::int AND day < d GROUP BY player_id, game_category HAVING sum(stake) > 0
), game AS (
    SELECT DISTINCT ON (player_id) player_id, game_category FROM staked ORDER BY player_id, stake DESC, game_category
)
SELECT p.player_id,
    array_remove(ARRAY[
        CASE WHEN b.ts - p.registered_at < make_interval(days => $3::int) THEN 'new' END,
        CASE WHEN b.ts - p.registered_at < make_interval(days => $4::int) THEN 'first_week' END,
        CASE WHEN coalesce(p.profile->>'vip_tier', 'none') <> 'none' THEN 'vip' END,
        CASE WHEN b.ts - p.last_active_at >= make_interval(days => $5::int) THEN 'inactive' END,
        CASE WHEN (p.profile->>'churn_risk')::numeric >= $6 THEN 'at_risk' END,
        CASE WHEN (p.stake_total > 0 AND p.bonus_stake_total / p.stake_total >= $7)
              OR (p.bonus_claimed_count >= 3 AND p.bonus_claimed_count::numeric / greatest(p.deposit_count, 1) >= $8)
             THEN 'bonus_driven' END
    ]::text[], NULL) AS segments,
    array_remove(ARRAY[
        CASE WHEN r.top <= $9 / 100.0 THEN 'high_value' END,
        CASE WHEN g.game_category <> 'other' THEN 'prefers_' || g.game_category END
    ]::text[], NULL) AS population
FROM players p CROSS JOIN b
LEFT JOIN ranked r USING (player_id)
LEFT JOIN game g USING (player_id)
WHERE p.brand = $1 AND NOT (p.self_excluded OR p.account_closed)
"""

_VALUE = f"""
WITH b AS (SELECT $2::date AS d),
active AS (
    SELECT player_id, day, stake - win AS revenue FROM player_days, b
    WHERE brand = $1 AND day < d AND day >= d - {VALUE_LOOKBACK_DAYS} AND (sessions > 0 OR deposits > 0)
), bounds AS (
    SELECT percentile_cont(0.01) WITHIN GROUP (ORDER BY revenue) AS low,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY revenue) AS high FROM active
)
SELECT player_id, (count(*) - 1)::float8 AS x, (max(day) - min(day))::float8 AS t_x,
       (max(b.d) - min(day))::float8 AS t, count(*)::float8 AS days,
       sum(least(greatest(revenue, bounds.low), bounds.high))::float8 AS revenue
FROM active, bounds, b GROUP BY player_id
"""


class Segments:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def refresh(self, brand: str, as_of: date, settings: SegmentSettings,
                      at_risk_from: Decimal) -> list[dict[str, Any]]:
        """Recompute every player of the brand; returns each segment's size and movement."""
        rows = await self._pool.fetch(
            _SEGMENTS, brand, as_of, settings.new_days, settings.first_week_days, settings.inactive_days,
            at_risk_from, settings.bonus_driven_share, settings.bonus_driven_claims_per_deposit,
            settings.high_value_top_percent, settings.preference_days)
        values = await self.lifetime_values(brand, as_of)
        staged = [(brand, r["player_id"], as_of, list(r["segments"]), list(r["population"]),
                   values.get(r["player_id"])) for r in rows]
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("CREATE TEMP TABLE staged_segments (LIKE player_segments INCLUDING DEFAULTS)"
                               " ON COMMIT DROP")
            await conn.copy_records_to_table("staged_segments", records=staged, columns=(
                "brand", "player_id", "as_of", "segments", "population", "ltv_12m"))
            sizes = await conn.fetch(
                """WITH new AS (SELECT player_id, unnest(segments || population) AS segment FROM staged_segments),
                        old AS (SELECT player_id, unnest(segments || population) AS segment FROM player_segments
                                WHERE brand = $1)
                   SELECT segment, count(new.player_id)::int AS players,
                          count(*) FILTER (WHERE old.player_id IS NULL)::int AS joined,
                          count(*) FILTER (WHERE new.player_id IS NULL)::int AS left_
                   FROM new FULL JOIN old USING (player_id, segment) GROUP BY segment ORDER BY segment""", brand)
            await conn.execute(
                """INSERT INTO player_segments (brand, player_id, as_of, segments, population, ltv_12m, notified_at)
                   SELECT brand, player_id, as_of, segments, population, ltv_12m,
                          CASE WHEN population = '{}' THEN now() END  -- a workflow starts knowing none
                   FROM staged_segments
                   ON CONFLICT (brand, player_id) DO UPDATE SET as_of = EXCLUDED.as_of,
                       segments = EXCLUDED.segments, population = EXCLUDED.population, ltv_12m = EXCLUDED.ltv_12m,
                       changed_at = CASE WHEN player_segments.population = EXCLUDED.population
                                         THEN player_segments.changed_at ELSE now() END,
                       notified_at = CASE WHEN player_segments.population = EXCLUDED.population
                                          THEN player_segments.notified_at END""")
            await conn.executemany(
                "INSERT INTO segment_sizes (brand, as_of, segment, players, joined, left_) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (brand, as_of, segment) DO UPDATE SET players = EXCLUDED.players,"
                " joined = EXCLUDED.joined, left_ = EXCLUDED.left_",
                [(brand, as_of, s["segment"], s["players"], s["joined"], s["left_"]) for s in sizes])
        return [dict(s) for s in sizes]

    async def lifetime_values(self, brand: str, as_of: date) -> dict[str, Decimal]:
        """Expected net gaming revenue over the next 12 months, per player active in the last year."""
        rows = await self._pool.fetch(_VALUE, brand, as_of)
        if len(rows) < 5:
            return {}
        x, t_x, t, days, revenue = (np.array([r[k] for r in rows]) for k in ("x", "t_x", "t", "days", "revenue"))
        per_day = revenue / days
        typical = float(np.median(per_day))
        robust = (revenue + SHRINK_DAYS * typical) / (days + SHRINK_DAYS)
        expected_days = BgNbd.fit(x, t_x, t).expected(365, x, t_x, t)
        return {r["player_id"]: Decimal(str(round(float(v), 2))) for r, v in zip(rows, expected_days * robust,
                                                                                  strict=True)}

    async def unnotified(self, brand: str, limit: int) -> list[tuple[str, list[str]]]:
        rows = await self._pool.fetch(
            "SELECT player_id, population FROM player_segments WHERE brand = $1 AND notified_at IS NULL"
            " ORDER BY player_id LIMIT $2", brand, limit)
        return [(r["player_id"], list(r["population"])) for r in rows]

    async def mark_notified(self, brand: str, player_ids: list[str]) -> None:
        await self._pool.execute("UPDATE player_segments SET notified_at = now() WHERE brand = $1"
                                 " AND player_id = ANY($2)", brand, player_ids)

    async def of_player(self, brand: str, player_id: str) -> tuple[list[str], Decimal | None]:
        """The population segments and 12-month value from the last run (none before it)."""
        row = await self._pool.fetchrow("SELECT population, ltv_12m FROM player_segments WHERE brand = $1"
                                        " AND player_id = $2", brand, player_id)
        return (list(row["population"]), row["ltv_12m"]) if row else ([], None)

    async def sizes(self, brand: str | None = None) -> list[dict[str, Any]]:
        """Each brand's latest run: segment sizes and movement since the run before."""
        rows = await self._pool.fetch(
            "SELECT s.* FROM segment_sizes s JOIN (SELECT brand, max(as_of) AS as_of FROM segment_sizes"
            " WHERE $1::text IS NULL OR brand = $1 GROUP BY brand) latest USING (brand, as_of)"
            " ORDER BY brand, segment", brand)
        return [dict(r) for r in rows]
