"""Where a registration's time to its first action goes, read from the two workflows' histories.

A `registered` event reaches the platform as an action through the player's workflow (its first
workflow tasks and reads, then starting the welcome journey) and the journey (its decision, then
the action's activity). Each gap between consecutive history events on that path is put under
what ended it: a task waiting for a worker to pick it up (the server's queue, or the worker's
slots all busy), the worker running it, or the server's own step between two tasks. A slow tail
that is all "waiting" asks for more worker or server capacity; one in "running" asks for less
work per task; retries and timed-out tasks show up by name.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from crm.journeys import journey_id
from crm.players import PlayerRef

PARTS = ("start call", "workflow task waiting", "workflow task running", "activity waiting", "activity running",
         "server")
COUNTS = ("retries", "failed tasks")
_ENDED_BY = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: "workflow task waiting",
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow task running",
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: "workflow task running",
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "workflow task running",
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: "activity waiting",
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity running",
}
_FAILED_TASK = (EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
_ACTIONS = ("grant_incentive", "send_message")


async def registration_path(client: Client, brand: str, player_id: str, sent: float, acted: float) -> dict[str, float]:
    """Seconds in each part of one registration's path, plus retried activities and failed tasks."""
    player_workflow = client.get_workflow_handle(PlayerRef(brand, player_id).workflow_id)
    player = [e async for e in player_workflow.fetch_history_events()]
    welcome_id = journey_id("welcome", brand, player_id, 1)
    welcome = [e async for e in client.get_workflow_handle(welcome_id).fetch_history_events()]
    path = _until(player, lambda e: e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
                  and e.start_child_workflow_execution_initiated_event_attributes.workflow_id == welcome_id)
    path += _until(welcome, lambda e: e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                   and _activity_name(welcome, e) in _ACTIONS)
    parts = dict.fromkeys(PARTS + COUNTS, 0.0)
    previous = sent
    for n, event in enumerate(path):
        at = event.event_time.ToDatetime(tzinfo=UTC).timestamp()
        parts["start call" if n == 0 else _ENDED_BY.get(event.event_type, "server")] += max(at - previous, 0.0)
        previous = max(at, previous)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            parts["retries"] += event.activity_task_started_event_attributes.attempt - 1
        if event.event_type in _FAILED_TASK:
            parts["failed tasks"] += 1
    parts["activity running"] += max(acted - previous, 0.0)  # the action's activity until the platform has it
    return parts


def _activity_name(history: list[Any], started: Any) -> str:
    scheduled_id = started.activity_task_started_event_attributes.scheduled_event_id
    scheduled = next(e for e in history if e.event_id == scheduled_id)
    return scheduled.activity_task_scheduled_event_attributes.activity_type.name


def _until(history: list[Any], last: Any) -> list[Any]:
    for n, event in enumerate(history):
        if last(event):
            return history[: n + 1]
    return history


async def where_time_goes(client: Client, brand: str, registered: dict[str, float],
                          acted: dict[str, float]) -> dict[str, dict[str, float]]:
    """The mean of each part (ms; retries and failed tasks as counts) over the typical registrations
    (the middle half by total time) and over the slowest 5 %."""
    players = sorted((p for p in registered if p in acted), key=lambda p: acted[p] - registered[p])
    if not players:
        return {}
    slots = asyncio.Semaphore(16)

    async def one(player: str) -> dict[str, float]:
        async with slots:
            return await registration_path(client, brand, player, registered[player], acted[player])

    n = len(players)
    groups = {"typical": players[n // 4: max(n // 4 + 1, 3 * n // 4)], "slowest 5 %": players[-max(1, n // 20):]}
    out = {}
    for name, group in groups.items():
        paths = await asyncio.gather(*(one(p) for p in group))
        means = {part: sum(p[part] for p in paths) / len(paths) for part in PARTS + COUNTS}
        out[name] = {part: round(mean if part in COUNTS else mean * 1000, 1) for part, mean in means.items()}
    return out
