"""Event ingest: how fast player events go from the platform into PostgreSQL.

    .venv/bin/python bench/ingest.py [--players 40] [--events 25] [--concurrency 32]

Runs its own Temporal dev server (SQLite file, WAL) and embedded PostgreSQL, one worker,
and sends the same number of signals twice in the same process:

- baseline: bare signal-with-start to a workflow that only counts signals;
- crm: signal-with-start of real events to PlayerWorkflow, which validates, folds and
  records them in batches.

It prints events/s for both and their ratio, plus the latency from sending an event to its
row being committed in PostgreSQL (p50/p95/p99). The result is stored as case "ingest" in
bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from adapters.event_sender import EventSender  # noqa: E402
from adapters.reference_platform.server import reference_platform  # noqa: E402
from adapters.store import PlayerStore  # noqa: E402
from adapters.temporal import ensure_search_attributes  # noqa: E402
from adapters.temporal_dev_server import TemporalDevServer, free_port  # noqa: E402
from bench.results import save_case  # noqa: E402
from crm.settings import Settings  # noqa: E402
from rules.registry import SHIPPED_RULES, RuleRegistry  # noqa: E402
from worker import build_worker  # noqa: E402


@workflow.defn(name="BareCounter", sandboxed=False)
class BareCounter:
    """The cheapest workflow that takes signals: the floor any real workflow is measured against."""

    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def event(self, _: Any) -> None:
        self.count += 1


def _events(players: int, per_player: int) -> list[list[dict[str, Any]]]:
    run = uuid.uuid4().hex[:6]
    out = []
    for p in range(players):
        player_id = f"bench-{run}-{p}"
        stream = [{"event_id": f"{player_id}-reg", "type": "registered", "brand": "bench", "player_id": player_id,
                   "occurred_at": "2026-11-30T10:00:00Z", "country": "MT", "currency": "EUR"}]
        for i in range(per_player - 1):
            stream.append({"event_id": f"{player_id}-{i}", "type": "session_ended", "brand": "bench",
                           "player_id": player_id, "occurred_at": "2026-11-30T11:00:00Z",
                           "started_at": "2026-11-30T10:30:00Z", "game_category": "slots", "rounds": 40,
                           "stake": "20.00", "win": "18.50"})
        out.append(stream)
    return out


async def _drive(streams: list[list[dict[str, Any]]], send: Any, concurrency: int) -> tuple[float, dict[str, float]]:
    """Send each player's events in order, players in parallel; return seconds and send times."""
    sent_at: dict[str, float] = {}
    slots = asyncio.Semaphore(concurrency)

    async def one_player(stream: list[dict[str, Any]]) -> None:
        async with slots:
            for e in stream:
                sent_at[e["event_id"]] = time.time()
                await send(e)

    started = time.perf_counter()
    await asyncio.gather(*(one_player(s) for s in streams))
    return time.perf_counter() - started, sent_at


async def main(players: int, per_player: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        server = TemporalDevServer(db_file=Path(state) / "temporal.db", port=free_port(), ui_port=free_port(),
                                   http_port=free_port())
        client = await server.start()
        pg = pgserver.get_server(Path(state) / "pg", cleanup_mode="delete")
        store = await PlayerStore.connect(pg.get_uri())
        try:
            await store.migrate()
            await ensure_search_attributes(client)
            total = players * per_player

            async with Worker(client, task_queue="bench-bare", workflows=[BareCounter]):
                async def bare(e: dict[str, Any]) -> None:
                    await client.start_workflow(
                        "BareCounter", id=f"bare:{e['player_id']}", task_queue="bench-bare",
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                        start_signal="event", start_signal_args=[e],
                    )
                bare_seconds, _ = await _drive(_events(players, per_player), bare, concurrency)

            sender = EventSender(client, "bench-crm")
            async with reference_platform(port=free_port(), smtp_port=free_port()) as platform, build_worker(
                client, store, "bench-crm", RuleRegistry(SHIPPED_RULES),
                Settings(platform_url=platform.url, smtp_host=platform.smtp_host, smtp_port=platform.smtp_port),
            ):
                streams = _events(players, per_player)
                crm_seconds, sent_at = await _drive(streams, sender.send, concurrency)
                ids = list(sent_at)
                deadline = time.time() + 120
                while time.time() < deadline:
                    stored = await store.fetch("SELECT count(*) AS n FROM events WHERE event_id = ANY($1)", ids)
                    if stored[0]["n"] == total:
                        break
                    await asyncio.sleep(0.2)
                rows = await store.fetch("SELECT event_id, recorded_at FROM events WHERE event_id = ANY($1)", ids)
                drained = max(r["recorded_at"] for r in rows).timestamp() - min(sent_at.values())
            latencies = sorted(r["recorded_at"].timestamp() - sent_at[r["event_id"]] for r in rows)
        finally:
            await store.close()
            server.stop()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    result = {
        "name": "ingest",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": total, "players": players, "concurrency": concurrency,
        "baseline_bare_signals_per_s": round(total / bare_seconds, 1),
        "crm_events_sent_per_s": round(total / crm_seconds, 1),
        "crm_events_stored_per_s": round(total / drained, 1),
        "ratio_crm_to_baseline": round((total / crm_seconds) / (total / bare_seconds), 2),
        "stored": len(rows),
        "latency_to_postgres_ms": {"p50": round(pct(0.50)), "p95": round(pct(0.95)), "p99": round(pct(0.99)),
                                   "max": round(latencies[-1] * 1000), "mean": round(statistics.mean(latencies) * 1000)},
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=40)
    parser.add_argument("--events", type=int, default=25, help="events per player")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(main(args.players, args.events, args.concurrency))
    print(f"{'case':<36}{'events/s':>10}")
    print(f"{'baseline: bare signal-with-start':<36}{result['baseline_bare_signals_per_s']:>10}")
    print(f"{'crm: PlayerWorkflow, sent':<36}{result['crm_events_sent_per_s']:>10}")
    print(f"{'crm: PlayerWorkflow, in PostgreSQL':<36}{result['crm_events_stored_per_s']:>10}")
    print(f"ratio crm/baseline (sent): {result['ratio_crm_to_baseline']}")
    print("latency send -> PostgreSQL commit (ms): "
          + ", ".join(f"{k} {v}" for k, v in result["latency_to_postgres_ms"].items()))
    print(f"stored {result['stored']} of {result['events']} events")
    save_case(result)
