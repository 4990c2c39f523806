"""The incentives ledger and communications log: one row per side effect, keyed like the call.

A row is written `pending` before the platform is called and marked done after, so a crash
in between leaves a trace, and the retry (same key) finds the row and finishes it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import asyncpg


class Ledger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def incentive_pending(self, key: str, brand: str, player_id: str, journey: str, kind: str,
                                amount: Decimal, wagering: Decimal, details: dict[str, Any]) -> None:
        await self._pool.execute(
            "INSERT INTO incentives (idempotency_key, brand, player_id, journey, kind, amount, wagering, status, details)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) ON CONFLICT (idempotency_key) DO NOTHING",
            key, brand, player_id, journey, kind, amount, wagering, json.dumps(details, default=str),
        )

    async def incentive_done(self, key: str, status: str, platform_ref: str | None) -> None:
        await self._pool.execute(
            "UPDATE incentives SET status = $2, platform_ref = $3 WHERE idempotency_key = $1", key, status, platform_ref)

    async def message_pending(self, key: str, brand: str, player_id: str, journey: str, channel: str,
                              template: str, details: dict[str, Any]) -> None:
        await self._pool.execute(
            "INSERT INTO communications (idempotency_key, brand, player_id, journey, channel, template_id, status, details)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) ON CONFLICT (idempotency_key) DO NOTHING",
            key, brand, player_id, journey, channel, template, json.dumps(details, default=str),
        )

    async def message_done(self, key: str, status: str, platform_ref: str | None) -> None:
        await self._pool.execute(
            "UPDATE communications SET status = $2, platform_ref = $3, sent_at = now() WHERE idempotency_key = $1",
            key, status, platform_ref)

    async def journey_started(self, journey_id: str, brand: str, player_id: str, kind: str, group: str,
                              started_at: Any) -> None:
        await self._pool.execute(
            "INSERT INTO journeys (journey_id, brand, player_id, kind, control_group, started_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (journey_id) DO NOTHING",
            journey_id, brand, player_id, kind, group, started_at)

    async def journey_ended(self, journey_id: str, outcome: str, reason: str, ended_at: Any,
                            details: dict[str, Any]) -> None:
        await self._pool.execute(
            "UPDATE journeys SET outcome = $2, reason = $3, ended_at = $4, details = $5 WHERE journey_id = $1",
            journey_id, outcome, reason, ended_at, json.dumps(details, default=str))

    async def journey_outcomes(self, brand: str | None = None) -> list[dict[str, Any]]:
        """Per brand, journey and control group: how many started, and how those that ended ended."""
        rows = await self._pool.fetch(
            "SELECT brand, kind, control_group, count(*) AS started,"
            " count(*) FILTER (WHERE outcome = 'converted') AS converted,"
            " count(*) FILTER (WHERE outcome = 'expired') AS expired,"
            " count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled"
            " FROM journeys WHERE $1::text IS NULL OR brand = $1"
            " GROUP BY brand, kind, control_group ORDER BY brand, kind, control_group DESC", brand)
        return [dict(r) for r in rows]
