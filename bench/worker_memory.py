"""Worker memory and CPU with many open player workflows (the sticky cache keeps it bounded).

    .venv/bin/python bench/worker_memory.py [--players 10000] [--players 100000]

For each size, two fresh processes, each with its own Temporal dev server, open that many
workflows with one signal-with-start each and wait until every one has handled it:

- baseline: a workflow that only counts signals (BareCounter);
- crm: PlayerWorkflow with a `logged_in` event (a returning player: no journey starts),
  recorded in PostgreSQL.

Each process reports its peak resident memory and the CPU seconds it used (worker and sender
share it, alike in both). Stored as case "worker_memory" in bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import save_case  # noqa: E402

CONCURRENCY = 64


async def _open(kind: str, players: int) -> dict[str, Any]:
    import pgserver
    from temporalio.common import WorkflowIDConflictPolicy
    from temporalio.worker import Worker

    from adapters.event_sender import EventSender
    from adapters.reference_platform.server import reference_platform
    from adapters.store import PlayerStore
    from adapters.temporal import ensure_search_attributes
    from adapters.temporal_dev_server import TemporalDevServer, free_port
    from bench.live_events import BareCounter
    from crm.settings import Settings
    from rules.registry import SHIPPED_RULES, RuleRegistry
    from worker import build_worker

    with tempfile.TemporaryDirectory() as state:
        server = TemporalDevServer.on_free_ports(Path(state) / "temporal.db")
        client = await server.start()
        slots = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()
        try:
            await ensure_search_attributes(client)
            if kind == "baseline":
                async def one(n: int) -> None:
                    async with slots:
                        await client.start_workflow("BareCounter", id=f"bare:{n}", task_queue="bench-bare",
                                                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                                                    start_signal="event", start_signal_args=[n])
                async with Worker(client, task_queue="bench-bare", workflows=[BareCounter]):
                    await asyncio.gather(*(one(n) for n in range(players)))
                    await _settle(client, "WorkflowType = 'BareCounter' AND ExecutionStatus = 'Running'", players)
                return _usage(kind, players, started)
            pg = pgserver.get_server(Path(state) / "pg", cleanup_mode="stop")
            store = await PlayerStore.connect(pg.get_uri())
            try:
                await store.migrate()
                sender = EventSender(client, "bench-crm")
                async with reference_platform(port=free_port(), smtp_port=free_port()) as platform, build_worker(
                        client, store, "bench-crm", RuleRegistry(SHIPPED_RULES),
                        Settings(platform_url=platform.url, smtp_host=platform.smtp_host, smtp_port=platform.smtp_port)):
                    async def register(n: int) -> None:
                        async with slots:
                            await sender.send({"event_id": f"r{n}", "type": "logged_in", "brand": "bench",
                                               "player_id": f"p{n}", "occurred_at": datetime.now(UTC).isoformat()})
                    await asyncio.gather(*(register(n) for n in range(players)))
                    while await store.pool.fetchval("SELECT count(*) FROM events") < players:
                        await asyncio.sleep(0.5)
                return _usage(kind, players, started)
            finally:
                await store.close()
                pg.cleanup()
        finally:
            server.stop()


async def _settle(client: Any, query: str, players: int) -> None:
    """Until every workflow has started and handled its first task."""
    while (await client.count_workflows(query)).count < players:
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)


def _usage(kind: str, players: int, started: float) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"case": kind, "players": players, "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1)}


def measure(kind: str, players: int) -> dict[str, Any]:
    """One case in a fresh process, so that its memory is its own."""
    out = subprocess.run([sys.executable, __file__, "--case", kind, "--players", str(players)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(sizes: list[int]) -> dict[str, Any]:
    runs = []
    for players in sizes:
        baseline, crm = measure("baseline", players), measure("crm", players)
        runs.append({"players": players, "baseline": baseline, "crm": crm,
                     "rss_ratio": round(crm["peak_rss_mb"] / baseline["peak_rss_mb"], 2),
                     "cpu_ratio": round(crm["cpu_s"] / max(baseline["cpu_s"], 0.1), 2)})
    return {"name": "worker_memory", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, action="append", help="open workflows (default 10000)")
    parser.add_argument("--case", choices=["baseline", "crm"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(asyncio.run(_open(args.case, (args.players or [10_000])[0]))))
        sys.exit(0)
    result = main(args.players or [10_000])
    print(f"{'players':>8} {'case':<9} {'seconds':>8} {'peak MB':>8} {'CPU s':>7}")
    for r in result["runs"]:
        for case in ("baseline", "crm"):
            c = r[case]
            print(f"{r['players']:>8} {case:<9} {c['seconds']:>8} {c['peak_rss_mb']:>8} {c['cpu_s']:>7}")
        print(f"{'':>8} crm/baseline: memory {r['rss_ratio']}x, CPU {r['cpu_ratio']}x")
    save_case(result)
