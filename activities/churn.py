"""Training and scoring the churn model: the held-out judgement, and a score for every player.

Training as of a date D with horizon h never sees past D: it is judged on the snapshot at
D - h (whose outcomes are known by D) and fitted on weekly snapshots whose outcome windows
all end by D - h, so nothing it learnt from overlaps what it is judged on. It must beat both
baselines — days since last activity alone, and BG/NBD — on AUC to be used; otherwise the
previous model stays.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from adapters.churn_features import ChurnFeatures, FeatureTable
from adapters.churn_models import ChurnModels
from adapters.temporal import signal_player
from crm.bgnbd import BgNbd
from crm.churn import FEATURES, ChurnModel, evaluate, logistic, reason, sigmoid
from rules.registry import RuleRegistry

TRAINING_SNAPSHOTS = 4  # weekly, going back from the last one whose outcome is known before judging


class TrainRequest(BaseModel):
    as_of: date
    horizon_days: int = 30


class TrainReport(BaseModel):
    model_id: int
    horizon_days: int
    in_use: bool
    verdict: str
    train_dates: list[date]
    eval_date: date
    metrics: dict[str, Any]  # "model", "recency", "bgnbd": AUC, Brier, calibration


class Explanation(BaseModel):
    brand: str
    player_id: str
    as_of: date
    score: float
    signals: list[dict[str, Any]]  # feature, contribution (log-odds), words


class ScoreRequest(BaseModel):
    as_of: date
    brand: str | None = None
    with_rows: bool = False  # the CLI writes them out; the scheduled run needs only the summary


class ScoreSummary(BaseModel):
    model_id: int
    as_of: date
    players: int
    at_risk: int  # scored 0.5 or more
    rows: list[tuple[str, str, float, list[str]]] = []  # brand, player_id, score, top signals


class NoModel(Exception):
    """Nothing to score with: no trained model has beaten the baselines yet."""


class NotEnoughHistory(Exception):
    """Training needs churners and stayers in every snapshot: import more history first."""


class ChurnActivities:
    def __init__(self, features: ChurnFeatures, models: ChurnModels) -> None:
        self._features = features
        self._models = models

    @activity.defn(name="train_churn_model")
    async def train(self, request: TrainRequest) -> TrainReport:
        horizon = timedelta(days=request.horizon_days)
        eval_date = request.as_of - horizon
        train_dates = [eval_date - horizon - timedelta(weeks=k) for k in range(TRAINING_SNAPSHOTS)]
        tables = [await self._labelled(day, request.horizon_days) for day in train_dates]
        raw = {name: np.concatenate([t.columns[name] for t, _ in tables]) for name in tables[0][0].columns}
        churned = np.concatenate([y for _, y in tables])
        held_out, truth = await self._labelled(eval_date, request.horizon_days)

        model = ChurnModel.fit(raw, churned)
        metrics = {
            "model": evaluate(truth, model.predict(held_out.columns)),
            "recency": evaluate(truth, _recency_baseline(raw, churned, held_out.columns)),
            "bgnbd": evaluate(truth, _bgnbd_baseline(held_out.columns, request.horizon_days)),
        }
        best_baseline = max(metrics["recency"]["auc"], metrics["bgnbd"]["auc"])
        in_use = metrics["model"]["auc"] > best_baseline
        verdict = (f"in use: AUC {metrics['model']['auc']:.3f} beats the best baseline ({best_baseline:.3f})" if in_use
                   else f"not used: AUC {metrics['model']['auc']:.3f} does not beat the best baseline "
                        f"({best_baseline:.3f}); the previous model stays")
        model_id = await self._models.save(
            as_of=request.as_of, horizon_days=request.horizon_days, train_dates=train_dates, eval_date=eval_date,
            features=FEATURES, model=model, metrics=metrics, in_use=in_use, verdict=verdict)
        return TrainReport(model_id=model_id, horizon_days=request.horizon_days, in_use=in_use, verdict=verdict,
                           train_dates=train_dates, eval_date=eval_date, metrics=metrics)

    @activity.defn(name="score_churn")
    async def score(self, request: ScoreRequest) -> ScoreSummary:
        """Score every eligible player as of the date with the model in use, and keep the scores."""
        model_id, model = await self._model_in_use()
        table = await self._features.as_of(request.as_of, request.brand)
        scores = model.predict(table.columns) if len(table) else np.array([])
        signals = model.top_signals(table.columns) if len(table) else []
        rows = [(b, p, round(float(s), 4), t) for b, p, s, t in zip(table.brands, table.player_ids, scores, signals,
                                                                       strict=True)]
        await self._models.save_scores(model_id, request.as_of, rows)
        return ScoreSummary(model_id=model_id, as_of=request.as_of, players=len(rows),
                            at_risk=sum(1 for r in rows if r[2] >= 0.5), rows=rows if request.with_rows else [])

    async def _model_in_use(self) -> tuple[int, ChurnModel]:
        current = await self._models.in_use()
        if current is None:
            raise NoModel("no churn model in use yet: run `crm churn train` (it must beat the baselines)")
        return current[0], current[1]

    async def explain(self, brand: str, player_id: str, as_of: date) -> Explanation | None:
        """The player's score as of the date and what drives it, in words."""
        _, model = await self._model_in_use()
        table = await self._features.as_of(as_of, brand, player_id)
        if player_id not in table.player_ids:
            return None
        i = table.player_ids.index(player_id)
        one = {name: values[i:i + 1] for name, values in table.columns.items()}
        pushes = {f: float(v[0]) for f, v in model.contributions(one).items()}
        row = table.row(i)
        signals = [{"feature": f, "contribution": round(pushes[f], 3), "words": reason(f, row)}
                   for f in sorted(pushes, key=pushes.get, reverse=True)]  # type: ignore[arg-type]
        return Explanation(brand=brand, player_id=player_id, as_of=as_of,
                           score=float(model.predict(one)[0]), signals=signals)

    async def _labelled(self, day: date, horizon_days: int) -> tuple[FeatureTable, np.ndarray]:
        table = await self._features.as_of(day)
        labels = await self._features.labels(table, horizon_days)
        if len(table) < 20 or labels.min() == labels.max():
            raise NotEnoughHistory(f"the snapshot of {day} has {len(table)} players and "
                                   f"{int(labels.sum())} churners: not enough history to train on")
        return table, labels


def _recency_baseline(raw: dict[str, np.ndarray], churned: np.ndarray, held_out: dict[str, np.ndarray]) -> np.ndarray:
    """Days since last activity alone, as a logistic regression fitted on the same training data."""
    def design(columns: dict[str, np.ndarray]) -> np.ndarray:
        return np.column_stack([np.ones(len(columns["days_since_active"])), np.log1p(columns["days_since_active"])])
    return sigmoid(design(held_out) @ logistic(design(raw), churned))


def _bgnbd_baseline(held_out: dict[str, np.ndarray], horizon_days: int) -> np.ndarray:
    """BG/NBD fitted on the players' active days: the probability of no activity in the horizon."""
    history = (held_out["repeat_days"], held_out["last_repeat_at"], held_out["observed_days"])
    return BgNbd.fit(*history).p_none(horizon_days, *history)


class CrossingsRequest(BaseModel):
    brand: str
    as_of: date
    limit: int = 500


class CrossingsPage(BaseModel):
    signalled: int
    without_workflow: int  # scored from imported history, never seen live: nothing to tell
    more: bool


class ChurnSignalling:
    """Telling PlayerWorkflows that their player's risk crossed the brand's threshold upward."""

    def __init__(self, models: ChurnModels, registry: RuleRegistry, client: Client) -> None:
        self._models = models
        self._registry = registry
        self._client = client

    @activity.defn(name="signal_churn_crossings")
    async def signal_crossings(self, request: CrossingsRequest) -> CrossingsPage:
        """One page of crossings; each is marked once sent, so a retry or the next page goes on from there."""
        threshold = self._registry.current().book.for_brand(request.brand).config.churn.threshold
        found = await self._models.crossings(request.brand, request.as_of, float(threshold), request.limit)
        without = 0
        for row in found:
            top = row["top_signals"][0] if row["top_signals"] else "none"
            if not await signal_player(self._client, request.brand, row["player_id"], "churn_risk",
                                       {"risk": round(row["score"], 4), "top_signal": top}):
                without += 1
            activity.heartbeat(row["player_id"])
        await self._models.mark_signalled(request.brand, request.as_of, [r["player_id"] for r in found])
        return CrossingsPage(signalled=len(found) - without, without_workflow=without, more=len(found) == request.limit)
