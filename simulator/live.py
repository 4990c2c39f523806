"""Playing a simulated population live: each event sent when its moment comes, at a time scale.

Simulated time maps onto the wall clock from the moment the run starts: one simulated day
lasts `day_seconds`. Each event is re-dated to the moment it is sent (its `occurred_at` and,
for a session, its `started_at` shift alike), so the CRM's timers and journeys see a present
that moves forward. A rate cap holds the sender back when the population is busy; each
player's events keep their order.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]


def redate(event: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    moved = {**event, "occurred_at": (datetime.fromisoformat(event["occurred_at"]) + shift).isoformat()}
    if "started_at" in event:
        moved["started_at"] = (datetime.fromisoformat(event["started_at"]) + shift).isoformat()
    return moved


async def play(streams: Iterable[list[dict[str, Any]]], send: Send, start: date, day_seconds: float,
               rate: float, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
    """Send every event at its scaled moment (at most `rate` a second); returns how many were sent."""
    began = now()
    origin = datetime.combine(start, datetime.min.time(), UTC)
    scale = day_seconds / 86400
    queue: list[tuple[datetime, int, int, list[dict[str, Any]]]] = []
    for n, stream in enumerate(streams):
        if stream:
            heapq.heappush(queue, (_due(stream[0], origin, began, scale), n, 0, stream))
    sent, gap = 0, 1 / rate
    while queue:
        due, n, i, stream = heapq.heappop(queue)
        wait = (due - now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        await send(redate(stream[i], now() - datetime.fromisoformat(stream[i]["occurred_at"])))
        sent += 1
        if i + 1 < len(stream):
            heapq.heappush(queue, (max(_due(stream[i + 1], origin, began, scale), now()), n, i + 1, stream))
        await asyncio.sleep(gap)
    return sent


def _due(event: dict[str, Any], origin: datetime, began: datetime, scale: float) -> datetime:
    return began + (datetime.fromisoformat(event["occurred_at"]) - origin) * scale
