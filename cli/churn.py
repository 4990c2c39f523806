"""`crm churn train|score|explain`: the churn model from the operator's terminal."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path
from typing import Any

from activities.churn import ChurnActivities, NoModel, NotEnoughHistory, ScoreRequest, TrainReport, TrainRequest
from adapters.churn_features import ChurnFeatures
from adapters.churn_models import ChurnModels
from cli.database import open_store
from crm.settings import Settings


async def _run(settings: Settings, work: Any) -> int:
    async with open_store(settings) as store:
        await store.migrate()  # a database that has only seen `crm import` has no churn tables yet
        try:
            return await work(ChurnActivities(ChurnFeatures(store.pool), ChurnModels(store.pool)))
        except (NotEnoughHistory, NoModel) as missing:
            print(f"crm churn: {missing}", file=sys.stderr)
            return 1


async def train(settings: Settings, as_of: date, horizon_days: int) -> int:
    async def work(churn: ChurnActivities) -> int:
        report = await churn.train(TrainRequest(as_of=as_of, horizon_days=horizon_days))
        print(render_report(report))
        return 0 if report.in_use else 3
    return await _run(settings, work)


def render_report(report: TrainReport) -> str:
    m = report.metrics
    lines = [
        f"churn model #{report.model_id}: churned = no real-money play or deposit in the next "
        f"{report.horizon_days} days",
        f"  fitted on snapshots {', '.join(str(d) for d in report.train_dates)}",
        f"  judged on the later snapshot {report.eval_date}: {m['model']['players']} players, "
        f"{m['model']['churn_rate']:.1%} churned",
        "",
        f"  {'':<28} {'AUC':>6} {'Brier':>7}",
    ]
    for key, name in (("model", "model"), ("recency", "days since last activity"), ("bgnbd", "BG/NBD P(no activity)")):
        lines.append(f"  {name:<28} {m[key]['auc']:>6.3f} {m[key]['brier']:>7.4f}")
    lines += ["", "  calibration (model): predicted against observed churn",
              f"  {'band':<11} {'players':>8} {'predicted':>10} {'observed':>9}"]
    for band in m["model"]["calibration"]:
        lines.append(f"  {band['from']:.1f}–{band['to']:.1f}    {band['players']:>8} {band['predicted']:>10.1%} "
                     f"{band['observed']:>9.1%}")
    lines += ["", f"  {report.verdict}"]
    return "\n".join(lines)


async def score(settings: Settings, as_of: date, brand: str | None, out: Path | None) -> int:
    async def work(churn: ChurnActivities) -> int:
        summary = await churn.score(ScoreRequest(as_of=as_of, brand=brand, with_rows=out is not None))
        if out is not None:
            with out.open("w", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(["brand", "player_id", "score", "top_signals"])
                writer.writerows((b, p, f"{s:.4f}", " ".join(t)) for b, p, s, t in summary.rows)
        print(f"scored {summary.players} players as of {summary.as_of} with model #{summary.model_id}: "
              f"{summary.at_risk} at risk (0.5 or more)" + (f"; wrote {out}" if out else ""))
        return 0
    return await _run(settings, work)


async def explain(settings: Settings, brand: str, player_id: str, as_of: date) -> int:
    async def work(churn: ChurnActivities) -> int:
        explained = await churn.explain(brand, player_id, as_of)
        if explained is None:
            print(f"player {player_id!r} of {brand!r} is not scored as of {as_of}: no play in the 30 days before, "
                  "or protected", file=sys.stderr)
            return 1
        print(f"{brand} {player_id}: churn risk {explained.score:.0%} as of {as_of}")
        for signal in explained.signals:
            direction = "raises" if signal["contribution"] > 0 else "lowers"
            print(f"  {direction} {abs(signal['contribution']):.2f}  {signal['words']}")
        return 0
    return await _run(settings, work)
