"""The CRM worker: wires Temporal, Postgres, activities and workflows, then runs until stopped.

    python worker.py        # same as `crm worker`
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import functools
import json
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities.acting import ActingActivities
from activities.churn import ChurnActivities, ChurnSignalling
from activities.decisions import DecisionActivities
from activities.journeys import JourneyActivities
from activities.recording import RecordingActivities
from activities.segments import SegmentActivities
from adapters.churn_features import ChurnFeatures
from adapters.churn_models import ChurnModels
from adapters.decisions import DecisionLog
from adapters.embedded_postgres import embedded_database_url
from adapters.ledger import Ledger
from adapters.platform.backoffice import BackOffice
from adapters.platform.http import PlatformHttp
from adapters.platform.messaging import Messaging
from adapters.platform.pam import Pam
from adapters.platform.risk import Risk
from adapters.platform.wallet import Wallet
from adapters.player_facts import PlayerFacts
from adapters.segments import Segments
from adapters.store import PlayerStore
from adapters.temporal import connect, ensure_churn_schedules, ensure_search_attributes
from crm.journeys import journey_task_queue
from crm.settings import Settings
from rules.registry import RuleRegistry
from workflows.churn_scoring import ChurnScoringWorkflow
from workflows.lifecycle import JOURNEY_WORKFLOWS
from workflows.player import PlayerWorkflow

log = logging.getLogger("crm.worker")

# Journeys begun before they had a queue of their own still run on the players' one.
WORKFLOWS = [PlayerWorkflow, *JOURNEY_WORKFLOWS.values(), ChurnScoringWorkflow]
# The sandbox imports each run's workflow module afresh and passes every activation through its
# restricted globals: at 100 events/s that was a sixth of the worker's CPU. What it catches
# (I/O, the wall clock or randomness in workflow code) it catches in the tests, which run every
# workflow in it (`CRM_WORKFLOW_SANDBOX`) and replay every saved history in it. The pure core
# is deterministic; passing it through keeps one copy of pydantic's models in memory.
SANDBOX = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("crm"))
UNSANDBOXED = UnsandboxedWorkflowRunner()


class Workers:
    """The players' worker and the journeys' worker: one process, started and stopped together.

    Two task queues keep a journey's steps out of the queue every session event goes through;
    at 100 events/s a step waited there seconds for its turn. Both register every activity: an
    activity runs on the queue of the workflow that scheduled it.
    """

    def __init__(self, players: Worker, journeys: Worker) -> None:
        self.workers = (players, journeys)

    async def run(self) -> None:
        runs = [asyncio.create_task(w.run()) for w in self.workers]
        try:
            await asyncio.gather(*runs)
        finally:  # one failed: the other stops too rather than run half a CRM
            await self.shutdown()
            await asyncio.gather(*runs, return_exceptions=True)

    async def shutdown(self) -> None:
        await asyncio.gather(*(w.shutdown() for w in self.workers if w.is_running))

    async def __aenter__(self) -> Workers:
        async with contextlib.AsyncExitStack() as started:
            for w in self.workers:
                await started.enter_async_context(w)
            self._stack = started.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()


def workflow_runner(settings: Settings) -> WorkflowRunner:
    if not settings.workflow_sandbox:
        return UNSANDBOXED
    byte_compile_workflows()
    return SANDBOX


def byte_compile_workflows() -> None:
    """The sandbox imports a workflow's module afresh for every run. Without its bytecode on disk
    (an editable install with PYTHONDONTWRITEBYTECODE=1, as on our development machines) every
    new player's and journey's run compiles the source again. Write what is missing or stale;
    where the code is read-only (an installed package, compiled by pip) nothing changes."""
    compileall.compile_dir(Path(workflows.__file__).parent, quiet=2)


def build_worker(client: Client, store: PlayerStore, task_queue: str, rules: RuleRegistry,
                 settings: Settings) -> Workers:
    http = PlatformHttp(settings.platform_url, timeout=timedelta(seconds=settings.platform_timeout_seconds))
    risk, ledger = Risk(http), Ledger(store.pool)
    facts = PlayerFacts(store.pool, risk, rules)
    recording = RecordingActivities(store)
    deciding = DecisionActivities(rules, DecisionLog(store.pool), facts)
    acting = ActingActivities(ledger, Wallet(http), Messaging(http, settings.smtp_host, settings.smtp_port,
                                                              settings.email_from), Pam(http), BackOffice(http))
    journeys = JourneyActivities(rules, ledger, risk, client, task_queue, facts)
    models = ChurnModels(store.pool)
    churn, signalling = ChurnActivities(ChurnFeatures(store.pool), models), ChurnSignalling(models, rules, client)
    segments = SegmentActivities(Segments(store.pool), rules, client)
    activities = [
        recording.record, recording.stored_profile, deciding.decide, deciding.decide_for_player,
        acting.grant_incentive, acting.send_message, acting.set_vip_tier, acting.create_task,
        journeys.brand_journeys, journeys.vip_tier_due, journeys.journey_started, journeys.journey_ended,
        journeys.check_affordability, journeys.exclude_across_group,
        churn.train, churn.score, signalling.signal_crossings, segments.refresh, segments.notify,
    ]
    worker = functools.partial(Worker, client, activities=activities, workflow_runner=workflow_runner(settings),
                               max_cached_workflows=settings.max_cached_workflows)
    return Workers(worker(task_queue=task_queue, workflows=WORKFLOWS),
                   worker(task_queue=journey_task_queue(task_queue), workflows=list(JOURNEY_WORKFLOWS.values())))


def churn_intervals(rules: RuleRegistry) -> dict[str, timedelta]:
    """How often each brand with a folder under rules/ is scored (`churn.score_every`)."""
    book = rules.current().book
    return {brand: config.config.churn.score_every for brand, config in book.brands.items() if brand != "default"}


def metrics_runtime(port: int | None) -> Runtime | None:
    """A runtime exporting the SDK's metrics and ours (events accepted/rejected) to Prometheus."""
    if not port:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}")))


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    dsn = settings.database_url or embedded_database_url(settings.state_dir)
    store = await PlayerStore.connect(dsn, max_size=settings.db_pool_max)
    try:
        applied = await store.migrate()
        if applied:
            log.info("applied migrations %s", applied)
        client = await connect(
            settings.temporal_address, settings.temporal_namespace, metrics_runtime(settings.metrics_port)
        )
        await ensure_search_attributes(client)
        rules = RuleRegistry(settings.rules_path)
        log.info("rules version %s from %s", rules.current().book.version, settings.rules_path)
        scheduled = await ensure_churn_schedules(client, churn_intervals(rules), settings.task_queue)
        if scheduled:
            log.info("churn scoring schedules created or changed: %s", ", ".join(scheduled))
        async with build_worker(client, store, settings.task_queue, rules, settings):
            log.info(
                "worker polling task queues %r and %r on %s (metrics on :%s)",
                settings.task_queue, journey_task_queue(settings.task_queue), settings.temporal_address,
                settings.metrics_port or "off",
            )
            await stop.wait()
        log.info("worker stopped")
    finally:
        await store.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("workflow_id", "run_id", "workflow_type", "activity_type", "attempt"):
            value = getattr(record, "temporal_workflow", {}).get(key) or getattr(
                record, "temporal_activity", {}
            ).get(key)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLogFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    from cli import exit_skipping_teardown

    main()
    exit_skipping_teardown(0)
