"""The published event contract: docs/event-schema.json and docs/events.md, both generated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crm.events import EVENT_TYPES, event_json_schema
from crm.facts import FACT_NAMES, SEGMENTS, Facts, fact_kind, optional_facts

INTRO = """# Player events

Generated from `crm/events.py` by `crm schema`; do not edit by hand. The machine-readable
form is [`event-schema.json`](event-schema.json).

Each event is one JSON object, the argument of signal `event` sent with signal-with-start to
workflow `player:{brand}:{player_id}` (type `PlayerWorkflow`, task queue `crm`, start input
`{"brand": …, "player_id": …}`). Fields not listed are refused, as are unknown types.

- Amounts are decimal strings (`"50.00"`) or JSON numbers, never negative, in the player's
  account currency; they are held as decimals, never floats.
- Times are RFC 3339 strings with an offset (`2026-11-30T10:00:00+01:00`); they are stored in UTC.
- Gameplay arrives as one `session_ended` per game session, aggregated by the platform.

Every event carries the common fields:

"""


def render_schema() -> str:
    return json.dumps(event_json_schema(), indent=2, sort_keys=True) + "\n"


def render_event_docs() -> str:
    schema = event_json_schema()
    defs = schema["$defs"]
    mapping = schema["discriminator"]["mapping"]
    models = [defs[mapping[kind].rsplit("/", 1)[1]] for kind in EVENT_TYPES]
    common = ("event_id", "type", "brand", "player_id", "occurred_at")
    parts = [INTRO, _table(models[0], defs, only=common)]
    for model in models:
        kind = model["properties"]["type"]["const"]
        parts.append(f"\n## `{kind}`\n\n")
        if model.get("description"):
            parts.append(model["description"] + "\n\n")
        own = [name for name in model["properties"] if name not in common]
        parts.append(_table(model, defs, only=own) if own else "No fields beyond the common ones.\n")
    return "".join(parts)


FACTS_INTRO = """# Facts a rule can test

Generated from `crm/facts.py` by `crm schema`; do not edit by hand. How to write rules:
[rules.md](rules.md).

A condition names a fact and one operator: `{{fact: deposit_total, gte: 100}}`. Numbers take
`eq ne gt gte lt lte in not_in`; text and yes/no facts take `eq ne in not_in`; every fact takes
`exists: true|false`. A fact shown as optional may be absent: every comparison with an absent
fact is false (so `not` of it is true), and `exists: false` is how to ask for it.

Segments are tested with `segment: NAME`: {segments}. What puts a player in each, and the
brand settings behind them: [churn.md](churn.md#segments).
"""

GROUPS = {
    "decision": "The decision", "profile": "Profile", "money": "Money", "play": "Play",
    "bonus": "Bonuses", "churn": "Churn", "value": "Lifetime value", "segments": "Segments",
}


def render_fact_docs() -> str:
    parts = [FACTS_INTRO.format(segments=", ".join(f"`{s}`" for s in SEGMENTS))]
    by_group: dict[str, list[str]] = {}
    for name in FACT_NAMES:
        extra = Facts.model_fields[name].json_schema_extra
        by_group.setdefault(extra["group"] if isinstance(extra, dict) else "other", []).append(name)
    for group, names in by_group.items():
        parts.append(f"\n## {GROUPS.get(group, group)}\n\n| fact | kind | values | meaning |\n| --- | --- | --- | --- |\n")
        for name in names:
            kind, allowed = fact_kind(name)
            values = ", ".join(f"`{v}`" for v in allowed) if allowed else ""
            kind += " (optional)" if name in optional_facts() else ""
            parts.append(f"| `{name}` | {kind} | {values} | {Facts.model_fields[name].description} |\n")
    return "".join(parts)


def render_platform_api() -> str:
    import yaml

    from adapters.platform_api import openapi

    header = "# Generated from adapters/platform_api.py by `crm schema`; do not edit by hand.\n"
    return header + yaml.safe_dump(openapi(), sort_keys=False, allow_unicode=True)


def write_schema(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        folder / "event-schema.json": render_schema(),
        folder / "events.md": render_event_docs(),
        folder / "facts.md": render_fact_docs(),
        folder / "platform-api.yaml": render_platform_api(),
    }
    for path, text in written.items():
        path.write_text(text)
    return list(written)


def _table(model: dict[str, Any], defs: dict[str, Any], only: tuple[str, ...] | list[str]) -> str:
    rows = ["| field | type | required | rules |", "| --- | --- | --- | --- |"]
    required = set(model.get("required", ()))
    for name in only:
        spec = model["properties"][name]
        rows.append(
            f"| `{name}` | {_type(spec, defs)} | {'yes' if name in required else 'no'} | {_rules(spec)} |"
        )
    return "\n".join(rows) + "\n"


def _type(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    if spec.get("title") == "Amount":
        return "amount"
    if "const" in spec:
        return "the event type"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "$ref" in spec:
        target = defs[spec["$ref"].rsplit("/", 1)[1]]
        return "object {" + ", ".join(f"{k}: {_type(v, defs)}" for k, v in target["properties"].items()) + "}"
    if "anyOf" in spec:
        return " or ".join(_type(option, defs) for option in spec["anyOf"])
    kind = spec.get("type", "any")
    if spec.get("format") == "date-time":
        return "timestamp"
    if spec.get("format") == "date":
        return "date"
    return {"null": "null", "boolean": "bool"}.get(kind, kind)


def _rules(spec: dict[str, Any]) -> str:
    rules = []
    for key, word in (("minLength", "≥ {} chars"), ("maxLength", "≤ {} chars"), ("minimum", "≥ {}"),
                      ("pattern", "matches `{}`")):
        if key in spec and not (key == "pattern" and "anyOf" in spec):
            rules.append(word.format(spec[key]))
    if "default" in spec:
        rules.append(f"default `{json.dumps(spec['default'])}`")
    if spec.get("description"):
        rules.append(spec["description"])
    return "; ".join(rules) or ""

