"""PostgreSQL going away must not lose what the workflow already accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pgserver
import pytest
from support import event, eventually, platform_settings

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from worker import build_worker

QUEUE = "crm-outage"


@pytest.fixture
async def fragile_database(tmp_path: Any) -> AsyncIterator[Any]:
    """A PostgreSQL of this test's own, so stopping it leaves the others alone."""
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="delete")
    yield server
    server.ensure_postgres_running()
    server.cleanup()


async def test_events_accepted_while_postgres_is_down_are_stored_when_it_returns(
    client: Any, fragile_database: Any, player_id: str, rules: Any, platform: Any
) -> None:
    store = await PlayerStore.connect(fragile_database.get_uri())
    await store.migrate()
    worker = build_worker(client, store, QUEUE, rules, platform_settings(platform))
    running = asyncio.create_task(worker.run())
    sender = EventSender(client, QUEUE)
    try:
        await sender.send(event("registered", "acme", player_id, country="DE", currency="EUR"))
        await eventually(lambda: _stored(store, player_id, 1))

        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=fragile_database.pgdata,
                        user=fragile_database.system_user)
        for amount in ("10", "20", "30"):
            await sender.send(event("deposit_succeeded", "acme", player_id, amount=amount, method="card"))

        handle = client.get_workflow_handle(f"player:acme:{player_id}")

        async def accepted() -> None:
            assert (await handle.query("profile"))["deposit_count"] == 3

        await eventually(accepted)  # the workflow keeps serving staff while storage is down
        await asyncio.sleep(2)  # let a recording attempt or two fail
        fragile_database.ensure_postgres_running()
        await eventually(lambda: _stored(store, player_id, 4), timeout=40)
        stored = await store.player("acme", player_id)
        assert stored is not None and stored["deposit_total"] == "60"
    finally:
        await worker.shutdown()
        await running
        await store.close()


async def _stored(store: PlayerStore, player_id: str, count: int) -> None:
    rows = await store.fetch("SELECT count(*) AS n FROM events WHERE player_id = $1", player_id)
    assert rows[0]["n"] == count
