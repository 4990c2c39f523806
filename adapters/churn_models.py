"""The churn models trained and the scores they gave, in PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import asyncpg

from crm.churn import ChurnModel


class ChurnModels:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def save(self, *, as_of: date, horizon_days: int, train_dates: list[date], eval_date: date,
                   features: tuple[str, ...], model: ChurnModel, metrics: dict[str, Any], in_use: bool,
                   verdict: str) -> int:
        return await self._pool.fetchval(
            "INSERT INTO churn_models (as_of, horizon_days, train_dates, eval_date, features, model, metrics, in_use,"
            " verdict) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING model_id",
            as_of, horizon_days, train_dates, eval_date, list(features), json.dumps(model.to_json()),
            json.dumps(metrics), in_use, verdict)

    async def in_use(self) -> tuple[int, ChurnModel, dict[str, Any]] | None:
        """The newest model that earned its place, with its record."""
        row = await self._pool.fetchrow(
            "SELECT model_id, model, as_of, horizon_days, metrics FROM churn_models WHERE in_use"
            " ORDER BY model_id DESC LIMIT 1")
        if row is None:
            return None
        return row["model_id"], ChurnModel.from_json(json.loads(row["model"])), {
            "as_of": row["as_of"], "horizon_days": row["horizon_days"], "metrics": json.loads(row["metrics"])}

    async def save_scores(self, model_id: int, as_of: date, rows: list[tuple[str, str, float, list[str]]]) -> None:
        """Replace the scores of these players for this date (a re-run of a day overwrites it)."""
        records = [(b, p, as_of, model_id, s, t) for b, p, s, t in rows]
        columns = ("brand", "player_id", "as_of", "model_id", "score", "top_signals")
        async with self._pool.acquire() as connection, connection.transaction():
            brands = sorted({r[0] for r in records})
            if not await connection.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM churn_scores WHERE as_of = $1 AND brand = ANY($2))", as_of, brands):
                # The day's first run (the usual case): straight in, nothing to merge with.
                await connection.copy_records_to_table("churn_scores", records=records, columns=columns)
                return
            await connection.execute("CREATE TEMP TABLE incoming (LIKE churn_scores INCLUDING DEFAULTS) ON COMMIT DROP")
            await connection.copy_records_to_table("incoming", records=records, columns=columns)
            await connection.execute(
                "INSERT INTO churn_scores SELECT * FROM incoming ON CONFLICT (brand, player_id, as_of) DO UPDATE"
                " SET model_id = EXCLUDED.model_id, score = EXCLUDED.score, top_signals = EXCLUDED.top_signals,"
                " scored_at = EXCLUDED.scored_at")

    async def crossings(self, brand: str, as_of: date, threshold: float, limit: int) -> list[dict[str, Any]]:
        """Players whose score on this date reached the threshold from below (or from no score),
        not yet signalled, and not protected (self-excluded, closed, any RG flag)."""
        rows = await self._pool.fetch(
            """SELECT s.player_id, s.score::float8 AS score, s.top_signals FROM churn_scores s
               LEFT JOIN players p ON p.brand = s.brand AND p.player_id = s.player_id
               WHERE s.brand = $1 AND s.as_of = $2 AND s.score >= $3 AND s.signalled_at IS NULL
                 AND NOT coalesce(p.self_excluded OR p.account_closed OR p.rg_severity IS NOT NULL, false)
                 AND coalesce((SELECT e.score FROM churn_scores e WHERE e.brand = s.brand AND e.player_id = s.player_id
                               AND e.as_of < s.as_of ORDER BY e.as_of DESC LIMIT 1), 0) < $3
               ORDER BY s.player_id LIMIT $4""", brand, as_of, threshold, limit)
        return [dict(r) for r in rows]

    async def mark_signalled(self, brand: str, as_of: date, player_ids: list[str]) -> None:
        await self._pool.execute(
            "UPDATE churn_scores SET signalled_at = now() WHERE brand = $1 AND as_of = $2 AND player_id = ANY($3)",
            brand, as_of, player_ids)
