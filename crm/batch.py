"""What a PlayerWorkflow hands to storage in one go."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from crm.events import Event
from crm.profile import PlayerProfile

_KEPT_PAYLOAD_CHARS = 4096


class Rejection(BaseModel):
    """An event refused by the contract, kept with its reason for the platform team."""

    key: str  # workflow run + sequence: makes re-recording the same rejection a no-op
    received_at: datetime
    reason: str
    payload: str  # as received, truncated: a rejected payload can be anything

    @staticmethod
    def render(payload: Any) -> str:
        try:
            text = json.dumps(payload, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(payload)
        return text[:_KEPT_PAYLOAD_CHARS]


class EventBatch(BaseModel):
    """Accepted events not yet stored, rejections, and the profile after both."""

    workflow_id: str
    profile: PlayerProfile
    revision: int  # grows with every profile change: an older snapshot never overwrites a newer one
    events: list[Event] = []
    rejections: list[Rejection] = []


class StoredProfile(BaseModel):
    """A player's profile as PostgreSQL has it: imported history, or a workflow's last snapshot."""

    profile: dict[str, Any]
    revision: int
