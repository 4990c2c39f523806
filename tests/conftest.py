"""Real parts for every test: a Temporal dev server, PostgreSQL, and the CRM worker.

PostgreSQL is CRM_DATABASE_URL when set, else an embedded server in a temporary directory.
Tests keep apart by using their own player ids, so one stack serves the whole session.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support import TASK_QUEUE, platform_settings

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from adapters.temporal import ensure_search_attributes
from adapters.temporal_dev_server import TemporalDevServer, free_port
from rules.registry import SHIPPED_RULES, RuleRegistry
from worker import build_worker


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if os.environ.get("CRM_DATABASE_URL"):
        return os.environ["CRM_DATABASE_URL"]
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    return server.get_uri()


@pytest.fixture(scope="session")
async def store(database_url: str) -> AsyncIterator[PlayerStore]:
    store = await PlayerStore.connect(database_url)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture(scope="session")
async def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TemporalDevServer]:
    state = tmp_path_factory.mktemp("temporal")
    server = TemporalDevServer.on_free_ports(
        state / "temporal.db",
        log_file=state / "temporal.log",
        # Small enough that the tests see continue-as-new happen.
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "40"},
    )
    await server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def client(temporal_server: TemporalDevServer) -> Any:
    from adapters.temporal import connect

    client = await connect(temporal_server.address)
    await ensure_search_attributes(client)
    return client


@pytest.fixture(scope="session")
def rules() -> RuleRegistry:
    return RuleRegistry(SHIPPED_RULES)


@pytest.fixture(scope="session")
async def worker(client: Any, store: PlayerStore, rules: RuleRegistry, platform: Any) -> AsyncIterator[None]:
    running = build_worker(client, store, TASK_QUEUE, rules, platform_settings(platform))
    task = asyncio.create_task(running.run())
    yield
    await running.shutdown()
    await task


@pytest.fixture
def sender(client: Any, worker: None) -> EventSender:
    return EventSender(client, TASK_QUEUE)


@pytest.fixture
def player_id() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
async def platform() -> AsyncIterator[Any]:
    """The reference platform over real HTTP and SMTP; tests set its faults and read its ledger."""
    from adapters.reference_platform.server import reference_platform

    async with reference_platform(port=free_port(), smtp_port=free_port()) as running:
        yield running
