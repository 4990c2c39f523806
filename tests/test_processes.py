"""`crm worker` and `crm dev` as processes, the way an operator starts them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import CRM, event, eventually

from adapters.event_sender import EventSender
from adapters.temporal import connect
from adapters.temporal_dev_server import TemporalDevServer, free_port


class Running:
    """A `crm` process whose output is read as it comes, so a full pipe never stalls it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._new_line = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, *args: str, env: dict[str, str], cwd: Path | None = None) -> Running:
        process = await asyncio.create_subprocess_exec(
            CRM, *args, env={**os.environ, **env}, cwd=cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode().rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    async def wait_for_line(self, prefix: str, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(line.startswith(prefix) for line in self.lines):
            assert not self._reader.done(), "exited early:\n" + self.output
            self._new_line.clear()
            await asyncio.wait_for(self._new_line.wait(), deadline - asyncio.get_running_loop().time())

    async def stop(self, timeout: float = 20) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return self.process.returncode or 0

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def addresses(self) -> dict[str, str]:
        """The service addresses `crm dev` printed."""
        pattern = r"^  (Temporal Web UI|Temporal gRPC|Temporal HTTP API|PostgreSQL|Metrics)\s+(\S+)"
        return {m[1]: m[2] for m in (re.match(pattern, line) for line in self.lines) if m}


async def test_crm_worker_logs_json_and_exports_event_metrics(
    temporal_server: TemporalDevServer, database_url: str, client: Any, player_id: str
) -> None:
    metrics_port = free_port()
    worker = await Running.start("worker", env={
        "CRM_TEMPORAL_ADDRESS": temporal_server.address, "CRM_TASK_QUEUE": "crm-process",
        "CRM_DATABASE_URL": database_url, "CRM_METRICS_PORT": str(metrics_port), "CRM_LOG_FORMAT": "json",
    })
    try:
        sender = EventSender(client, "crm-process")
        await sender.send(event("registered", "acme", player_id, country="MT", currency="EUR"))
        await sender.send({"event_id": "junk", "type": "registered", "brand": "acme", "player_id": player_id})

        async def counted() -> str:
            try:
                async with httpx.AsyncClient() as http:
                    text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            except httpx.TransportError as not_yet:
                raise AssertionError(f"metrics not served yet: {not_yet}") from None
            assert re.search(r'^crm_events_accepted\{[^}]*brand="acme"[^}]*\} [1-9]', text, re.M), text[-2000:]
            assert re.search(r'^crm_events_rejected\{[^}]*brand="acme"[^}]*\} [1-9]', text, re.M)
            # The SDK's own metrics are there too, once the workflow task has completed.
            assert "temporal_workflow_task_execution_latency" in text
            return text

        await eventually(counted, timeout=20)
    finally:
        code = await worker.stop()
    assert code == 0, worker.output
    records = [json.loads(line) for line in worker.lines if line.startswith("{")]
    assert records and all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    rejected = [r for r in records if r["msg"].startswith("event rejected")]
    assert rejected and rejected[0]["workflow_id"] == f"player:acme:{player_id}"


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    return {
        "CRM_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "CRM_UI_PORT": str(free_port()),
        "CRM_HTTP_PORT": str(free_port()),
        "CRM_METRICS_PORT": str(free_port()),
        "CRM_STATE_DIR": str(tmp_path / "state"),
        "CRM_DATABASE_URL": "",
    }


async def test_crm_dev_runs_the_stack_keeps_state_and_stops_cleanly(dev_env: dict[str, str], tmp_path: Path) -> None:
    dev = await Running.start("dev", env=dev_env, cwd=tmp_path)
    await dev.wait_for_line("Casino CRM is running")
    banner = dev.addresses()
    assert banner["Temporal gRPC"] == dev_env["CRM_TEMPORAL_ADDRESS"]
    assert banner["PostgreSQL"].startswith("postgresql://")
    player = {"brand": "acme", "player_id": "dev-1"}
    registered = event("registered", "acme", "dev-1", country="MT", currency="EUR")
    try:
        # The platform's curl path: Temporal's HTTP API, documented in the README.
        async with httpx.AsyncClient() as http:
            ui = await http.get(banner["Temporal Web UI"])
            assert ui.status_code == 200
            response = await http.post(
                f"{banner['Temporal HTTP API']}/api/v1/namespaces/default/workflows/player:acme:dev-1/signal-with-start/event",
                json={
                    "workflowType": {"name": "PlayerWorkflow"}, "taskQueue": {"name": "crm"},
                    "input": [player], "signalInput": [registered],
                    "workflowIdConflictPolicy": "WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING",
                    "requestId": registered["event_id"],
                },
            )
            assert response.status_code == 200, response.text
        client = await connect(dev_env["CRM_TEMPORAL_ADDRESS"])
        handle = client.get_workflow_handle("player:acme:dev-1")

        async def registered_profile() -> None:
            assert (await handle.query("profile"))["country"] == "MT"

        await eventually(registered_profile, timeout=20)
    finally:
        code = await dev.stop()
    assert code == 0, dev.output
    assert "worker stopped" in dev.output

    # Started again on the same state: the player is still there, in Temporal and PostgreSQL.
    dev = await Running.start("dev", env=dev_env, cwd=tmp_path)
    try:
        await dev.wait_for_line("Casino CRM is running")
        client = await connect(dev_env["CRM_TEMPORAL_ADDRESS"])

        async def still_there() -> None:
            assert (await client.get_workflow_handle("player:acme:dev-1").query("profile"))["events_accepted"] == 1

        await eventually(still_there, timeout=20)
        player_cmd = await asyncio.create_subprocess_exec(
            CRM, "player", "acme", "dev-1", "--json", env={**os.environ, **dev_env}, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out_bytes, err_bytes = await player_cmd.communicate()
        assert player_cmd.returncode == 0, err_bytes.decode()
        assert json.loads(out_bytes)["country"] == "MT"
    finally:
        code = await dev.stop()
    assert code == 0, dev.output


async def test_crm_dev_refuses_to_start_on_a_port_already_taken(dev_env: dict[str, str], tmp_path: Path) -> None:
    host, port = dev_env["CRM_TEMPORAL_ADDRESS"].split(":")
    with socket.socket() as squatter:
        squatter.bind((host, int(port)))
        squatter.listen()
        dev = await Running.start("dev", env=dev_env, cwd=tmp_path)
        await asyncio.wait_for(dev.process.wait(), 30)
        await dev.stop()
    assert dev.process.returncode == 1
    assert f"Temporal gRPC port {host}:{port} is already in use" in dev.output


async def test_crm_dev_demo_shows_live_journeys_of_every_kind_at_once(dev_env: dict[str, str], tmp_path: Path) -> None:
    env = {**dev_env, "CRM_PLATFORM_URL": f"http://127.0.0.1:{free_port()}", "CRM_SMTP_PORT": str(free_port())}
    dev = await Running.start("dev", "--demo", env=env, cwd=tmp_path)
    try:
        await dev.wait_for_line("Demo: a live casino on brand 'demo'")
        assert any("a VIP review waiting for staff: journey:vip_upgrade:demo:" in line for line in dev.lines)
        client = await connect(env["CRM_TEMPORAL_ADDRESS"])

        async def moving() -> None:
            running = [w.id async for w in client.list_workflows(
                "CrmBrand = 'demo' AND WorkflowId STARTS_WITH 'journey:' AND ExecutionStatus = 'Running'")]
            assert {w.split(":")[1] for w in running} >= {"welcome", "first_deposit", "vip_upgrade", "reactivation"}

        await eventually(moving, timeout=60)
    finally:
        code = await dev.stop()
    assert code == 0, dev.output
