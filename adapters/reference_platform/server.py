"""Running the reference platform: HTTP with uvicorn and the SMTP sink, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from aiosmtpd.controller import Controller

from adapters.reference_platform.app import create_app
from adapters.reference_platform.faults import Faults
from adapters.reference_platform.ledger import Ledger
from adapters.reference_platform.smtp_sink import SinkHandler


# aiosmtpd logs every connection at INFO: too loud beside the worker's own log.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class RunningPlatform:
    url: str
    smtp_host: str
    smtp_port: int
    ledger: Ledger
    faults: Faults


@contextlib.asynccontextmanager
async def reference_platform(host: str = "127.0.0.1", port: int = 8090, smtp_port: int = 8025,
                             faults: Faults | None = None) -> AsyncIterator[RunningPlatform]:
    ledger, faults = Ledger(), faults or Faults()
    smtp = Controller(SinkHandler(ledger), hostname=host, port=smtp_port)
    smtp.start()
    server = uvicorn.Server(uvicorn.Config(create_app(ledger, faults), host=host, port=port,
                                           log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises why it could not start (a port in use)
            await asyncio.sleep(0.02)
        yield RunningPlatform(f"http://{host}:{port}", host, smtp_port, ledger, faults)
    finally:
        server.should_exit = True
        await serving
        smtp.stop()
