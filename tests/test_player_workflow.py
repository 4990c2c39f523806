"""PlayerWorkflow on a real Temporal server, recording into a real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support import TASK_QUEUE, event, eventually
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from crm.players import PlayerRef

BRAND = "acme"


def registered(player_id: str, **fields: Any) -> dict[str, Any]:
    return event("registered", BRAND, player_id, country="MT", currency="EUR",
                 consents={"email": True}, **fields)


def deposit(player_id: str, amount: str = "50.00", **fields: Any) -> dict[str, Any]:
    return event("deposit_succeeded", BRAND, player_id, amount=amount, method="card", **fields)


def session(player_id: str, stake: str, win: str, category: str = "slots", **fields: Any) -> dict[str, Any]:
    return event("session_ended", BRAND, player_id, started_at="2026-11-30T09:30:00Z",
                 game_category=category, rounds=100, stake=stake, win=win, **fields)


async def profile(client: Client, player_id: str) -> dict[str, Any]:
    return await client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("profile")


async def stored_events(store: PlayerStore, player_id: str) -> list[Any]:
    return await store.fetch(
        "SELECT event_id, type FROM events WHERE brand = $1 AND player_id = $2", BRAND, player_id
    )


async def test_signal_with_start_creates_the_player_and_the_query_shows_the_events(
    sender: EventSender, client: Client, player_id: str
) -> None:
    await sender.send(registered(player_id))
    await sender.send(deposit(player_id, "50.00"))
    await sender.send(event("deposit_failed", BRAND, player_id, amount="20", method="card", reason="declined"))
    await sender.send(session(player_id, stake="60", win="35.5"))

    async def shows_all() -> dict[str, Any]:
        p = await profile(client, player_id)
        assert p["events_accepted"] == 4
        return p

    p = await eventually(shows_all)
    assert (p["brand"], p["player_id"], p["country"], p["currency"]) == (BRAND, player_id, "MT", "EUR")
    assert p["registered_at"] == "2026-11-30T10:00:00Z"
    assert p["consents"] == {"email": True, "sms": False, "push": False, "phone": False}
    assert (p["deposit_count"], Decimal(p["deposit_total"])) == (1, Decimal("50.00"))
    assert p["failed_deposit_count"] == 1
    assert (p["session_count"], Decimal(p["stake_total"]), Decimal(p["win_total"])) == (1, 60, Decimal("35.5"))
    assert Decimal(p["net_loss"]) == Decimal("24.5")
    assert p["account_status"] == "depositor" and p["self_excluded"] is False
    assert p["last_active_at"] == "2026-11-30T10:00:00Z"


async def test_staff_can_find_players_by_brand_and_stage(
    sender: EventSender, client: Client, player_id: str
) -> None:
    await sender.send(registered(player_id, occurred_at=datetime.now(UTC).isoformat()))
    handle = client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id)

    async def indexed() -> None:
        attrs = (await handle.describe()).search_attributes
        assert attrs.get("CrmBrand") == [BRAND]
        assert attrs.get("CrmStage") == ["new"] and "new" in attrs.get("CrmSegments", [])
        assert attrs.get("CrmCountry") == ["MT"] and attrs.get("CrmVipTier") == ["none"]
        memo = await (await handle.describe()).memo()
        assert memo["summary"] == f"{BRAND} player {player_id}: new, VIP none; journeys: welcome"

    await eventually(indexed, timeout=20)
    await sender.send(event("self_excluded", BRAND, player_id, until=None, scope="brand"))

    async def moved_on() -> None:
        assert (await handle.describe()).search_attributes.get("CrmStage") == ["protected"]

    await eventually(moved_on, timeout=20)
    # The Web UI's filter box runs this same visibility query.
    # Earlier runs (closed by continue-as-new) keep their attributes: staff look at running ones.
    query = (f"CrmBrand = '{BRAND}' AND CrmStage = 'protected' AND ExecutionStatus = 'Running' "
             f"AND WorkflowId = '{handle.id}'")

    async def listed() -> None:
        assert [w.id async for w in client.list_workflows(query)] == [handle.id]

    await eventually(listed, timeout=20)


async def test_an_event_sent_three_times_counts_once_in_the_query_and_in_postgres(
    sender: EventSender, client: Client, store: PlayerStore, player_id: str
) -> None:
    await sender.send(registered(player_id))
    same = deposit(player_id, "75.25", event_id=f"dep-{player_id}")
    for _ in range(3):
        await sender.send(same)
    await sender.send(event("logged_in", BRAND, player_id))

    async def settled() -> dict[str, Any]:
        p = await profile(client, player_id)
        assert p["events_accepted"] == 3
        rows = await store.fetch(
            "SELECT deposit_count, deposit_total, events_accepted FROM players WHERE brand = $1 AND player_id = $2",
            BRAND, player_id,
        )
        assert rows and rows[0]["events_accepted"] == 3
        return p

    p = await eventually(settled)
    assert (p["deposit_count"], Decimal(p["deposit_total"])) == (1, Decimal("75.25"))
    assert [r["type"] for r in await stored_events(store, player_id)].count("deposit_succeeded") == 1
    day = await store.fetch(
        "SELECT deposits, deposit_amount, logins FROM player_days WHERE brand = $1 AND player_id = $2",
        BRAND, player_id,
    )
    assert [(r["deposits"], r["deposit_amount"], r["logins"]) for r in day] == [(1, Decimal("75.25"), 1)]


async def test_bad_events_are_rejected_with_a_reason_and_the_workflow_keeps_going(
    sender: EventSender, client: Client, store: PlayerStore, player_id: str
) -> None:
    await sender.send(registered(player_id))
    missing_amount = deposit(player_id)
    del missing_amount["amount"]
    await sender.send(missing_amount)
    # A platform bug: events addressed to this player's workflow but about someone else.
    handle = client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id)
    await handle.signal("event", event("logged_in", "other", player_id))
    await handle.signal("event", event("logged_in", BRAND, "someone-else"))
    await handle.signal("event", ["not", "an", "object"])
    await sender.send(deposit(player_id, "10"))

    async def settled() -> dict[str, Any]:
        p = await profile(client, player_id)
        assert (p["events_accepted"], p["events_rejected"]) == (2, 4)
        return p

    await eventually(settled)
    reasons = [r["reason"] for r in await handle.query("rejections")]
    assert reasons == [
        "amount: Field required",
        "brand: 'other' does not match this workflow's 'acme'",
        f"player_id: 'someone-else' does not match this workflow's '{player_id}'",
        "event: must be a JSON object, got list",
    ]
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    async def recorded() -> None:
        rows = await store.fetch(
            "SELECT reason, payload FROM rejected_events WHERE brand = $1 AND player_id = $2 ORDER BY received_at, rejection_key",
            BRAND, player_id,
        )
        assert [r["reason"] for r in rows] == reasons
        assert '"method": "card"' in rows[0]["payload"]

    await eventually(recorded)


async def test_state_survives_continue_as_new(
    sender: EventSender, client: Client, store: PlayerStore, player_id: str
) -> None:
    """The test server suggests continue-as-new after 40 history events."""
    handle = client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id)
    await sender.send(registered(player_id, event_id=f"reg-{player_id}"))
    first_run = (await handle.describe()).run_id
    for i in range(60):
        await sender.send(session(player_id, stake="2.50", win="1", event_id=f"s{i}-{player_id}"))
    await sender.send(registered(player_id, event_id=f"reg-{player_id}"))  # a re-send from before the new run

    async def settled() -> dict[str, Any]:
        p = await profile(client, player_id)
        assert p["events_accepted"] == 61
        return p

    p = await eventually(settled, timeout=30)
    assert (await handle.describe()).run_id != first_run, "no continue-as-new happened"
    first = client.get_workflow_handle(handle.id, run_id=first_run)
    assert (await first.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert p["session_count"] == 60 and Decimal(p["stake_total"]) == Decimal("150.00")
    assert p["registered_at"] == "2026-11-30T10:00:00Z"

    async def all_stored_once() -> None:
        assert len(await stored_events(store, player_id)) == 61

    await eventually(all_stored_once)
    games = await store.fetch(
        "SELECT sessions, stake FROM player_day_games WHERE brand = $1 AND player_id = $2 AND game_category = 'slots'",
        BRAND, player_id,
    )
    assert [(r["sessions"], r["stake"]) for r in games] == [(60, Decimal("150.00"))]


async def test_accepted_events_reach_postgres_in_batches(
    sender: EventSender, client: Client, store: PlayerStore, player_id: str
) -> None:
    await sender.send(registered(player_id))
    await asyncio.gather(*(sender.send(deposit(player_id, "1")) for _ in range(40)))

    async def all_stored() -> None:
        assert len(await stored_events(store, player_id)) == 41

    await eventually(all_stored)
    handle = client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id)
    recordings = 0
    async for run_event in handle.fetch_history_events():
        if run_event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            recordings += 1
    # Continue-as-new may split the history, so count only what this run's history shows
    # plus the stored rows: far fewer recordings than events means batching happened.
    assert recordings < 41


async def test_a_timed_self_exclusion_ends_on_time(
    sender: EventSender, client: Client, player_id: str
) -> None:
    until = datetime.now(UTC) + timedelta(seconds=2)
    await sender.send(registered(player_id))
    await sender.send(event("self_excluded", BRAND, player_id, until=until.isoformat(), scope="brand"))

    async def excluded() -> None:
        p = await profile(client, player_id)
        assert p["self_excluded"] is True and p["account_status"] == "self_excluded"

    await eventually(excluded, timeout=2)

    async def lifted() -> None:
        p = await profile(client, player_id)
        assert p["self_excluded"] is False and p["account_status"] == "registered"

    await eventually(lifted, timeout=10)


async def test_an_indefinite_self_exclusion_is_not_shortened_by_a_later_timed_one(
    sender: EventSender, client: Client, player_id: str
) -> None:
    await sender.send(registered(player_id))
    await sender.send(event("self_excluded", BRAND, player_id, until=None, scope="group"))
    await sender.send(event("self_excluded", BRAND, player_id, until="2026-12-01T00:00:00Z", scope="brand"))

    async def settled() -> dict[str, Any]:
        p = await profile(client, player_id)
        assert p["events_accepted"] == 3
        return p

    p = await eventually(settled)
    assert p["self_excluded"] is True
    assert p["self_excluded_until"] is None
    assert p["self_exclusion_scope"] == "group"


async def test_a_workflow_id_that_names_no_player_fails_at_once_instead_of_retrying(
    client: Client, worker: None
) -> None:
    handle = await client.start_workflow("PlayerWorkflow", {}, id="acme-p1", task_queue=TASK_QUEUE)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "InvalidWorkflowId"
    assert failed.value.cause.message == "workflow id 'acme-p1' does not start with 'player:'"
