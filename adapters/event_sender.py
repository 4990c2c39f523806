"""How a platform written in Python sends player events: signal-with-start, nothing else.

    sender = EventSender(await connect("temporal:7233"))
    await sender.send({"event_id": "...", "type": "logged_in", ...})
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from crm.events import InvalidEvent
from crm.players import WORKFLOW_TYPE, PlayerRef


class EventSender:
    def __init__(self, client: Client, task_queue: str = "crm") -> None:
        self._client = client
        self._task_queue = task_queue

    async def send(self, event: dict[str, Any]) -> str:
        """Deliver one event to its player's workflow, starting it if needed.

        The event is sent as given: the workflow validates it and records a refusal with
        its reason. Returns the workflow id.
        """
        player = _addressee(event)
        await self._client.start_workflow(
            WORKFLOW_TYPE,
            player._asdict(),
            id=player.workflow_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="event",
            start_signal_args=[event],
        )
        return player.workflow_id


def _addressee(event: Any) -> PlayerRef:
    if not isinstance(event, dict):
        raise InvalidEvent(f"event: must be a JSON object, got {type(event).__name__}")
    missing = [f for f in ("brand", "player_id") if not isinstance(event.get(f), str) or not event[f]]
    if missing:
        raise InvalidEvent("; ".join(f"{f}: required to address the event" for f in missing))
    return PlayerRef(event["brand"], event["player_id"])
