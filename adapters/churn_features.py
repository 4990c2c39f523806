"""Churn features and labels in SQL, as of a date: one pass over the daily aggregates for everyone.

Everything reads only rows before the as-of date (`day < as_of`, `occurred_at < as_of`), so
scoring a past date sees what was known then; `labels()` alone reads the horizon after it.
The columns feed `crm/churn.py`, which turns them into the model's features.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg
import numpy as np
from numpy.typing import NDArray

from crm.churn import EARLIER_DAYS, RECENT_DAYS

LOOKBACK_DAYS = 180  # how far back the player's rhythm (usual gap, BG/NBD history) is read
# The model warns about players still coming: one away this long has lapsed already, and the
# reactivation journey (a timer per player) has them.
ELIGIBLE_DAYS = 30

_FEATURES = f"""
WITH bounds AS (
    SELECT $1::date AS d, ($1::date)::timestamp AT TIME ZONE 'UTC' AS ts
), days AS (
    SELECT p.*, (p.sessions > 0 OR p.deposits > 0) AS active
    FROM player_days p, bounds
    WHERE p.day < bounds.d AND p.day >= bounds.d - {LOOKBACK_DAYS} AND ($2::text IS NULL OR p.brand = $2)
      AND ($3::text IS NULL OR p.player_id = $3)
), per_player AS (
    SELECT brand, player_id,
        coalesce(sum(sessions) FILTER (WHERE day >= d - {RECENT_DAYS}), 0) AS sessions_recent,
        coalesce(sum(sessions) FILTER (WHERE day < d - {RECENT_DAYS} AND day >= d - {RECENT_DAYS + EARLIER_DAYS}), 0)
            AS sessions_earlier,
        coalesce(sum(stake) FILTER (WHERE day >= d - {RECENT_DAYS}), 0) AS stake_recent,
        coalesce(sum(stake) FILTER (WHERE day < d - {RECENT_DAYS} AND day >= d - {RECENT_DAYS + EARLIER_DAYS}), 0)
            AS stake_earlier,
        coalesce(sum(stake) FILTER (WHERE day >= d - 30), 0) AS stake_30d,
        coalesce(sum(bonus_stake) FILTER (WHERE day >= d - 30), 0) AS bonus_stake_30d,
        coalesce(sum(stake - win) FILTER (WHERE day >= d - 30), 0) AS net_loss_30d,
        coalesce(sum(deposit_amount) FILTER (WHERE day >= d - 90), 0) AS deposits_90d,
        count(*) FILTER (WHERE active) AS active_days,
        min(day) FILTER (WHERE active) AS first_active,
        max(day) FILTER (WHERE active) AS last_active
    FROM days, bounds
    GROUP BY brand, player_id
), mix AS (
    SELECT brand, player_id, game_category,
        sum(stake) FILTER (WHERE day >= d - {RECENT_DAYS}) AS recent,
        sum(stake) FILTER (WHERE day < d - {RECENT_DAYS}) AS earlier
    FROM player_day_games, bounds
    WHERE day < d AND day >= d - {RECENT_DAYS + EARLIER_DAYS} AND ($2::text IS NULL OR brand = $2)
      AND ($3::text IS NULL OR player_id = $3)
    GROUP BY brand, player_id, game_category
), shares AS (
    SELECT brand, player_id,
        coalesce(recent, 0) / nullif(sum(coalesce(recent, 0)) OVER w, 0) AS recent_share,
        coalesce(earlier, 0) / nullif(sum(coalesce(earlier, 0)) OVER w, 0) AS earlier_share
    FROM mix WINDOW w AS (PARTITION BY brand, player_id)
), divergence AS (  -- total variation distance between the two category mixes, 0 when either is empty
    SELECT brand, player_id, coalesce(0.5 * sum(abs(recent_share - earlier_share)), 0) AS category_divergence
    FROM shares GROUP BY brand, player_id
), abandoned AS (  -- a failed deposit with no success within the hour after it (known by the as-of date)
    SELECT f.brand, f.player_id, count(*) AS abandoned_deposits_30d
    FROM events f, bounds
    WHERE f.type = 'deposit_failed' AND f.occurred_at < bounds.ts AND f.occurred_at >= bounds.ts - interval '30 days'
      AND ($2::text IS NULL OR f.brand = $2) AND ($3::text IS NULL OR f.player_id = $3)
      AND NOT EXISTS (
        SELECT 1 FROM events s
        WHERE s.brand = f.brand AND s.player_id = f.player_id AND s.type = 'deposit_succeeded'
          AND s.occurred_at > f.occurred_at AND s.occurred_at <= f.occurred_at + interval '1 hour'
          AND s.occurred_at < bounds.ts)
    GROUP BY f.brand, f.player_id
)
SELECT p.brand, p.player_id,
    p.sessions_recent::float8, p.sessions_earlier::float8, p.stake_recent::float8, p.stake_earlier::float8,
    p.stake_30d::float8, p.bonus_stake_30d::float8, p.net_loss_30d::float8, p.deposits_90d::float8,
    coalesce(a.abandoned_deposits_30d, 0)::float8 AS abandoned_deposits_30d,
    coalesce(v.category_divergence, 0)::float8 AS category_divergence,
    (b.d - p.last_active)::float8 AS days_since_active,
    CASE WHEN p.active_days > 1 THEN (p.last_active - p.first_active)::float8 / (p.active_days - 1)
         ELSE {LOOKBACK_DAYS}::float8 END AS usual_gap_days,
    greatest(b.d - coalesce(pl.registered_at::date, p.first_active), 0)::float8 AS tenure_days,
    (p.active_days - 1)::float8 AS repeat_days,
    (p.last_active - p.first_active)::float8 AS last_repeat_at,
    (b.d - p.first_active)::float8 AS observed_days
FROM per_player p CROSS JOIN bounds b
LEFT JOIN players pl ON pl.brand = p.brand AND pl.player_id = p.player_id
LEFT JOIN divergence v ON v.brand = p.brand AND v.player_id = p.player_id
LEFT JOIN abandoned a ON a.brand = p.brand AND a.player_id = p.player_id
WHERE p.last_active >= b.d - {ELIGIBLE_DAYS}
  AND (pl.registered_at IS NULL OR pl.registered_at < b.ts)
  AND NOT coalesce(pl.self_excluded OR pl.account_closed, false)
ORDER BY p.brand, p.player_id
"""

# Churned: no real-money session (stake beyond bonus money) and no deposit in [as_of, as_of + horizon).
_LABELS = """
SELECT NOT EXISTS (
    SELECT 1 FROM player_days d
    WHERE d.brand = t.brand AND d.player_id = t.player_id
      AND d.day >= $1::date AND d.day < $1::date + $2::int
      AND (d.stake > d.bonus_stake OR d.deposits > 0)
) AS churned
FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS t(brand, player_id, n)
ORDER BY n
"""


@dataclass
class FeatureTable:
    """One row per eligible player as of a date: ids, and the raw columns by name."""

    as_of: date
    brands: list[str]
    player_ids: list[str]
    columns: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.player_ids)

    def row(self, index: int) -> dict[str, float]:
        return {name: float(values[index]) for name, values in self.columns.items()}


class ChurnFeatures:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def as_of(self, day: date, brand: str | None = None, player_id: str | None = None) -> FeatureTable:
        """Every eligible player's columns (of one brand, or one player of it, when given)."""
        async with self._pool.acquire() as connection:
            statement = await connection.prepare(_FEATURES)
            rows = await statement.fetch(day, brand, player_id)
            names = [a.name for a in statement.get_attributes()][2:]
        table = np.array([tuple(r)[2:] for r in rows], dtype=float).reshape(len(rows), len(names))
        return FeatureTable(day, [r["brand"] for r in rows], [r["player_id"] for r in rows],
                            {name: table[:, i] for i, name in enumerate(names)})

    async def labels(self, table: FeatureTable, horizon_days: int) -> NDArray[np.float64]:
        """1.0 for each player of the table who churned within the horizon after its date."""
        rows = await self._pool.fetch(_LABELS, table.as_of, horizon_days, table.brands, table.player_ids)
        return np.array([float(r["churned"]) for r in rows])
