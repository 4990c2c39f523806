"""Journey branches over days and weeks, on the time-skipping test server: days pass in ms.

The worker is real (Postgres, reference platform over HTTP); only the clock is virtual.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support import event, eventually, platform_settings
from temporalio.testing import WorkflowEnvironment

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from adapters.temporal import register_search_attributes
from crm.journeys import control_group
from crm.players import PlayerRef
from rules.registry import RuleRegistry
from worker import build_worker

QUEUE = "crm-time-skipping"
BRAND = "acme"


@pytest.fixture(scope="module")
async def env(store: PlayerStore, rules: RuleRegistry, platform: Any) -> AsyncIterator[WorkflowEnvironment]:
    from temporalio.contrib.pydantic import pydantic_data_converter

    server = shutil.which("temporal-test-server", path=str(__import__("pathlib").Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=pydantic_data_converter)
    try:
        await register_search_attributes(env.client)  # the test server cannot list them
        async with build_worker(env.client, store, QUEUE, rules, platform_settings(platform)):
            yield env
    finally:
        await env.shutdown()


def now() -> str:
    return datetime.now(UTC).isoformat()


async def send(env: WorkflowEnvironment, kind: str, player_id: str, **fields: Any) -> None:
    await EventSender(env.client, QUEUE).send(event(kind, BRAND, player_id, occurred_at=now(), **fields))


async def journeys(env: WorkflowEnvironment, player_id: str) -> dict[str, Any]:
    return await env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("journeys")


async def ended(env: WorkflowEnvironment, player_id: str, kind: str) -> dict[str, Any]:
    async def found() -> dict[str, Any]:
        done = [r for r in (await journeys(env, player_id))["ended"] if r["kind"] == kind]
        assert done, f"no {kind} journey ended yet"
        return done[0]
    return await eventually(found, timeout=20)


async def running(env: WorkflowEnvironment, player_id: str, kind: str) -> str:
    async def found() -> str:
        state = await journeys(env, player_id)
        assert kind in state["running"], state
        return state["running"][kind]
    return await eventually(found, timeout=20)


def mine(records: list[dict[str, Any]], player_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("player_id") == player_id or player_id in str(r.get("to", ""))]


async def vip_candidate(env: WorkflowEnvironment, player_id: str) -> str:
    await send(env, "registered", player_id, country="MT", currency="EUR", birth_date="1980-05-05",
               consents={"email": True})
    await send(env, "kyc_updated", player_id, status="verified")
    await send(env, "deposit_succeeded", player_id, amount="1500", method="card")
    return await running(env, player_id, "vip_upgrade")


async def test_vip_review_approved_sets_the_tier_welcomes_and_assigns_a_manager(
    env: WorkflowEnvironment, platform: Any, store: PlayerStore, player_id: str
) -> None:
    journey = await vip_candidate(env, player_id)
    await env.client.get_workflow_handle(journey).signal("vip_review", {"approved": True, "reviewer": "ana", "note": "ok"})
    result = await ended(env, player_id, "vip_upgrade")
    assert (result["outcome"], result["reason"], result["vip_tier"]) == ("converted", "approved by ana", "silver")
    assert [c["tier"] for c in mine(platform.ledger.tier_changes, player_id)] == ["silver"]
    assert [t["queue"] for t in mine(platform.ledger.tasks, player_id)] == ["vip_managers"]
    # The welcome is decided like any message: here the day's email cap (2) is already used.
    welcome = await store.fetch("SELECT outcomes FROM decisions WHERE decision_key = $1", f"{journey}:approved")
    outcomes = welcome[0]["outcomes"]
    assert [(o["proposed"].get("message", {}).get("template"), o["guard"]) for o in outcomes][0] == \
        ("vip_welcome", "frequency_cap")
    profile = await env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("profile")
    assert profile["vip_tier"] == "silver"


async def test_vip_review_rejected_changes_nothing(env: WorkflowEnvironment, platform: Any, player_id: str) -> None:
    journey = await vip_candidate(env, player_id)
    handle = env.client.get_workflow_handle(journey)
    await handle.signal("vip_review", {"approved": "maybe"})  # malformed: refused, the journey keeps waiting
    await handle.signal("vip_review", {"approved": False, "reviewer": "bo", "note": "source of funds unclear"})
    result = await ended(env, player_id, "vip_upgrade")
    assert (result["outcome"], result["reason"]) == ("cancelled", "rejected by bo: source of funds unclear")
    assert mine(platform.ledger.tier_changes, player_id) == []


async def test_an_unanswered_vip_review_escalates_then_expires(
    env: WorkflowEnvironment, platform: Any, player_id: str
) -> None:
    await vip_candidate(env, player_id)
    await env.sleep(timedelta(days=3))

    async def escalated() -> None:
        assert [t["queue"] for t in mine(platform.ledger.tasks, player_id)] == ["vip_review_escalations"]

    await eventually(escalated, timeout=20)
    await env.sleep(timedelta(days=5))
    result = await ended(env, player_id, "vip_upgrade")
    assert result["outcome"] == "expired" and mine(platform.ledger.tier_changes, player_id) == []


async def test_welcome_reminds_offers_and_expires_over_two_weeks(
    env: WorkflowEnvironment, platform: Any, store: PlayerStore, player_id: str
) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    journey = await running(env, player_id, "welcome")
    await env.sleep(timedelta(days=15))
    result = await ended(env, player_id, "welcome")
    assert result["outcome"] == "expired"
    asked = await store.fetch("SELECT decision_key FROM decisions WHERE decision_key LIKE $1 ORDER BY decided_at",
                              f"{journey}:%")
    assert [r["decision_key"].rsplit(":", 1)[1] for r in asked] == ["start", "kyc_reminder", "deposit_offer"]
    templates = [e["template"] for e in mine(platform.ledger.emails, player_id)]
    # The third email meets the real-time daily cap of 2: the guards' clock is not skipped.
    assert templates == (["welcome_1", "kyc_reminder"] if result["group"] == "treatment" else [])


async def test_inactivity_starts_reactivation_and_a_return_ends_it(
    env: WorkflowEnvironment, platform: Any, player_id: str
) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    await send(env, "deposit_succeeded", player_id, amount="30", method="card")
    await running(env, player_id, "first_deposit")
    await env.sleep(timedelta(days=8))  # a timer in PlayerWorkflow notices, no batch scan
    await running(env, player_id, "reactivation")
    await send(env, "logged_in", player_id)
    result = await ended(env, player_id, "reactivation")
    assert result["outcome"] == "converted" and result["days_to_return"] >= 7


async def test_holdout_players_receive_nothing_but_are_measured(
    env: WorkflowEnvironment, platform: Any
) -> None:
    holdout = next(f"h-{i}" for i in range(10_000)
                   if control_group(BRAND, f"h-{i}", "welcome", Decimal("0.10")) == "holdout"
                   and not mine(platform.ledger.emails, f"h-{i}"))
    await send(env, "registered", holdout, country="MT", currency="EUR", consents={"email": True, "sms": True},
               birth_date="1990-01-01")
    await send(env, "deposit_succeeded", holdout, amount="40", method="card")
    result = await ended(env, holdout, "welcome")
    assert (result["group"], result["outcome"]) == ("holdout", "converted")
    await asyncio.sleep(0.5)
    assert not [e for e in mine(platform.ledger.emails, holdout) if e["template"].startswith("welcome")]
    assert not [m for m in mine(platform.ledger.messages, holdout) if m["template"] == "welcome_sms"]
