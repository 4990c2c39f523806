"""Churn features and scoring for a whole population, with peak memory.

    .venv/bin/python bench/churn_scoring.py [--players 100000] [--players 1000000]

For each size, on a fresh embedded PostgreSQL, generates (in SQL) eight weeks of daily
aggregates for that many players, then measures in the same run:

- baseline: one grouped pass over the same rows (`sum(sessions), sum(stake)` per player) —
  the floor of reading them;
- crm: `ChurnFeatures.as_of` (the feature SQL) + `ChurnModel.predict` and top signals +
  `ChurnModels.save_scores` (COPY into `churn_scores`): what the daily run does.

Prints seconds for both, the ratio, and this process's peak resident memory. Stored as case
"churn_scoring" in bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402

from adapters.churn_features import ChurnFeatures  # noqa: E402
from adapters.churn_models import ChurnModels  # noqa: E402
from adapters.store import PlayerStore  # noqa: E402
from bench.results import save_case  # noqa: E402
from crm.churn import FEATURES, ChurnModel  # noqa: E402

AS_OF = date(2026, 6, 1)

_GENERATE = """
INSERT INTO player_days (brand, player_id, day, sessions, stake, win, deposits, deposit_amount)
SELECT 'bench', 'p' || p, $2::date - d, 1 + (random() * 2)::int, s.stake, s.stake * random(),
       (random() < 0.2)::int, CASE WHEN random() < 0.2 THEN 50 ELSE 0 END
FROM generate_series(1, $1::int) AS p, generate_series(1, 56) AS d,
     LATERAL (SELECT round((5 + random() * 50)::numeric, 2) AS stake) AS s
WHERE random() < 0.35
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(players: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        store = await PlayerStore.connect(server.get_uri())
        try:
            await store.migrate()
            started = time.perf_counter()
            await store.pool.execute(_GENERATE, players, AS_OF)
            await store.pool.execute("ANALYZE player_days")
            generated = time.perf_counter() - started
            rows = await store.pool.fetchval("SELECT count(*) FROM player_days")

            started = time.perf_counter()
            await store.pool.fetch("SELECT player_id, sum(sessions), sum(stake) FROM player_days"
                                   " WHERE day < $1 GROUP BY player_id", AS_OF)
            baseline = time.perf_counter() - started

            model = ChurnModel(intercept=-1.0, coefficients={f: 0.3 for f in FEATURES},
                               means={f: 0.0 for f in FEATURES}, scales={f: 1.0 for f in FEATURES})
            models = ChurnModels(store.pool)
            model_id = await models.save(as_of=AS_OF, horizon_days=30, train_dates=[AS_OF], eval_date=AS_OF,
                                         features=FEATURES, model=model, metrics={}, in_use=True, verdict="bench")
            started = time.perf_counter()
            table = await ChurnFeatures(store.pool).as_of(AS_OF)
            features_seconds = time.perf_counter() - started
            scores, signals = model.predict(table.columns), model.top_signals(table.columns)
            await models.save_scores(model_id, AS_OF, list(zip(table.brands, table.player_ids,
                                                               map(float, scores), signals, strict=True)))
            crm_seconds = time.perf_counter() - started
        finally:
            await store.close()
            server.cleanup()
    return {"players": players, "scored": len(table), "player_day_rows": rows, "generated_s": round(generated, 1),
            "baseline_grouped_read_s": round(baseline, 2), "crm_features_s": round(features_seconds, 2),
            "crm_features_score_store_s": round(crm_seconds, 2), "ratio_crm_to_baseline": round(crm_seconds / baseline, 2),
            "peak_rss_mb": round(peak_mb())}


async def main(sizes: list[int]) -> dict:
    runs = [await measure(n) for n in sizes]
    return {"name": "churn_scoring", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": "2-core development machine, embedded PostgreSQL 16 on the same host", "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, action="append", help="population sizes (default 100000)")
    args = parser.parse_args()
    result = asyncio.run(main(args.players or [100_000]))
    print(f"{'players':>9} {'rows':>10} {'baseline s':>11} {'features s':>11} {'+score+store s':>15} {'ratio':>6} {'peak MB':>8}")
    for r in result["runs"]:
        print(f"{r['players']:>9} {r['player_day_rows']:>10} {r['baseline_grouped_read_s']:>11} {r['crm_features_s']:>11} "
              f"{r['crm_features_score_store_s']:>15} {r['ratio_crm_to_baseline']:>6} {r['peak_rss_mb']:>8}")
    save_case(result)
