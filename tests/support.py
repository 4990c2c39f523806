"""Helpers the tests share: building events as a platform would, waiting for effects."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from simulator.demo import awake_timezone  # noqa: F401 - the tests import it from here

TASK_QUEUE = "crm-test"
CRM = str(Path(sys.executable).parent / "crm")  # the console script, as installed
REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


async def time_skipping_environment() -> Any:
    """Temporal's time-skipping test server (pip-installed), with our converter and search attributes.

    Its start is given 30 s: the SDK's default of 5 s failed now and then with the rest of the
    suite busy on two cores."""
    import shutil
    from datetime import timedelta

    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from adapters.temporal import register_search_attributes

    server = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter,
        test_server_startup_timeout=timedelta(seconds=30))
    await register_search_attributes(env.client)  # the test server cannot list them
    return env


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """Poll until ``check`` returns without AssertionError; re-raise the last one on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


def event(event_type: str, brand: str, player_id: str, /, **fields: Any) -> dict[str, Any]:
    """An event as the platform would send it (JSON-shaped: strings for amounts and times).

    A registered player lives in `awake_timezone()` unless the test says otherwise.
    """
    if event_type == "registered":
        fields.setdefault("timezone", awake_timezone())
    return {
        "event_id": fields.pop("event_id", None) or f"ev-{uuid.uuid4().hex}",
        "type": event_type,
        "brand": brand,
        "player_id": player_id,
        "occurred_at": fields.pop("occurred_at", "2026-11-30T10:00:00Z"),
        **fields,
    }


def platform_settings(platform: Any) -> Any:
    """Worker settings pointing at a running reference platform, workflows in the sandbox (so that
    a workflow reaching for I/O, the clock or randomness fails a test)."""
    from crm.settings import Settings

    return Settings(platform_url=platform.url, smtp_host=platform.smtp_host, smtp_port=platform.smtp_port,
                    platform_timeout_seconds=2, workflow_sandbox=True)


def treated_player(brand: str, *kinds: str) -> str:
    """A fresh player id that the control-group hash puts in treatment for these journeys.

    Assumes the brand keeps the default control share (10 %).
    """
    from decimal import Decimal

    from crm.journeys import control_group

    while True:
        player_id = f"p-{uuid.uuid4().hex[:12]}"
        if all(control_group(brand, player_id, kind, Decimal("0.10")) == "treatment" for kind in kinds):
            return player_id


def kept_effects(player_id: str, platform: Any) -> dict[str, int]:
    """What the reference platform kept of the player's side effects: idempotency key -> times kept."""
    kept = [r["idempotency_key"] for kind in ("grants", "messages", "emails", "tier_changes", "tasks")
            for r in getattr(platform.ledger, kind) if player_id in str(r)]
    return {k: kept.count(k) for k in kept}
