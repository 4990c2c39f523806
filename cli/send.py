"""`crm send`: deliver events from a file exactly as a platform would, checking them first."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from adapters.event_sender import EventSender
from adapters.temporal import connect
from crm.events import InvalidEvent, parse_event
from crm.settings import Settings

CONCURRENT_PLAYERS = 32


def read_events(text: str) -> Iterator[tuple[int, Any]]:
    """Yield (line number, decoded value) from one JSON object, a JSON array, or JSON lines."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        yield 1, whole
        return
    if isinstance(whole, list):
        yield from enumerate(whole, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, InvalidEvent(f"event: not valid JSON ({exc.msg} at column {exc.colno})")


async def send_file(settings: Settings, path: str) -> int:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    by_player: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    refused = 0
    for number, value in read_events(text):
        try:
            if isinstance(value, InvalidEvent):
                raise value
            event = parse_event(value)
        except InvalidEvent as bad:
            print(f"{path}:{number}: refused: {bad.reason}", file=sys.stderr)
            refused += 1
            continue
        by_player[(event.brand, event.player_id)].append(value)

    sender = EventSender(
        await connect(settings.temporal_address, settings.temporal_namespace), settings.task_queue
    )
    slots = asyncio.Semaphore(CONCURRENT_PLAYERS)

    async def send_in_order(events: list[dict[str, Any]]) -> None:
        # One player's events go one after another, so they arrive in the order given.
        async with slots:
            for event in events:
                await sender.send(event)

    await asyncio.gather(*(send_in_order(events) for events in by_player.values()))
    sent = sum(len(events) for events in by_player.values())
    print(f"sent {sent} event(s) to {len(by_player)} player(s); refused {refused}")
    return 1 if refused else 0
