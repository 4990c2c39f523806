"""The published JSON Schema of the event contract (docs/event-schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

from crm.events import event_json_schema


def render_schema() -> str:
    return json.dumps(event_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema())
