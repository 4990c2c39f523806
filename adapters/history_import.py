"""Bulk import of historical events straight into PostgreSQL with COPY, not through Temporal.

Each batch of lines is validated against the event contract, copied into a staging table,
and moved into `events` with ON CONFLICT DO NOTHING: only rows new to the database add to the
daily aggregates, so importing a file twice adds nothing. A checkpoint per file, written in
the batch's transaction, lets an interrupted import resume after the last committed line.

After the batches, each affected player's profile is rebuilt by folding all their stored
events in time order — unless a live PlayerWorkflow already keeps it (revision > 0): that
workflow owns the profile, and the imported events reach only the log and the aggregates.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from adapters.daily import with_daily_totals
from adapters.store import UPSERT_IMPORTED_PLAYER, player_row
from crm.events import Event, InvalidEvent, parse_event, parse_event_json
from crm.profile import PlayerProfile

BATCH = 20_000
_STAGE = ("brand", "event_id", "player_id", "type", "occurred_at", "payload")
_MOVE_STAGED = with_daily_totals(
    "INSERT INTO events (brand, event_id, player_id, type, occurred_at, payload)"
    " SELECT brand, event_id, player_id, type, occurred_at, payload FROM staged_events"
    " ON CONFLICT (brand, event_id) DO NOTHING RETURNING brand, player_id, type, occurred_at, payload",
    result="count(*) AS new, array_agg(DISTINCT ARRAY[brand, player_id]) AS players")


@dataclass
class ImportReport:
    lines: int = 0  # read this run (after any resumed part)
    accepted: int = 0  # valid and new to the database
    duplicates: int = 0  # valid, already stored (from an earlier import or live)
    rejected: int = 0
    resumed_after: int = 0  # lines skipped because an earlier run committed them
    profiles_rebuilt: int = 0
    profiles_live: int = 0  # kept by their PlayerWorkflow
    players: set[tuple[str, str]] = field(default_factory=set)


Rejected = Callable[[int, str, str], None]  # line number, reason, the line as read


def read_lines(path: Path) -> Iterator[tuple[int, bytes | dict[str, Any]]]:
    """Numbered events from JSON lines (a JSON object per line) or CSV (the contract's columns)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as file:
            for number, row in enumerate(csv.DictReader(file), start=2):
                yield number, _from_csv(row)
        return
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if line.strip():
                yield number, line


def _from_csv(row: dict[str, str]) -> dict[str, Any]:
    """An empty cell is an absent field; a cell holding a JSON object (consents) is that object."""
    event: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value in ("", None):
            continue
        event[key] = json.loads(value) if value.startswith("{") else value
    return event


class HistoryImport:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def run(self, path: Path, on_rejected: Rejected, on_progress: Callable[[ImportReport], None],
                  batch: int = BATCH) -> ImportReport:
        report = ImportReport()
        source = _source_key(path)
        report.resumed_after = await self._pool.fetchval(
            "SELECT coalesce(max(last_line), 0) FROM import_progress WHERE source = $1", source) or 0
        pending: list[tuple[int, Event]] = []
        last_line = report.resumed_after
        for number, raw in read_lines(path):
            if number <= report.resumed_after:
                continue
            report.lines += 1
            last_line = number
            try:
                event = parse_event_json(raw) if isinstance(raw, bytes) else parse_event(raw)
            except InvalidEvent as refused:
                report.rejected += 1
                on_rejected(number, refused.reason, raw.decode(errors="replace").rstrip("\n")
                            if isinstance(raw, bytes) else json.dumps(raw))
                continue
            pending.append((number, event))
            if len(pending) >= batch:
                await self._store(source, pending, last_line, report)
                pending = []
                on_progress(report)
        await self._store(source, pending, last_line, report)
        on_progress(report)
        await self._rebuild_profiles(report)
        return report

    async def _store(self, source: str, pending: list[tuple[int, Event]], last_line: int,
                     report: ImportReport) -> None:
        events = [e for _, e in pending]
        unique = list({(e.brand, e.event_id): e for e in reversed(events)}.values())  # the first of a repeat counts
        async with self._pool.acquire() as conn, conn.transaction():
            if unique:
                await conn.execute("CREATE TEMP TABLE IF NOT EXISTS staged_events (LIKE events INCLUDING DEFAULTS)"
                                   " ON COMMIT DELETE ROWS")
                await conn.copy_to_table("staged_events", source=_copy_text(unique), columns=_STAGE, format="text")
                stored = await conn.fetchrow(_MOVE_STAGED)
                report.accepted += stored["new"]
                report.duplicates += len(events) - stored["new"]
                report.players.update(tuple(pair) for pair in stored["players"] or [])
            await conn.execute(
                "INSERT INTO import_progress (source, last_line) VALUES ($1, $2)"
                " ON CONFLICT (source) DO UPDATE SET last_line = EXCLUDED.last_line, updated_at = now()",
                source, last_line)

    async def _rebuild_profiles(self, report: ImportReport) -> None:
        """Fold every stored event of each affected player into a fresh profile, unless one is live."""
        players = sorted(report.players)
        live = {(r["brand"], r["player_id"]) for r in await self._pool.fetch(
            "SELECT brand, player_id FROM players WHERE revision > 0 AND (brand, player_id) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))", [b for b, _ in players], [p for _, p in players])}
        report.profiles_live = len(live)
        todo = [p for p in players if p not in live]
        for start in range(0, len(todo), 1000):
            chunk = todo[start:start + 1000]
            rows = await self._pool.fetch(
                "SELECT e.brand, e.player_id, e.payload::text AS payload FROM events e"
                " JOIN unnest($1::text[], $2::text[]) AS t(brand, player_id) USING (brand, player_id)"
                " ORDER BY e.brand, e.player_id, e.occurred_at, e.event_id",
                [b for b, _ in chunk], [p for _, p in chunk])
            profiles: dict[tuple[str, str], PlayerProfile] = {}
            for row in rows:
                key = (row["brand"], row["player_id"])
                profile = profiles.setdefault(key, PlayerProfile(brand=key[0], player_id=key[1]))
                profile.apply(parse_event_json(row["payload"]))
            await self._pool.executemany(UPSERT_IMPORTED_PLAYER, [player_row(p, 0) for p in profiles.values()])
            report.profiles_rebuilt += len(profiles)


def _copy_text(events: list[Event]) -> io.BytesIO:
    """The events in COPY's text format; JSON holds no raw tab or newline, only backslashes to double."""
    out = io.StringIO()
    for e in events:
        fields = (e.brand, e.event_id, e.player_id, e.type, e.occurred_at.isoformat(), e.model_dump_json())
        out.write("\t".join(_escape(f) for f in fields))
        out.write("\n")
    return io.BytesIO(out.getvalue().encode())


def _escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _source_key(path: Path) -> str:
    """The same file (path, size, modification time) resumes; a changed file starts over."""
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:32]

