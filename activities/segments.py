"""Refreshing a brand's segments and lifetime values, and telling workflows what changed."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from adapters.segments import Segments
from adapters.temporal import signal_player
from rules.registry import RuleRegistry


class SegmentRefresh(BaseModel):
    brand: str
    as_of: date


class SegmentSizes(BaseModel):
    sizes: list[dict[str, Any]]  # segment, players, joined, left_


class NotifyPage(BaseModel):
    told: int
    more: bool


class SegmentActivities:
    def __init__(self, segments: Segments, registry: RuleRegistry, client: Client) -> None:
        self._segments = segments
        self._registry = registry
        self._client = client

    @activity.defn(name="refresh_segments")
    async def refresh(self, request: SegmentRefresh) -> SegmentSizes:
        config = self._registry.current().book.for_brand(request.brand).config
        sizes = await self._segments.refresh(request.brand, request.as_of, config.segments, config.churn.threshold)
        return SegmentSizes(sizes=sizes)

    @activity.defn(name="notify_segments")
    async def notify(self, brand: str, limit: int = 500) -> NotifyPage:
        """One page of players whose population segments changed: each workflow is told, then marked."""
        changed = await self._segments.unnotified(brand, limit)
        for player_id, population in changed:
            await signal_player(self._client, brand, player_id, "segments", {"population": population})
            activity.heartbeat(player_id)
        await self._segments.mark_notified(brand, [p for p, _ in changed])
        return NotifyPage(told=len(changed), more=len(changed) == limit)
