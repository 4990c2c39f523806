"""Journeys on the real dev server, acting on the reference platform over real HTTP and SMTP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from support import REPO, event, eventually, kept_effects, treated_player
from temporalio.client import Client

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from crm.players import PlayerRef

BRAND = "acme"


def now() -> str:
    return datetime.now(UTC).isoformat()


async def journeys(client: Client, player_id: str) -> dict[str, Any]:
    return await client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("journeys")


async def test_welcome_then_first_deposit_each_pays_and_sends_once(
    sender: EventSender, client: Client, platform: Any, store: PlayerStore
) -> None:
    player_id = treated_player(BRAND, "welcome", "first_deposit")
    mine = lambda records: [r for r in records if player_id in str(r)]  # noqa: E731
    await sender.send(event("registered", BRAND, player_id, occurred_at=now(), country="MT", currency="EUR",
                            birth_date="1990-01-01", consents={"email": True, "sms": True}))

    async def welcomed() -> None:
        assert (await journeys(client, player_id))["running"] == {"welcome": f"journey:welcome:{BRAND}:{player_id}:1"}
        assert [e["template"] for e in mine(platform.ledger.emails)] == ["welcome_1"]
        assert [m["template"] for m in mine(platform.ledger.messages)] == ["welcome_sms"]
        assert [(g["kind"], Decimal(g["amount"])) for g in mine(platform.ledger.grants)] == [("free_spins", 10)]

    await eventually(welcomed, timeout=20)
    await sender.send(event("deposit_succeeded", BRAND, player_id, occurred_at=now(), amount="50", method="card"))

    async def followed_up() -> None:
        state = await journeys(client, player_id)
        assert state["running"] == {"first_deposit": f"journey:first_deposit:{BRAND}:{player_id}:1"}
        assert [(r["kind"], r["outcome"], r["reason"]) for r in state["ended"]] == [
            ("welcome", "converted", "first deposit")]
        # acme matches a first deposit at 150 %, up to 150: 75 on 50
        assert [(g["kind"], Decimal(g["amount"])) for g in mine(platform.ledger.grants)] == [
            ("free_spins", 10), ("deposit_match", 75)]
        assert [e["template"] for e in mine(platform.ledger.emails)] == ["welcome_1", "acme_first_deposit"]

    await eventually(followed_up, timeout=20)
    assert all(n == 1 for n in kept_effects(player_id, platform).values())
    rows = await store.fetch("SELECT kind, control_group, outcome FROM journeys WHERE player_id = $1 ORDER BY kind",
                             player_id)
    assert [tuple(r) for r in rows] == [("first_deposit", "treatment", None), ("welcome", "treatment", "converted")]


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


def test_the_journey_guide_documents_every_setting_signal_and_query() -> None:
    from temporalio.workflow import _Definition

    from crm.journeys import JourneySettings
    from workflows.lifecycle import JOURNEY_WORKFLOWS
    from workflows.player import PlayerWorkflow

    guide = (REPO / "docs" / "journeys.md").read_text()
    for kind, field in JourneySettings.model_fields.items():
        for setting in field.annotation.model_fields:  # type: ignore[union-attr]
            assert f"| `{setting}` |" in guide, f"docs/journeys.md lacks {kind}.{setting}"
    for workflow in (PlayerWorkflow, *JOURNEY_WORKFLOWS.values()):
        definition = _Definition.from_class(workflow)
        assert definition is not None
        handlers = [*definition.signals.values(), *definition.queries.values()]
        for handler in handlers:
            if handler.name and "internal" not in (handler.description or "").lower():
                assert f"`{handler.name}`" in guide, f"docs/journeys.md lacks {workflow.__name__}'s {handler.name}"
