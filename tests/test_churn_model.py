"""Training on a synthetic population whose churners are known: honest evaluation against the baselines."""

from __future__ import annotations

import asyncio
import csv
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from churn_population import write_population
from support import CRM

from activities.churn import ChurnActivities, NotEnoughHistory, TrainRequest
from adapters.churn_features import ChurnFeatures
from adapters.churn_models import ChurnModels
from adapters.store import PlayerStore
from crm.churn import FEATURES, ChurnModel, auc
from crm.churn import features as churn_features

# Far from every other test's dates, so that training (which reads every brand) sees only these.
FADING_END = date(2024, 3, 1)
QUIET_END = date(2023, 1, 1)


@pytest.fixture(scope="module")
async def fading(store: PlayerStore) -> None:
    await write_population(store, "churnlab", FADING_END, players=1500, seed=7)


async def test_the_model_beats_recency_and_bgnbd_on_a_later_window_and_is_used(store: PlayerStore,
                                                                                fading: None) -> None:
    activities = ChurnActivities(ChurnFeatures(store.pool), ChurnModels(store.pool))
    report = await activities.train(TrainRequest(as_of=FADING_END, horizon_days=30))

    assert report.eval_date == FADING_END - timedelta(days=30)
    assert all(d + timedelta(days=30) <= report.eval_date for d in report.train_dates)  # no overlap with judging
    model, recency, bgnbd = (report.metrics[k] for k in ("model", "recency", "bgnbd"))
    assert model["auc"] > recency["auc"] + 0.05 and model["auc"] > bgnbd["auc"] + 0.05, report.metrics
    assert model["brier"] < recency["brier"]
    assert report.in_use and report.verdict.startswith("in use")
    calibration = model["calibration"]
    assert sum(b["players"] for b in calibration) == model["players"]
    assert all(abs(b["predicted"] - b["observed"]) < 0.2 for b in calibration if b["players"] >= 50), calibration
    model_id, _, _ = await ChurnModels(store.pool).in_use()  # type: ignore[misc]
    assert model_id == report.model_id


async def test_each_fading_signal_alone_points_at_the_churners(store: PlayerStore, fading: None) -> None:
    features = ChurnFeatures(store.pool)
    table = await features.as_of(FADING_END - timedelta(days=60))
    churned = await features.labels(table, 30)
    values = churn_features(table.columns)
    for signal in ("falling_frequency", "falling_stake", "failed_deposits", "game_switch"):
        assert auc(churned, values[signal]) > 0.6, signal
    # What the model says drives each churner's score is one of the signals it was given.
    fitted = ChurnModel.fit(table.columns, churned)
    top = fitted.top_signals(table.columns)
    assert all(top[i] and set(top[i]) <= set(FEATURES) for i in np.flatnonzero(churned == 1))


async def test_a_model_that_cannot_beat_recency_is_not_used_and_the_previous_one_stays(store: PlayerStore,
                                                                                     fading: None) -> None:
    models = ChurnModels(store.pool)
    activities = ChurnActivities(ChurnFeatures(store.pool), models)
    previous = await activities.train(TrainRequest(as_of=FADING_END))
    # Here churners leave without fading, none of them in the 8 days before the held-out
    # snapshot, while every stayer plays almost daily: recency alone is perfect there.
    judged = QUIET_END - timedelta(days=30)
    await write_population(store, "quietlab", QUIET_END, players=400, seed=11, churners_fade=False,
                           gone_between=(judged - timedelta(days=81), judged - timedelta(days=8)))
    report = await activities.train(TrainRequest(as_of=QUIET_END))
    assert report.metrics["recency"]["auc"] == 1.0
    assert not report.in_use and "the previous model stays" in report.verdict
    model_id, _, _ = await models.in_use()  # type: ignore[misc]
    assert model_id == previous.model_id


async def test_training_without_enough_history_says_so(store: PlayerStore) -> None:
    activities = ChurnActivities(ChurnFeatures(store.pool), ChurnModels(store.pool))
    with pytest.raises(NotEnoughHistory, match="not enough history"):
        await activities.train(TrainRequest(as_of=date(2019, 1, 1)))


def test_auc_counts_ties_as_half() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    assert auc(y, np.array([0.9, 0.1, 0.8, 0.2])) == 1.0
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert auc(y, np.array([0.1, 0.9, 0.2, 0.8])) == 0.0


async def test_crm_churn_trains_scores_and_explains_in_words(database_url: str, store: PlayerStore, fading: None,
                                                              tmp_path: Path) -> None:
    env = {**os.environ, "CRM_DATABASE_URL": database_url}

    async def crm(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(CRM, "churn", *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await crm("train", "--as-of", str(FADING_END))
    assert code == 0, err
    assert "judged on the later snapshot 2024-01-31" in out and "in use: AUC" in out
    for row in ("model", "days since last activity", "BG/NBD P(no activity)", "calibration (model)"):
        assert f"  {row}" in out, out

    scores = tmp_path / "scores.csv"
    code, out, err = await crm("score", "--as-of", str(FADING_END), "--brand", "churnlab", "--out", str(scores))
    assert code == 0, err
    with scores.open() as file:
        rows = list(csv.DictReader(file))
    assert rows and set(rows[0]) == {"brand", "player_id", "score", "top_signals"}
    assert f"scored {len(rows)} players as of {FADING_END}" in out
    stored = await store.fetch("SELECT player_id, score::float8 FROM churn_scores WHERE brand = 'churnlab' AND as_of = $1",
                               FADING_END)
    assert {r["player_id"]: round(r["score"], 4) for r in stored} == {r["player_id"]: float(r["score"]) for r in rows}

    riskiest = max(rows, key=lambda r: float(r["score"]))
    code, out, err = await crm("explain", "churnlab", riskiest["player_id"], "--as-of", str(FADING_END))
    assert code == 0, err
    assert out.startswith(f"churnlab {riskiest['player_id']}: churn risk ")
    assert any(words in out for words in ("sessions per week fell from", "average stake per session fell from",
                                          "failed deposits not followed", "game mix changed"))

    code, _, err = await crm("explain", "churnlab", "nobody", "--as-of", str(FADING_END))
    assert code == 1 and "is not scored" in err
