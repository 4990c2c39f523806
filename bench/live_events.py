"""The live event path: a steady stream of player events through signal-with-start.

    .venv/bin/python bench/live_events.py [--rate 100] [--seconds 300] [--registrations 0.01]

Runs its own Temporal dev server (SQLite file, WAL), embedded PostgreSQL, the reference
platform and one `crm worker` process, all on this machine; the sender runs in this process:

- baseline: bare signals, as fast as they go, to already running workflows that only count
  them (no worker logic) — the dev server's own capacity here;
- crm: an open-loop stream at `--rate` events/s for `--seconds`, through signal-with-start of
  `PlayerWorkflow`: new players register (`--registrations` of the events; each starts a
  welcome journey whose first step grants free spins and sends an email), known players play
  sessions and deposit. A player's events are sent in order; players in parallel.

New players cost far more than events: each opens a workflow and journeys whose steps all
happen within seconds here (a welcome converted by a deposit a second later), where a real
casino spreads them over days. The default, 1 % of events, is about ten times a real casino's
share (a few hundred registrations a day against hundreds of thousands of events); try 0.05
to see the journeys' cost.

It reports the rate sustained into PostgreSQL, p50/p95/p99 from sending an event to its row
committed there, and from sending a `registered` event to the welcome journey's first action
arriving at the reference platform, and the CPU each process spent per event (worker, dev
server, PostgreSQL, this process). "Open loop" means events are sent on schedule whether or
not the CRM keeps up, so a backlog shows as latency, not as a slower sender. Stored as case
"live_events" in bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.api.enums.v1 import TaskQueueType  # noqa: E402
from temporalio.api.taskqueue.v1 import TaskQueue  # noqa: E402
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from adapters.event_sender import EventSender  # noqa: E402
from adapters.reference_platform.server import reference_platform  # noqa: E402
from adapters.store import PlayerStore  # noqa: E402
from adapters.temporal import ensure_search_attributes  # noqa: E402
from adapters.temporal_dev_server import TemporalDevServer, free_port  # noqa: E402
from bench.cpu import CpuMeter  # noqa: E402
from bench.hops import where_time_goes  # noqa: E402
from bench.results import machine, save_case  # noqa: E402
from crm.journeys import journey_task_queue  # noqa: E402
from simulator.demo import awake_timezone  # noqa: E402

BRAND = "bench"  # no brand file: the default rules and pack


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


@contextlib.asynccontextmanager
async def crm_worker(client: Client, temporal: str, database_url: str, platform_url: str,
                     smtp_port: int) -> AsyncIterator[int]:
    """`crm worker` in its own process, as it runs in production; yields its pid once it polls
    `bench-crm`, so that its start-up is not counted as latency."""
    env = {**os.environ, "CRM_TEMPORAL_ADDRESS": temporal, "CRM_DATABASE_URL": database_url,
           "CRM_PLATFORM_URL": platform_url, "CRM_SMTP_PORT": str(smtp_port), "CRM_TASK_QUEUE": "bench-crm",
           "CRM_LOG_LEVEL": "WARNING", "CRM_METRICS_PORT": "0"}
    process = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "crm"), "worker", env=env)
    try:
        queue = DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name="bench-crm"),
                                         task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        while not (await client.workflow_service.describe_task_queue(queue)).pollers:
            if process.returncode is not None:
                raise RuntimeError(f"crm worker exited with {process.returncode}")
            await asyncio.sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        await process.wait()


def stream(events: int, registrations: float, seed: int = 11) -> list[dict[str, Any]]:
    """The events in sending order: a player's first event is their registration."""
    rng, run, zone = random.Random(seed), f"{seed}-{time.time_ns() % 10**8}", awake_timezone()
    players: list[str] = []
    out: list[dict[str, Any]] = []
    for n in range(events):
        at = datetime.now(UTC).isoformat()
        if not players or rng.random() < registrations:
            player = f"live-{run}-{len(players)}"
            players.append(player)
            out.append({"type": "registered", "country": "MT", "currency": "EUR", "birth_date": "1990-01-01",
                        "timezone": zone, "consents": {"email": True}, "player_id": player})
        elif rng.random() < 0.85:
            player = rng.choice(players)
            stake = round(rng.lognormvariate(3, 1), 2)
            out.append({"type": "session_ended", "player_id": player, "started_at": at, "game_category": "slots",
                        "rounds": rng.randrange(1, 300), "stake": str(stake), "win": str(round(stake * rng.random(), 2))})
        else:
            out.append({"type": "deposit_succeeded", "player_id": rng.choice(players), "amount": "20", "method": "card"})
        out[-1].update(event_id=f"{run}-e{n}", brand=BRAND, occurred_at=at)
    return out


def welcome_actions(ledger: Any) -> list[tuple[str, float]]:
    """(player, when) of every grant, message and email a welcome journey asked the reference
    platform for (their idempotency keys name the journey). Once the brand's daily bonus budget is
    spent, a welcome's first action is its email; a player in the welcome's holdout has none."""
    taken = [(a["player_id"], a["at"]) for a in ledger.grants + ledger.messages
             if a["idempotency_key"].startswith("journey:welcome:")]
    taken += [(e["to"][0].split("@")[0], e["at"]) for e in ledger.emails  # to {player_id}@{brand}...
              if e["message_id"].startswith("<journey.welcome.")]  # the key, ':' spelt '.'
    return [(player, datetime.fromisoformat(at).timestamp()) for player, at in taken]


async def history_lengths(client: Client, query: str) -> dict[str, int]:
    """History events the server wrote, by workflow type: its work, which the two paths differ in."""
    totals: dict[str, int] = {}
    slots = asyncio.Semaphore(16)

    async def add(execution: Any) -> None:  # visibility's own history_length lags for running workflows
        async with slots:
            length = (await client.get_workflow_handle(execution.id, run_id=execution.run_id).describe()).history_length
        totals[execution.workflow_type] = totals.get(execution.workflow_type, 0) + length

    await asyncio.gather(*[add(e) async for e in client.list_workflows(query)])
    return totals


async def bare_capacity(client: Client, signals: int, workflows: int = 100,
                        concurrency: int = 32) -> tuple[float, int]:
    """Signals/s to running workflows that do nothing with them, sent as fast as the server takes
    them, and the history events the server wrote for them."""
    async with Worker(client, task_queue="bench-bare", workflows=[BareCounter]):
        handles = [await client.start_workflow(BareCounter.run, id=f"bare-{time.time_ns()}-{n}",
                                               task_queue="bench-bare") for n in range(workflows)]
        slots = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with slots:
                await handles[n % workflows].signal(BareCounter.event, {"n": n})

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(signals)))
        seconds = time.perf_counter() - started
        written = 0
        for h in handles:
            written += (await h.describe()).history_length
            await h.terminate()
    return signals / seconds, written


async def open_loop(events: list[dict[str, Any]], rate: float, send: Any) -> tuple[dict[str, float], float]:
    """Send event n at start + n/rate, each player's events in order; returns send times and how
    late the last event left against its schedule."""
    sent_at: dict[str, float] = {}
    last_of: dict[str, asyncio.Task[None]] = {}

    async def after(previous: asyncio.Task[None] | None, event: dict[str, Any]) -> None:
        if previous is not None:
            await previous
        sent_at[event["event_id"]] = time.time()
        await send(event)

    started, late = time.perf_counter(), 0.0
    for n, event in enumerate(events):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        late = max(late, -delay)
        last_of[event["player_id"]] = asyncio.create_task(after(last_of.get(event["player_id"]), event))
    await asyncio.gather(*last_of.values())
    return sent_at, late


def percentiles(values: list[float]) -> dict[str, int]:
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": round(at(0.50)), "p95": round(at(0.95)), "p99": round(at(0.99)), "max": round(ordered[-1] * 1000)}


async def main(rate: float, seconds: float, registrations: float = 0.01) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        server = TemporalDevServer.on_free_ports(Path(state) / "temporal.db")
        client = await server.start()
        pg = pgserver.get_server(Path(state) / "pg", cleanup_mode="delete")
        store = await PlayerStore.connect(pg.get_uri())
        try:
            await store.migrate()
            await ensure_search_attributes(client)
            events = stream(int(rate * seconds), registrations)
            bare_signals = max(200, min(len(events), 5000))
            baseline, bare_history = await bare_capacity(client, bare_signals)

            async with reference_platform(port=free_port(), smtp_port=free_port()) as reference, crm_worker(
                client, server.address, pg.get_uri(), reference.url, reference.smtp_port,
            ) as worker_pid:
                cpu = CpuMeter(worker=worker_pid, temporal=server.pid, postgres=pg.get_pid())
                cpu.start()
                first_send = time.time()
                sent_at, late = await open_loop(events, rate, EventSender(client, "bench-crm").send)
                registered = {e["player_id"]: sent_at[e["event_id"]] for e in events if e["type"] == "registered"}
                deadline, quiet_since, actions = time.time() + max(120.0, seconds), time.time(), 0
                # The backlog drains: every event stored, every welcome past its first decision (a
                # holdout's decides but does nothing), and the platform has heard nothing new for 3 s.
                while time.time() < deadline:
                    stored, welcomed = (await store.fetch(
                        "SELECT (SELECT count(*) FROM events WHERE brand = $1) AS stored,"
                        " (SELECT count(*) FROM decisions WHERE brand = $1 AND trigger = 'registered') AS welcomed",
                        BRAND))[0]
                    if (heard := len(welcome_actions(reference.ledger))) != actions:
                        actions, quiet_since = heard, time.time()
                    if stored == len(events) and welcomed >= len(registered) and time.time() - quiet_since > 3:
                        break
                    await asyncio.sleep(0.5)
                cpu.stop()
                # The database is this run's own: every event of the brand is one it sent.
                rows = await store.fetch("SELECT event_id, recorded_at FROM events WHERE brand = $1", BRAND)
                first_action: dict[str, float] = {}
                for player, at in welcome_actions(reference.ledger):
                    first_action[player] = min(at, first_action.get(player, at))
                crm_history = await history_lengths(
                    client, f"TaskQueue = 'bench-crm' OR TaskQueue = '{journey_task_queue('bench-crm')}'")
                path = await where_time_goes(client, BRAND, registered, first_action)
        finally:
            await store.close()
            pg.cleanup()
            server.stop()

    drained, stored = max(r["recorded_at"].timestamp() for r in rows) - first_send, len(rows)
    to_postgres = [r["recorded_at"].timestamp() - sent_at[r["event_id"]] for r in rows]
    to_action = [first_action[p] - at for p, at in registered.items() if p in first_action]
    return {
        "name": "live_events",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "offered_per_s": rate, "seconds": seconds, "registration_share": registrations,
        "events": len(events), "registrations": len(registered),
        "stored": stored, "acted": len(to_action),
        "sender_late_s": round(late, 2),
        "baseline_bare_signals_per_s": round(baseline, 1),
        "crm_sustained_per_s": round(stored / drained, 1),
        "ratio_crm_to_baseline": round(stored / drained / baseline, 2),
        "history_events_per_event": round(sum(crm_history.values()) / stored, 1),
        "history_events_per_event_by_workflow": {k: round(v / stored, 2) for k, v in sorted(crm_history.items())},
        "baseline_history_events_per_signal": round(bare_history / bare_signals, 1),
        "cpu_ms_per_event": cpu.per_event_ms(stored),
        "cores_busy": cpu.cores_busy(),
        "event_to_postgres_ms": percentiles(to_postgres),
        "trigger_to_action_ms": percentiles(to_action) if to_action else None,
        "registration_path_ms": path,
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{'case':<52}{'events/s':>10}",
             f"{'baseline: bare signals to running workflows':<52}{result['baseline_bare_signals_per_s']:>10}",
             f"{'crm: offered, open loop':<52}{result['offered_per_s']:>10}",
             f"{'crm: sustained into PostgreSQL':<52}{result['crm_sustained_per_s']:>10}",
             f"ratio crm/baseline: {result['ratio_crm_to_baseline']}   over {result['seconds']} s,"
             f" {result['stored']} of {result['events']} events stored, sender at most {result['sender_late_s']} s late",
             f"history events the server wrote per event: crm {result['history_events_per_event']} ("
             + ", ".join(f"{k} {v}" for k, v in result["history_events_per_event_by_workflow"].items())
             + f"), bare {result['baseline_history_events_per_signal']}",
             "CPU ms per event: " + ", ".join(f"{k} {v:g}" for k, v in result["cpu_ms_per_event"].items())
             + f"; cores kept busy over the run (of {os.cpu_count()}): " + ", ".join(f"{k} {v:g}" for k, v in result["cores_busy"].items()),
             "event sent -> row in PostgreSQL (ms): " + ", ".join(f"{k} {v}" for k, v in result["event_to_postgres_ms"].items())]
    if result["trigger_to_action_ms"]:
        lines.append(f"registered sent -> welcome's first action at the platform (ms, {result['acted']} of"
                     f" {result['registrations']}; the rest are the welcome's holdout): " + ", ".join(f"{k} {v}" for k, v in result["trigger_to_action_ms"].items()))
    for group, parts in result.get("registration_path_ms", {}).items():
        lines.append(f"  where it goes, {group} (mean ms): " + ", ".join(f"{k} {v:g}" for k, v in parts.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100, help="events offered per second")
    parser.add_argument("--seconds", type=float, default=300, help="how long to offer them")
    parser.add_argument("--registrations", type=float, default=0.01, help="share of events that are new players")
    args = parser.parse_args()
    result = asyncio.run(main(args.rate, args.seconds, args.registrations))
    print(report(result))
    print(f"machine: {machine()}")
    save_case(result)
