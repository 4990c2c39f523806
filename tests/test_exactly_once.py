"""Money moves once: across a worker restart mid-journey, and against a platform that fails 30 % of calls.

The platform is the reference one over real HTTP and SMTP; what it kept is the proof. Each
test runs its own worker on its own task queue, so that it may stop and start it: the
restart on the dev server (whose waits the brand config shortens to seconds), the faulty
platform on the time-skipping server.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support import event, eventually, kept_effects, platform_settings, time_skipping_environment, treated_player
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.event_sender import EventSender
from adapters.platform.messaging import message_id
from adapters.store import PlayerStore
from crm.players import PlayerRef
from rules.registry import SHIPPED_RULES, RuleRegistry
from worker import build_worker

BRAND = "acme"


@pytest.fixture(scope="module")
def quick_rules(tmp_path_factory: pytest.TempPathFactory) -> RuleRegistry:
    """The shipped rules, with acme's welcome lasting seconds instead of two weeks."""
    root = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(SHIPPED_RULES, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (root / BRAND / "brand.yaml").open("a") as brand:
        brand.write("journeys:\n  welcome: {kyc_reminder_after: 2s, deposit_offer_after: 4s, window: 6s}\n")
    return RuleRegistry(root)


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    env = await time_skipping_environment()
    try:
        yield env
    finally:
        await env.shutdown()


def registered(player_id: str) -> dict[str, Any]:
    return event("registered", BRAND, player_id, occurred_at=datetime.now(UTC).isoformat(), country="MT",
                 currency="EUR", birth_date="1990-01-01", consents={"email": True, "sms": True})


async def stored_effects(store: PlayerStore, player_id: str) -> dict[str, str]:
    """The incentives ledger and communications log, keyed as the platform saw each effect."""
    rows = await store.fetch("SELECT idempotency_key, status, false AS email FROM incentives WHERE player_id = $1 "
                             "UNION ALL SELECT idempotency_key, status, channel = 'email' FROM communications "
                             "WHERE player_id = $1", player_id)
    return {message_id(r["idempotency_key"]) if r["email"] else r["idempotency_key"]: r["status"] for r in rows}


async def welcome_of(client: Client, player_id: str) -> Any:
    async def started() -> Any:
        state = await client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("journeys")
        assert "welcome" in state["running"] or state["ended"], state
        return client.get_workflow_handle(f"journey:welcome:{BRAND}:{player_id}:1")
    return await eventually(started, timeout=20)


async def ended(client: Client, player_id: str, kind: str) -> dict[str, Any]:
    async def found() -> dict[str, Any]:
        state = await client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("journeys")
        done = [r for r in state["ended"] if r["kind"] == kind]
        assert done and kind not in state["running"], state
        return done[0]
    return await eventually(found, timeout=30)


async def test_with_30_percent_platform_errors_every_action_lands_exactly_once(
    env: WorkflowEnvironment, store: PlayerStore, rules: RuleRegistry, platform: Any
) -> None:
    client, queue = env.client, "crm-faulty-platform"
    # Enough players that some platform call surely fails after its change (p < 0.5 % otherwise).
    players = [treated_player(BRAND, "welcome", "first_deposit") for _ in range(16)]
    platform.faults.error_rate = 0.3
    try:
        async with build_worker(client, store, queue, rules, platform_settings(platform)):
            sender = EventSender(client, queue)
            for player_id in players:
                await sender.send(registered(player_id))
            for player_id in players[:8]:  # half deposit at once: first-deposit journeys too
                await welcome_of(client, player_id)
                await sender.send(event("deposit_succeeded", BRAND, player_id, amount="50", method="card",
                                        occurred_at=datetime.now(UTC).isoformat()))
            await env.sleep(timedelta(days=15))  # past every wait of both journeys
            results = [await ended(client, p, "welcome") for p in players]
            for player_id in players[:8]:
                await ended(client, player_id, "first_deposit")
    finally:
        platform.faults.error_rate = 0.0

    assert [r["outcome"] for r in results] == ["converted"] * 8 + ["expired"] * 8
    retried = 0
    for player_id in players:
        kept = kept_effects(player_id, platform)
        assert kept and all(n == 1 for n in kept.values()), kept
        stored = await stored_effects(store, player_id)
        assert set(stored) == set(kept) and set(stored.values()) == {"granted", "sent"}, (player_id, stored, kept)
        retried += sum(1 for key in kept if platform.ledger.requests_by_key[key] > 1)
    # Injected failures after the change happened were retried with the same key and absorbed.
    assert retried > 0


async def test_a_worker_restart_mid_journey_resumes_and_pays_nothing_twice(
    client: Client, store: PlayerStore, quick_rules: RuleRegistry, platform: Any
) -> None:
    queue, player_id = "crm-restart", treated_player(BRAND, "welcome")
    platform.faults.latency_ms = 300  # long enough for the first worker to stop mid-call
    first = build_worker(client, store, queue, quick_rules, platform_settings(platform))
    running = asyncio.create_task(first.run())
    try:
        await EventSender(client, queue).send(registered(player_id))
        welcome = await welcome_of(client, player_id)

        async def acting() -> None:
            pending = [a.activity_type.name for a in (await welcome.describe()).raw_description.pending_activities]
            assert {"grant_incentive", "send_message"} & set(pending), pending

        await eventually(acting, timeout=20)
    finally:
        await first.shutdown()  # the platform call in flight is cut off
        await running
        platform.faults.latency_ms = 0

    # A fresh worker has no cache: it replays the journey from its history and goes on.
    async with build_worker(client, store, queue, quick_rules, platform_settings(platform)):
        result = await ended(client, player_id, "welcome")

    assert (result["outcome"], result["group"]) == ("expired", "treatment")  # through reminder and offer to the end
    kept = kept_effects(player_id, platform)
    assert all(n == 1 for n in kept.values()), kept
    grants = [g for g in platform.ledger.grants if g["player_id"] == player_id]
    assert [(g["kind"], Decimal(g["amount"])) for g in grants] == [("free_spins", Decimal(10))]
    stored = await stored_effects(store, player_id)
    assert set(stored) == set(kept) and set(stored.values()) == {"granted", "sent"}, stored
    decided = await store.fetch("SELECT decision_key FROM decisions WHERE decision_key LIKE $1",
                                f"journey:welcome:{BRAND}:{player_id}:1:%")
    assert sorted(r["decision_key"].rsplit(":", 1)[1] for r in decided) == ["deposit_offer", "kyc_reminder", "start"]
