"""The decisions audit in PostgreSQL: written before a decision is acted on, never changed."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from rules.decide import Decision

_INSERT = """
    INSERT INTO decisions (decision_key, brand, player_id, trigger, rules_version, policy, matched,
                           applied, actions, outcomes, facts, status, decided_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (decision_key) DO NOTHING
"""


class DecisionLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, decision: Decision) -> Decision:
        """Keep the decision; if one with this key exists (a retried activity), return that one.

        A retry must act on what was first decided and recorded, not on a fresh evaluation.
        """
        d = decision.model_dump(mode="json")
        async with self._pool.acquire() as conn:
            inserted = await conn.execute(
                _INSERT, d["decision_key"], d["brand"], d["player_id"], d["trigger"], d["rules_version"],
                d["policy"], d["matched"], d["applied"], decision.actions, d["outcomes"], d["facts"],
                d["status"], decision.decided_at,
            )
            if inserted.endswith(" 1"):
                return decision
            row = await conn.fetchrow("SELECT * FROM decisions WHERE decision_key = $1", d["decision_key"])
        return _decision(row)

    async def for_player(self, brand: str, player_id: str, limit: int = 20) -> list[Decision]:
        rows = await self._pool.fetch(
            "SELECT * FROM decisions WHERE brand = $1 AND player_id = $2 ORDER BY decided_at DESC LIMIT $3",
            brand, player_id, limit,
        )
        return [_decision(r) for r in rows]


def _decision(row: Any) -> Decision:
    record = dict(row)
    record.pop("actions", None)  # derived from the outcomes
    for key in ("outcomes", "facts", "status"):
        if isinstance(record[key], str):
            record[key] = json.loads(record[key])
    return Decision.model_validate(record)
