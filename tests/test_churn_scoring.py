"""Scheduled churn scoring on the dev server: upward crossings reach the player's workflow, once."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from support import TASK_QUEUE, event, eventually
from temporalio.client import Client

from adapters.churn_models import ChurnModels
from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from adapters.temporal import ensure_churn_schedules
from crm.churn import FEATURES, ChurnModel
from crm.players import PlayerRef
from workflows.churn_scoring import ChurnScoringWorkflow, ScoringOutcome, ScoringRun

TODAY = datetime.now(UTC).date()


def falling_frequency_only() -> ChurnModel:
    """A model that reads one signal: log-odds -2 + 3 x falling_frequency."""
    return ChurnModel(intercept=-2.0, coefficients={f: 3.0 if f == "falling_frequency" else 0.0 for f in FEATURES},
                      means={f: 0.0 for f in FEATURES}, scales={f: 1.0 for f in FEATURES})


async def played(store: PlayerStore, brand: str, player_id: str, days_ago: list[int]) -> None:
    records = [(brand, player_id, TODAY - timedelta(days=ago), 1, Decimal(20)) for ago in days_ago]
    async with store.pool.acquire() as connection:
        await connection.copy_records_to_table("player_days", records=records,
                                               columns=("brand", "player_id", "day", "sessions", "stake"))


async def test_scoring_signals_upward_crossings_once_and_skips_the_protected(
    client: Client, sender: EventSender, store: PlayerStore
) -> None:
    brand = f"sched-{uuid.uuid4().hex[:8]}"
    await ChurnModels(store.pool).save(as_of=TODAY, horizon_days=30, train_dates=[TODAY], eval_date=TODAY,
                                       features=FEATURES, model=falling_frequency_only(), metrics={}, in_use=True,
                                       verdict="in use: set by the test")
    weekly_then_nothing, weekly = [40, 33, 26, 19], [40, 33, 26, 19, 12, 5]  # 1/week before, none or 1/week lately
    for player_id, days in (("fader", weekly_then_nothing), ("steady", weekly), ("flagged", weekly_then_nothing),
                            ("ghost", weekly_then_nothing)):
        await played(store, brand, player_id, days)
        if player_id != "ghost":  # imported history only: no live workflow to tell
            await sender.send(event("registered", brand, player_id, country="MT", currency="EUR",
                                    occurred_at=(datetime.now(UTC) - timedelta(days=60)).isoformat()))
    await sender.send(event("rg_flagged", brand, "flagged", occurred_at=datetime.now(UTC).isoformat(),
                            marker="late_night_play", severity="low"))

    async def flag_stored() -> None:
        rows = await store.fetch("SELECT rg_severity FROM players WHERE brand = $1 AND player_id = 'flagged'", brand)
        assert rows and rows[0]["rg_severity"] == "low"

    await eventually(flag_stored, timeout=20)

    async def score(run_id: str) -> ScoringOutcome:
        return await client.execute_workflow(ChurnScoringWorkflow.run, ScoringRun(brand=brand, as_of=TODAY),
                                             id=f"churn-scoring:{brand}:{run_id}", task_queue=TASK_QUEUE)

    first = await score("1")
    assert (first.scored, first.at_risk, first.signalled, first.without_workflow) == (4, 3, 1, 1)
    fader = client.get_workflow_handle(PlayerRef(brand, "fader").workflow_id)

    async def told() -> None:
        profile = await fader.query("profile")
        # 4 sessions in the 42 days before the last 14, none since: log-odds -2 + 3 ln((4/6 + 0.5) / 0.5)
        expected = 1 / (1 + math.exp(2 - 3 * math.log((4 * 7 / 42 + 0.5) / 0.5)))
        assert Decimal(profile["churn_risk"]) == round(Decimal(expected), 4)
        assert profile["churn_top_signal"] == "falling_frequency"
        assert "reactivation" in (await fader.query("journeys"))["running"]

    await eventually(told, timeout=20)
    steady = await client.get_workflow_handle(PlayerRef(brand, "steady").workflow_id).query("profile")
    flagged = await client.get_workflow_handle(PlayerRef(brand, "flagged").workflow_id).query("profile")
    assert steady["churn_risk"] is None and flagged["churn_risk"] is None

    again = await score("2")  # a re-run of the day (a schedule catching up) tells nobody twice
    assert (again.scored, again.signalled, again.without_workflow) == (4, 0, 0)


async def test_without_a_model_in_use_scoring_says_so_and_fails_nothing(client: Client, store: PlayerStore,
                                                                         worker: None) -> None:
    await store.pool.execute("UPDATE churn_models SET in_use = false WHERE in_use")
    try:
        outcome = await client.execute_workflow(ChurnScoringWorkflow.run, ScoringRun(brand="acme", as_of=TODAY),
                                                id=f"churn-scoring:acme:{uuid.uuid4().hex}", task_queue=TASK_QUEUE)
    finally:
        await store.pool.execute("UPDATE churn_models SET in_use = true WHERE verdict LIKE 'in use%'")
    assert outcome.scored == 0 and "no churn model in use" in outcome.note


async def test_each_brand_gets_a_schedule_at_its_own_interval(client: Client) -> None:
    brand = f"sched-{uuid.uuid4().hex[:8]}"
    created = await ensure_churn_schedules(client, {brand: timedelta(days=1)}, TASK_QUEUE)
    assert created == [f"churn-scoring:{brand}"]
    assert await ensure_churn_schedules(client, {brand: timedelta(days=1)}, TASK_QUEUE) == []  # nothing to do
    assert await ensure_churn_schedules(client, {brand: timedelta(hours=6)}, TASK_QUEUE) == [f"churn-scoring:{brand}"]
    described: Any = await client.get_schedule_handle(f"churn-scoring:{brand}").describe()
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=6)]
    assert described.schedule.action.workflow == "ChurnScoringWorkflow"
    await client.get_schedule_handle(f"churn-scoring:{brand}").delete()


async def test_only_a_score_that_rises_through_the_threshold_is_a_crossing(store: PlayerStore) -> None:
    brand, models = f"sched-{uuid.uuid4().hex[:8]}", ChurnModels(store.pool)
    model_id = await models.save(as_of=TODAY, horizon_days=30, train_dates=[TODAY], eval_date=TODAY,
                                 features=FEATURES, model=falling_frequency_only(), metrics={}, in_use=False,
                                 verdict="not used: set by the test")
    yesterday = TODAY - timedelta(days=1)
    await models.save_scores(model_id, yesterday, [(brand, "rose", 0.3, []), (brand, "stayed-high", 0.7, []),
                                                   (brand, "fell", 0.8, [])])
    await models.save_scores(model_id, TODAY, [(brand, "rose", 0.6, ["falling_stake"]), (brand, "stayed-high", 0.9, []),
                                               (brand, "fell", 0.2, []), (brand, "first-seen", 0.55, []),
                                               (brand, "just-below", 0.4999, [])])
    crossed = await models.crossings(brand, TODAY, 0.5, limit=100)
    assert [(c["player_id"], c["top_signals"]) for c in crossed] == [("first-seen", []), ("rose", ["falling_stake"])]
    await models.mark_signalled(brand, TODAY, ["first-seen"])
    assert [c["player_id"] for c in await models.crossings(brand, TODAY, 0.5, limit=100)] == ["rose"]
