"""`crm import`: history into PostgreSQL once, with its aggregates and profiles; bad lines named; resumable."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import CRM, event, eventually

from adapters.event_sender import EventSender
from adapters.history_import import HistoryImport
from adapters.store import PlayerStore
from crm.players import PlayerRef


def history(brand: str) -> list[dict[str, Any]]:
    """Two players over two days, as a platform's export would have them."""
    out = []
    for player in ("a", "b"):
        out += [
            event("registered", brand, player, occurred_at="2026-03-01T09:00:00Z", country="MT", currency="EUR",
                  consents={"email": True}, event_id=f"{player}-1"),
            event("deposit_succeeded", brand, player, occurred_at="2026-03-01T09:05:00Z", amount="50", method="card",
                  event_id=f"{player}-2"),
            event("session_ended", brand, player, occurred_at="2026-03-01T10:00:00Z", started_at="2026-03-01T09:10:00Z",
                  game_category="slots", rounds=100, stake="40", win="25", event_id=f"{player}-3"),
            event("session_ended", brand, player, occurred_at="2026-03-02T21:00:00+02:00",
                  started_at="2026-03-02T20:00:00+02:00", game_category="table", rounds=10, stake="10", win="0",
                  event_id=f"{player}-4"),
        ]
    return out


async def crm_import(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CRM, "import", *args, env={**os.environ, "CRM_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def aggregates(store: PlayerStore, brand: str) -> list[tuple[Any, ...]]:
    rows = await store.fetch("SELECT player_id, day::text, sessions, stake, deposits, deposit_amount FROM player_days"
                             " WHERE brand = $1 ORDER BY player_id, day", brand)
    return [tuple(r) for r in rows]


@pytest.fixture
def brand() -> str:
    return f"imp-{uuid.uuid4().hex[:8]}"


async def test_json_lines_are_imported_once_with_aggregates_profiles_and_named_rejections(
    tmp_path: Path, database_url: str, store: PlayerStore, brand: str
) -> None:
    lines = [json.dumps(e) for e in history(brand)]
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps(event("deposit_succeeded", brand, "a", method="card", event_id="no-amount")))
    lines.append(json.dumps(history(brand)[1]))  # the same event again: counts once
    file = tmp_path / "history.jsonl"
    file.write_text("\n".join(lines) + "\n")

    code, out, err = await crm_import(database_url, str(file))
    assert code == 1, err  # something was refused: the exit says so
    assert "accepted 8 new events, 1 already stored, 2 rejected" in out and "profiles rebuilt for 2 players" in out
    refused = [json.loads(line) for line in (tmp_path / "history.jsonl.rejections.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"].split(":")[0]) for r in refused] == [(4, "event"), (6, "amount")]
    assert refused[1]["reason"] == "amount: Field required"

    expected = [(p, day, sessions, Decimal(stake), deposits, Decimal(amount)) for p in ("a", "b") for day, sessions,
                stake, deposits, amount in (("2026-03-01", 1, "40", 1, "50"), ("2026-03-02", 1, "10", 0, "0"))]
    assert await aggregates(store, brand) == expected  # 21:00 at UTC+2 is still 2 March in UTC
    profile = await store.player(brand, "a")
    assert profile is not None
    assert (profile["deposit_count"], profile["session_count"], profile["stake_total"]) == (1, 2, "50")
    assert profile["registered_at"] == "2026-03-01T09:00:00Z" and profile["consents"]["email"] is True

    file.touch()  # a changed file is read again from the start: everything is already stored
    code, out, _ = await crm_import(database_url, str(file))
    assert "accepted 0 new events, 9 already stored" in out
    assert await aggregates(store, brand) == expected


async def test_a_fresh_database_takes_an_import_without_crm_migrate_first(tmp_path: Path, store: PlayerStore,
                                                                          database_url: str, brand: str) -> None:
    """Many installations begin with `crm import` into an empty database: it brings the schema."""
    fresh = f"fresh_{uuid.uuid4().hex[:8]}"
    await store.pool.execute(f"CREATE DATABASE {fresh}")
    fresh_url = urlsplit(database_url)._replace(path=f"/{fresh}").geturl()
    file = tmp_path / "history.jsonl"
    file.write_text("".join(json.dumps(e) + "\n" for e in history(brand)))
    code, out, err = await crm_import(fresh_url, str(file))
    assert code == 0, err + out
    assert "accepted 8 new events" in out


async def test_csv_with_the_contracts_columns_imports_the_same(tmp_path: Path, database_url: str, store: PlayerStore,
                                                              brand: str) -> None:
    events = history(brand)
    columns = sorted({k for e in events for k in e})
    file = tmp_path / "history.csv"
    with file.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: json.dumps(v) if isinstance(v, dict) else v for k, v in e.items()} for e in events)
    code, out, err = await crm_import(database_url, str(file))
    assert code == 0, err + out
    assert "accepted 8 new events, 0 already stored, 0 rejected" in out
    assert len(await aggregates(store, brand)) == 4


async def test_an_interrupted_import_resumes_after_the_last_committed_batch(tmp_path: Path, store: PlayerStore,
                                                                          brand: str) -> None:
    file = tmp_path / "history.jsonl"
    file.write_text("".join(json.dumps(e) + "\n" for e in history(brand)))
    batches = 0

    def stop_after_two(_: object) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await HistoryImport(store.pool).run(file, lambda *_: None, stop_after_two, batch=3)
    resumed = await HistoryImport(store.pool).run(file, lambda *_: None, lambda _: None, batch=3)
    assert (resumed.resumed_after, resumed.lines, resumed.accepted, resumed.duplicates) == (6, 2, 2, 0)
    assert [r[2] for r in await aggregates(store, brand)] == [1, 1, 1, 1]


async def test_a_player_imported_then_live_keeps_the_history(tmp_path: Path, store: PlayerStore,
                                                             sender: EventSender, client: Any, brand: str) -> None:
    file = tmp_path / "history.jsonl"
    file.write_text("".join(json.dumps(e) + "\n" for e in history(brand)))
    await HistoryImport(store.pool).run(file, lambda *_: None, lambda _: None)
    await sender.send(event("deposit_succeeded", brand, "a", amount="20", method="card",
                            occurred_at="2026-03-05T10:00:00Z"))
    handle = client.get_workflow_handle(PlayerRef(brand, "a").workflow_id)

    async def continued() -> None:
        profile = await handle.query("profile")
        assert (profile["deposit_count"], profile["deposit_total"], profile["session_count"]) == (2, "70", 2)
        stored = await store.player(brand, "a")
        assert stored is not None and stored["deposit_count"] == 2

    await eventually(continued, timeout=20)
    # A veteran's deposit is not a first deposit: no first-deposit journey, no welcome.
    journeys = await handle.query("journeys")
    started = set(journeys["running"]) | {r["kind"] for r in journeys["ended"]}
    assert not started & {"welcome", "first_deposit"}, journeys
