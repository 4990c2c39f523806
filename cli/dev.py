"""`crm dev`: the whole CRM on one machine, in one terminal, with state kept between runs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from adapters.embedded_postgres import embedded_database_url
from adapters.reference_platform.server import reference_platform
from adapters.temporal_dev_server import PortInUse, TemporalDevServer, ensure_port_free
from crm.settings import Settings
from worker import configure_logging, run_worker


async def run_dev(settings: Settings, demo: bool = False) -> int:
    configure_logging(settings.log_level, "text")
    try:
        if settings.metrics_port:
            ensure_port_free("0.0.0.0", settings.metrics_port, "metrics (CRM_METRICS_PORT)")
        return await _run_stack(settings, demo)
    except PortInUse as taken:
        print(f"crm dev: {taken}", file=sys.stderr)
        return 1


async def _run_stack(settings: Settings, demo: bool) -> int:
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    _say(f"Casino CRM: starting, state in {state}")

    database_url = settings.database_url or embedded_database_url(state)
    _say(f"  PostgreSQL        {database_url}")  # each address as soon as its service is up
    host, _, port = settings.temporal_address.rpartition(":")
    temporal = TemporalDevServer(
        db_file=state / "temporal.db",
        ip="127.0.0.1" if host in ("localhost", "") else host,
        port=int(port),
        ui_port=settings.ui_port,
        http_port=settings.http_port,
        log_file=state / "temporal.log",
    )
    await temporal.start()
    try:
        async with _platform(settings) as platform:
            _say(
                f"  Temporal gRPC     {temporal.address}\n"
                f"  Temporal Web UI   {temporal.ui_url}\n"
                f"  Temporal HTTP API {temporal.http_api_url}\n"
                f"  Platform          {platform}\n"
                f"  Metrics           {_metrics_url(settings.metrics_port)}\n"
                "Casino CRM is running. Press Ctrl-C to stop."
            )
            demo_casino = asyncio.create_task(_demo(temporal.address, settings, temporal.ui_url)) if demo else None
            try:
                await run_worker(settings.model_copy(update={"database_url": database_url, "state_dir": state}))
            finally:
                if demo_casino:
                    demo_casino.cancel()
    finally:
        temporal.stop()
    return 0


@contextlib.asynccontextmanager
async def _platform(settings: Settings) -> AsyncIterator[str]:
    """The reference platform where the settings point at this machine; else the operator's own."""
    url = urlsplit(settings.platform_url)
    if url.hostname not in ("127.0.0.1", "localhost") or settings.smtp_host not in ("127.0.0.1", "localhost"):
        yield f"{settings.platform_url} (CRM_PLATFORM_URL), SMTP {settings.smtp_host}:{settings.smtp_port}"
        return
    ensure_port_free("127.0.0.1", url.port or 80, "the reference platform (CRM_PLATFORM_URL)")
    ensure_port_free("127.0.0.1", settings.smtp_port, "the SMTP sink (CRM_SMTP_PORT)")
    async with reference_platform("127.0.0.1", url.port or 80, settings.smtp_port) as running:
        yield f"{running.url} (reference; what it received: {running.url}/_reference/ledger), SMTP sink :{running.smtp_port}"


async def _demo(address: str, settings: Settings, ui_url: str) -> None:
    """A live population on brand demo (journeys at demo speed), and where to look."""
    from adapters.event_sender import EventSender
    from adapters.temporal import connect, signal_player
    from simulator.demo import BRAND, DemoCasino

    client = await connect(address, settings.temporal_namespace)
    sender = EventSender(client, settings.task_queue)

    async def signal(player_id: str, name: str, payload: dict[str, Any]) -> None:
        await signal_player(client, BRAND, player_id, name, payload)

    casino = DemoCasino(sender.send, signal)
    scenes = await casino.open()
    _say(f"Demo: a live casino on brand {BRAND!r}, journeys at demo speed (minutes). In the Web UI ({ui_url}),"
         f" filter CrmBrand = '{BRAND}' to see:\n" + "\n".join(f"  - {scene}" for scene in scenes)
         + f"\n  what the platform received: {settings.platform_url}/_reference/ledger")
    await casino.run()


def _say(text: str) -> None:
    print(text, flush=True)


def _metrics_url(port: int | None) -> str:
    return f"http://127.0.0.1:{port}/metrics" if port else "off (CRM_METRICS_PORT)"
