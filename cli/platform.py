"""`crm platform`: the reference platform and its SMTP sink, until Ctrl-C."""

from __future__ import annotations

import asyncio
import signal

from adapters.reference_platform.faults import Faults
from adapters.reference_platform.server import reference_platform


async def serve_platform(host: str, port: int, smtp_port: int, faults: Faults) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with reference_platform(host, port, smtp_port, faults) as running:
        print(f"Reference platform on {running.url} (ledger: {running.url}/_reference/ledger), "
              f"SMTP sink on {running.smtp_host}:{running.smtp_port}", flush=True)
        await stop.wait()
    return 0
