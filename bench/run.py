"""The benchmark suite: every case, each beside its baseline from the same run.

    make bench                                   # full sizes, about two hours on 2 cores (most of it
                                                 # opening 100,000 player workflows)
    .venv/bin/python bench/run.py --smoke        # tiny sizes, to check the harness (CI runs it)

Writes bench/results.json (or --out DIR/results.json) and a markdown table, results.md, beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bulk_import, churn_scoring, decisions, live_events, worker_memory  # noqa: E402
from bench.results import RESULTS, save_case  # noqa: E402

FULL = {"live_events": (100, 300), "bulk_import": (1_000_000, 50_000), "decisions": (2000, 5),
        "churn_scoring": [100_000, 1_000_000], "worker_memory": [10_000, 100_000]}
SMOKE = {"live_events": (10, 3), "bulk_import": (2000, 50), "decisions": (50, 1), "churn_scoring": [500],
         "worker_memory": [20]}


def run_all(sizes: dict[str, Any], only: set[str] | None = None) -> list[dict[str, Any]]:
    cases: dict[str, Callable[[], dict[str, Any]]] = {
        "live_events": lambda: asyncio.run(live_events.main(*sizes["live_events"])),
        "bulk_import": lambda: asyncio.run(bulk_import.main(*sizes["bulk_import"])),
        "decisions": lambda: decisions.main(*sizes["decisions"]),
        "churn_scoring": lambda: asyncio.run(churn_scoring.main(sizes["churn_scoring"])),
        "worker_memory": lambda: worker_memory.main(sizes["worker_memory"]),
    }
    results = []
    for name, case in cases.items():
        if only and name not in only:
            continue
        print(f"-- {name}", flush=True)
        results.append(case())
    return results


def table(cases: list[dict[str, Any]]) -> str:
    """One row per figure: what was measured, ours, the baseline, the ratio."""
    rows = ["| case | measured | crm | baseline | ratio |", "| --- | --- | --- | --- | --- |"]
    for c in cases:
        match c["name"]:
            case "live_events":
                action = c["trigger_to_action_ms"] or {"p50": 0, "p99": 0}
                cpu = c.get("cpu_ms_per_event")
                spent = f"; CPU per event: worker {cpu['worker']:g} ms, dev server {cpu['temporal']:g} ms" if cpu else ""
                rows.append(f"| live events | events/s sustained into PostgreSQL, {c['offered_per_s']:g}/s offered for "
                            f"{c['seconds']:g} s, {c.get('registration_share', 0.05):.0%} new players; p99 to PostgreSQL "
                            f"{c['event_to_postgres_ms']['p99']:,} ms; registration to the welcome's first action p50 "
                            f"{action['p50']:,} ms, p99 {action['p99']:,} ms{spent} | {c['crm_sustained_per_s']} | "
                            f"{c['baseline_bare_signals_per_s']} bare signals/s | {c['ratio_crm_to_baseline']} |")
            case "bulk_import":
                rows.append(f"| bulk import | events/s, {c['events']:,} events | {c['crm_import_per_s']:,} | "
                            f"{c['baseline_psql_copy_per_s']:,} (psql \\copy) | {c['ratio_crm_to_baseline']} |")
            case "decisions":
                rows.append(f"| decisions | per s, shipped rules | {c['full_decisions_per_s']:,} | "
                            f"{c['raw_durable_rules_per_s']:,} (raw durable_rules) | "
                            f"{c['cost_decide_over_raw_all_facts']}x time |")
            case "churn_scoring":
                for r in c["runs"]:
                    rows.append(f"| churn scoring | s for {r['players']:,} players, peak {r['peak_rss_mb']} MB | "
                                f"{r['crm_features_score_store_s']} | {r['baseline_grouped_read_s']} (grouped read) | "
                                f"{r['ratio_crm_to_baseline']} |")
            case "worker_memory":
                for r in c["runs"]:
                    rows.append(f"| worker memory | peak MB / CPU s, {r['players']:,} open workflows | "
                                f"{r['crm']['peak_rss_mb']} / {r['crm']['cpu_s']} | {r['baseline']['peak_rss_mb']} / "
                                f"{r['baseline']['cpu_s']} (bare workflows) | {r['rss_ratio']} / {r['cpu_ratio']} |")
    ran_on = sorted({(c["machine"], c["name"], c.get("measured_at", "")) for c in cases})
    notes = [f"- {name}, {at}: {where}" for where, name, at in ran_on]
    return "\n".join(rows) + "\n\nMeasured on:\n\n" + "\n".join(notes) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: the harness works, figures mean nothing")
    parser.add_argument("--only", action="append", help="run just this case (repeatable)")
    parser.add_argument("--out", type=Path, help="folder for results.json and results.md (default: bench/)")
    args = parser.parse_args()
    results_file = (args.out / "results.json") if args.out else RESULTS
    for case in run_all(SMOKE if args.smoke else FULL, set(args.only or [])):
        save_case(case, results_file)
    cases = json.loads(results_file.read_text())["cases"]
    (results_file.parent / "results.md").write_text(table(cases))
    print(table(cases))
