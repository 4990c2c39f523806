"""Journey branches over days and weeks, on the time-skipping test server: days pass in ms.

The worker is real (Postgres, reference platform over HTTP); only the clock is virtual.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import event, eventually, platform_settings, time_skipping_environment, treated_player
from temporalio.testing import WorkflowEnvironment

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from crm.journeys import control_group, journey_task_queue
from crm.players import PlayerRef
from rules.registry import RuleRegistry
from worker import build_worker

QUEUE = "crm-time-skipping"
HISTORIES = Path(__file__).parent / "histories"
BRAND = "acme"


@pytest.fixture(scope="module")
async def env(store: PlayerStore, rules: RuleRegistry, platform: Any) -> AsyncIterator[WorkflowEnvironment]:
    env = await time_skipping_environment()
    try:
        async with build_worker(env.client, store, QUEUE, rules, platform_settings(platform)):
            yield env
    finally:
        await env.shutdown()


def now() -> str:
    return datetime.now(UTC).isoformat()


async def send(env: WorkflowEnvironment, event_type: str, player_id: str, /, **fields: Any) -> None:
    await EventSender(env.client, QUEUE).send(event(event_type, BRAND, player_id, occurred_at=now(), **fields))


async def journeys(env: WorkflowEnvironment, player_id: str) -> dict[str, Any]:
    return await env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("journeys")


async def ended(env: WorkflowEnvironment, player_id: str, kind: str, save_as: str | None = None) -> dict[str, Any]:
    """How the player's last journey of this kind ended; `save_as` keeps its history for tests/test_replay.py."""
    async def found() -> dict[str, Any]:
        done = [r for r in (await journeys(env, player_id))["ended"] if r["kind"] == kind]
        assert done, f"no {kind} journey ended yet"
        return done[0]
    result = await eventually(found, timeout=20)
    if save_as:
        await save_histories(env, result["journey_id"], PlayerRef(BRAND, player_id).workflow_id, save_as)
    return result


async def save_histories(env: WorkflowEnvironment, journey_id: str, player_workflow_id: str, name: str) -> None:
    """With CRM_SAVE_HISTORIES set, keep the journey's and its player's histories for tests/test_replay.py."""
    if not os.environ.get("CRM_SAVE_HISTORIES"):
        return
    for workflow_id, file in ((journey_id, name), (player_workflow_id, f"player-{name}")):
        history = json.loads((await env.client.get_workflow_handle(workflow_id).fetch_history()).to_json())
        (HISTORIES / f"{file}.json").write_text(json.dumps({"workflow_id": workflow_id, **history}, indent=1))


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
    result = await ended(env, player_id, "vip_upgrade", save_as="vip_upgrade-approved")
    assert (result["outcome"], result["reason"], result["vip_tier"]) == ("converted", "approved by ana", "silver")
    assert [c["tier"] for c in mine(platform.ledger.tier_changes, player_id)] == ["silver"]
    assert [t["queue"] for t in mine(platform.ledger.tasks, player_id)] == ["vip_managers"]
    # The welcome is decided like any message: the day's email cap (2) may already be used.
    welcome = await store.fetch("SELECT outcomes FROM decisions WHERE decision_key = $1", f"{journey}:approved")
    message = welcome[0]["outcomes"][0]
    assert message["proposed"]["message"]["template"] == "vip_welcome"
    sent = "vip_welcome" in [e["template"] for e in mine(platform.ledger.emails, player_id)]
    assert (message["guard"], sent) in ((None, True), ("frequency_cap", False))
    profile = await env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).query("profile")
    assert profile["vip_tier"] == "silver"


async def test_vip_review_rejected_changes_nothing(env: WorkflowEnvironment, platform: Any, player_id: str) -> None:
    journey = await vip_candidate(env, player_id)
    handle = env.client.get_workflow_handle(journey)
    await handle.signal("vip_review", {"approved": "maybe"})  # malformed: refused, the journey keeps waiting
    await handle.signal("vip_review", {"approved": False, "reviewer": "bo", "note": "source of funds unclear"})
    result = await ended(env, player_id, "vip_upgrade", save_as="vip_upgrade-rejected")
    assert (result["outcome"], result["reason"]) == ("cancelled", "rejected by bo: source of funds unclear")
    assert mine(platform.ledger.tier_changes, player_id) == []


async def test_a_vip_candidate_who_fails_the_affordability_check_is_never_put_to_review(
    env: WorkflowEnvironment, platform: Any, player_id: str
) -> None:
    from adapters.platform_api import AffordabilityResult

    platform.ledger.affordability[(BRAND, player_id)] = AffordabilityResult(
        passed=False, enhanced_due_diligence=False, reason="income not evidenced")
    await send(env, "registered", player_id, country="MT", currency="EUR", birth_date="1980-05-05")
    await send(env, "kyc_updated", player_id, status="verified")
    await send(env, "deposit_succeeded", player_id, amount="1500", method="card")
    result = await ended(env, player_id, "vip_upgrade")
    assert (result["outcome"], result["reason"]) == ("cancelled", "risk checks: income not evidenced")
    assert mine(platform.ledger.tier_changes, player_id) == [] and mine(platform.ledger.tasks, player_id) == []


async def test_the_risk_systems_bonus_abuse_score_stops_bonuses_not_mail(
    env: WorkflowEnvironment, platform: Any, store: PlayerStore, player_id: str
) -> None:
    from adapters.platform_api import RiskProfile

    platform.ledger.risk[(BRAND, player_id)] = RiskProfile(bonus_abuse_score=Decimal("0.9"))
    await send(env, "registered", player_id, country="MT", currency="EUR", birth_date="1990-01-01",
               consents={"email": True})
    journey = await running(env, player_id, "welcome")

    async def decided() -> list[dict[str, Any]]:
        rows = await store.fetch("SELECT outcomes FROM decisions WHERE decision_key = $1", f"{journey}:start")
        assert rows
        return rows[0]["outcomes"]

    verdicts = {o["rule"]: (o["verdict"], o["guard"]) for o in await eventually(decided, timeout=20)}
    assert verdicts == {"welcome-email": ("allowed", None), "welcome-free-spins": ("vetoed", "bonus_abuse")}
    assert mine(platform.ledger.grants, player_id) == []


async def test_an_unanswered_vip_review_escalates_then_expires(
    env: WorkflowEnvironment, platform: Any, player_id: str
) -> None:
    await vip_candidate(env, player_id)
    await env.sleep(timedelta(days=3))

    async def escalated() -> None:
        assert [t["queue"] for t in mine(platform.ledger.tasks, player_id)] == ["vip_review_escalations"]

    await eventually(escalated, timeout=20)
    await env.sleep(timedelta(days=5))
    result = await ended(env, player_id, "vip_upgrade", save_as="vip_upgrade-expired")
    assert result["outcome"] == "expired" and mine(platform.ledger.tier_changes, player_id) == []


async def test_welcome_reminds_offers_and_expires_over_two_weeks(
    env: WorkflowEnvironment, platform: Any, store: PlayerStore, player_id: str
) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    journey = await running(env, player_id, "welcome")

    async def waiting_to_remind() -> None:  # what staff see when they query the journey
        state = await env.client.get_workflow_handle(journey).query("journey")
        started = (await env.client.get_workflow_handle(journey).describe()).start_time
        assert state["step"] == "start" and state["waiting_until"], state
        assert abs(datetime.fromisoformat(state["waiting_until"]) - started - timedelta(days=2)) < timedelta(minutes=1)

    await eventually(waiting_to_remind, timeout=20)
    await env.sleep(timedelta(days=15))
    result = await ended(env, player_id, "welcome", save_as="welcome-expired")
    assert result["outcome"] == "expired"
    assert await asked_steps(store, journey) == ["start", "kyc_reminder", "deposit_offer"]
    welcome_mail = {"welcome_1", "kyc_reminder", "first_deposit_offer"}  # reactivation writes too, meanwhile
    templates = [e["template"] for e in mine(platform.ledger.emails, player_id) if e["template"] in welcome_mail]
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
    result = await ended(env, player_id, "reactivation", save_as="reactivation-returned")
    assert result["outcome"] == "converted" and result["days_to_return"] >= 7


async def asked_steps(store: PlayerStore, journey: str) -> list[str]:
    """The steps a journey asked the rules at, in order."""
    rows = await store.fetch("SELECT decision_key FROM decisions WHERE decision_key LIKE $1 ORDER BY decided_at",
                             f"{journey}:%")
    return [r["decision_key"].rsplit(":", 1)[1] for r in rows]


async def test_a_verified_player_gets_no_kyc_reminder(env: WorkflowEnvironment, store: PlayerStore, player_id: str) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    await send(env, "kyc_updated", player_id, status="verified")
    journey = await running(env, player_id, "welcome")
    await env.sleep(timedelta(days=15))
    assert (await ended(env, player_id, "welcome"))["outcome"] == "expired"
    assert await asked_steps(store, journey) == ["start", "deposit_offer"]


async def test_without_a_second_deposit_the_first_deposit_journey_expires(
    env: WorkflowEnvironment, store: PlayerStore, player_id: str
) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    await send(env, "deposit_succeeded", player_id, amount="50", method="card")
    journey = await running(env, player_id, "first_deposit")
    await env.sleep(timedelta(days=11))
    result = await ended(env, player_id, "first_deposit")
    assert (result["outcome"], result["reason"]) == ("expired", "no second deposit within 10 days")
    assert await asked_steps(store, journey) == ["start", "second_deposit_offer"]


async def test_reactivation_follows_up_at_each_stage_then_gives_up(
    env: WorkflowEnvironment, store: PlayerStore, player_id: str
) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    await send(env, "deposit_succeeded", player_id, amount="30", method="card")
    await running(env, player_id, "first_deposit")
    await env.sleep(timedelta(days=8))
    journey = await running(env, player_id, "reactivation")
    await env.sleep(timedelta(days=60))  # stages at 7, 14 and 30 days away; it gives up at 60
    result = await ended(env, player_id, "reactivation")
    assert result["outcome"] == "expired" and result["days_to_return"] is None
    assert await asked_steps(store, journey) == ["start", "follow_up-2", "follow_up-3"]


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


async def test_a_second_deposit_converts_the_first_deposit_journey(
    env: WorkflowEnvironment, platform: Any, player_id: str
) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    await send(env, "deposit_succeeded", player_id, amount="50", method="card")
    await running(env, player_id, "first_deposit")
    await env.sleep(timedelta(days=4))  # past the second-deposit offer
    await send(env, "deposit_succeeded", player_id, amount="25", method="card")
    result = await ended(env, player_id, "first_deposit", save_as="first_deposit-converted")
    assert (result["outcome"], result["reason"]) == ("converted", "second deposit")
    if result["group"] == "treatment":  # acme matches 150 % of 50, capped at 150: 75
        assert [Decimal(g["amount"]) for g in mine(platform.ledger.grants, player_id)] == [Decimal(75)]


async def test_loss_recovery_on_a_hard_session_pays_ukgc_cashback_as_cash(
    env: WorkflowEnvironment, platform: Any, player_id: str
) -> None:
    sender = EventSender(env.client, QUEUE)
    royal = lambda kind, **f: event(kind, "royal", player_id, occurred_at=now(), **f)  # noqa: E731
    await sender.send(royal("registered", country="GB", currency="GBP", consents={"email": True}))
    await sender.send(royal("session_ended", started_at=now(), game_category="slots", rounds=300,
                            stake="400", win="50"))
    handle = env.client.get_workflow_handle(PlayerRef("royal", player_id).workflow_id)

    async def started() -> dict[str, Any]:
        state = await handle.query("journeys")
        assert "loss_recovery" in state["running"] or any(r["kind"] == "loss_recovery" for r in state["ended"])
        return state

    await eventually(started, timeout=20)
    await sender.send(royal("session_ended", started_at=now(), game_category="slots", rounds=10, stake="5", win="0"))

    async def converted() -> dict[str, Any]:
        done = [r for r in (await handle.query("journeys"))["ended"] if r["kind"] == "loss_recovery"]
        assert done and done[0]["outcome"] == "converted"
        return done[0]

    result = await eventually(converted, timeout=20)
    await save_histories(env, result["journey_id"], handle.id, "loss_recovery-converted")
    grants = mine(platform.ledger.grants, player_id)
    if result["group"] == "treatment":  # 10 % of a 350 loss, capped at 50, as cash without wagering
        assert [(g["kind"], Decimal(g["amount"]), Decimal(g["wagering"])) for g in grants] == [("cash", Decimal(35), 0)]
        assert "weekly_cashback" in [e["template"] for e in mine(platform.ledger.emails, player_id)]
    else:
        assert grants == []
    # Another hard session within the cooldown starts nothing.
    await sender.send(royal("session_ended", started_at=now(), game_category="slots", rounds=300, stake="500", win="0"))

    async def cooled() -> None:
        assert any("loss_recovery: cooldown" in s for s in (await handle.query("journeys"))["skipped"])

    await eventually(cooled, timeout=20)


async def test_rg_markers_or_a_new_limit_suppress_loss_recovery(env: WorkflowEnvironment, player_id: str) -> None:
    await send(env, "registered", player_id, country="MT", currency="EUR")
    await send(env, "limit_changed", player_id, kind="deposit", value="100", period="week")
    await send(env, "session_ended", player_id, started_at=now(), game_category="slots", rounds=300,
               stake="500", win="0")

    async def suppressed() -> None:
        assert any("recent limit change (deposit)" in s for s in (await journeys(env, player_id))["skipped"])

    await eventually(suppressed, timeout=20)


async def test_a_group_self_exclusion_cancels_journeys_on_every_brand_of_the_group(
    env: WorkflowEnvironment, player_id: str
) -> None:
    sender = EventSender(env.client, QUEUE)
    for brand in ("acme", "royal"):
        await sender.send(event("registered", brand, player_id, occurred_at=now(), country="MT", currency="EUR"))
    royal = env.client.get_workflow_handle(PlayerRef("royal", player_id).workflow_id)

    async def welcomed() -> None:
        assert "welcome" in (await royal.query("journeys"))["running"]

    await eventually(welcomed, timeout=20)
    await send(env, "self_excluded", player_id, until=None, scope="group")

    async def excluded_everywhere() -> None:
        state, profile = await royal.query("journeys"), await royal.query("profile")
        assert profile["self_excluded"] is True and state["running"] == {}
        assert state["ended"][0]["outcome"] == "cancelled"

    await eventually(excluded_everywhere, timeout=20)


async def test_staff_pause_marketing_notes_and_churn_risk(
    env: WorkflowEnvironment, platform: Any, store: PlayerStore, player_id: str
) -> None:
    handle = env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id)
    await send(env, "registered", player_id, country="MT", currency="EUR", consents={"email": True})
    journey = await running(env, player_id, "welcome")
    await handle.signal("pause_marketing", {"reason": "complaint being handled", "by": "ana"})
    await handle.signal("note", {"text": "called the player", "author": "ana"})
    await handle.signal("pause_marketing", {"until": "not a time"})  # refused, named, nothing changes

    async def paused() -> None:
        state = await handle.query("journeys")
        assert state["marketing_paused"]["reason"] == "complaint being handled"
        assert [n["text"] for n in state["notes"]] == ["called the player"]
        memo = await (await handle.describe()).memo()
        assert memo["summary"].endswith("; marketing paused by ana: complaint being handled"), memo
        refused = await handle.query("rejections")
        assert any("signal pause_marketing" in r["reason"] and "reason" in r["reason"] for r in refused)

    await eventually(paused, timeout=20)
    await env.sleep(timedelta(days=3))  # the KYC reminder falls inside the pause

    async def reminder_vetoed() -> None:
        rows = await store.fetch("SELECT outcomes FROM decisions WHERE decision_key = $1", f"{journey}:kyc_reminder")
        assert rows and rows[0]["outcomes"][0]["guard"] == "staff_pause"

    await eventually(reminder_vetoed, timeout=20)
    assert "kyc_reminder" not in [e["template"] for e in mine(platform.ledger.emails, player_id)]
    await handle.signal("resume_marketing")
    await handle.signal("churn_risk", {"risk": 0.83, "top_signal": "falling_stake"})

    async def scored() -> None:
        assert (await handle.query("journeys"))["marketing_paused"] is None
        assert (await handle.query("profile"))["churn_risk"] == "0.83"
        attributes = (await handle.describe()).search_attributes
        assert attributes.get("CrmChurnRisk") == [0.83] and attributes.get("CrmStage") == ["at_risk"]

    await eventually(scored, timeout=20)
    await running(env, player_id, "reactivation")


async def test_a_returning_players_session_costs_one_workflow_task_and_wakes_no_journey(
    env: WorkflowEnvironment, store: PlayerStore
) -> None:
    """What keeps the live path cheap: the session is stored inside the task that received it, no
    timer is started and cancelled for it, and the welcome journey (waiting for KYC or a deposit)
    is not signalled; a deposit still reaches it and converts it."""
    player_id = treated_player(BRAND, "welcome")
    await send(env, "registered", player_id, country="MT", currency="EUR", birth_date="1990-01-01",
               consents={"email": True})
    welcome = env.client.get_workflow_handle(f"journey:welcome:{BRAND}:{player_id}:1")

    async def welcomed() -> None:
        assert (await journeys(env, player_id))["running"] == {"welcome": welcome.id}
        assert (await welcome.query("journey"))["waiting_until"] is not None

    await eventually(welcomed, timeout=20)
    player = env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id)
    before, welcome_before = await kinds(player), await kinds(welcome)
    sessions = 5
    for n in range(sessions):
        began = now()
        await send(env, "session_ended", player_id, started_at=began, game_category="slots", rounds=10,
                   stake="5", win="4")

        async def stored(expected: int = n + 1) -> None:
            rows = await store.fetch("SELECT count(*) AS n FROM events WHERE player_id = $1 AND type = 'session_ended'",
                                     player_id)
            assert rows[0]["n"] == expected
        await eventually(stored, timeout=10)

    async def settled() -> None:  # the row is in before the task that stored it completes
        assert not (await player.describe()).raw_description.HasField("pending_workflow_task")
    await eventually(settled, timeout=10)
    spent = await kinds(player) - before
    assert 1 <= spent["workflow_task_completed"] <= sessions  # events arriving together share one
    assert spent["activity_task_scheduled"] == spent["timer_started"] == spent["timer_canceled"] == 0
    assert await kinds(welcome) == welcome_before

    await send(env, "deposit_succeeded", player_id, amount="20", method="card")

    async def converted() -> None:
        assert [(r["kind"], r["outcome"]) for r in (await journeys(env, player_id))["ended"]] == [
            ("welcome", "converted")]
    await eventually(converted, timeout=20)


async def test_a_new_players_welcome_starts_in_the_task_that_got_registered_on_the_journeys_queue(
    env: WorkflowEnvironment,
) -> None:
    """What keeps registration-to-action short under load: the player's workflow reads, stores and
    starts the welcome within its first workflow task, and the welcome's steps are queued apart
    from every other player's sessions."""
    player_id = treated_player(BRAND, "welcome")
    await send(env, "registered", player_id, country="MT", currency="EUR", birth_date="1990-01-01",
               consents={"email": True})
    welcome = await running(env, player_id, "welcome")
    history = await env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id).fetch_history()
    until_welcome: Counter[str] = Counter()
    for e in history.events:
        until_welcome[e.WhichOneof("attributes").removesuffix("_event_attributes")] += 1
        if e.HasField("start_child_workflow_execution_initiated_event_attributes"):
            break
    assert until_welcome["start_child_workflow_execution_initiated"] == 1
    assert until_welcome["workflow_task_completed"] == 1 and until_welcome["activity_task_scheduled"] == 0
    assert (await env.client.get_workflow_handle(welcome).describe()).task_queue == journey_task_queue(QUEUE)


async def test_a_deposits_vip_check_runs_inside_the_players_workflow_task(
    env: WorkflowEnvironment, player_id: str
) -> None:
    """Every deposit asks whether a VIP tier is due; asked as an activity of its own, that was one
    more workflow task and five more history events per deposit for the server."""
    await vip_candidate(env, player_id)
    player = await kinds(env.client.get_workflow_handle(PlayerRef(BRAND, player_id).workflow_id))
    assert player["start_child_workflow_execution_initiated"] >= 2  # welcome, then the VIP review
    assert player["activity_task_scheduled"] == 0


async def kinds(handle: Any) -> Counter[str]:
    """The history's events by kind: what the server wrote for this workflow."""
    history = await handle.fetch_history()
    return Counter(e.WhichOneof("attributes").removesuffix("_event_attributes") for e in history.events)
