"""Saved histories of every journey and of PlayerWorkflow replay cleanly with today's code.

A change that would break running workflows (a new activity call, a reordered step) fails
here; guard it with `workflow.patched` instead. After a deliberate, patched change, move the
saved files into a subfolder named for the patch and record today's:
`CRM_SAVE_HISTORIES=1 .venv/bin/pytest tests/test_journeys_time_skipping.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, WorkflowRunner

from worker import SANDBOX, UNSANDBOXED, WORKFLOWS

# Histories saved before a patched change stay in a subfolder named for it: workflows that
# began under them may still be running.
FOLDER = Path(__file__).parent / "histories"
HISTORIES = sorted(FOLDER.rglob("*.json"))


def test_every_journey_has_a_saved_history() -> None:
    kinds = {path.stem.split("-")[0] for path in HISTORIES}
    assert {"welcome", "first_deposit", "loss_recovery", "reactivation", "vip_upgrade", "player"} <= kinds


# The worker runs workflows without the sandbox; the sandbox also fails code that reaches for
# I/O, the clock or randomness on any path these histories take.
@pytest.mark.parametrize("runner", [UNSANDBOXED, SANDBOX], ids=["as-the-worker-runs", "in-the-sandbox"])
@pytest.mark.parametrize("path", HISTORIES, ids=[str(p.relative_to(FOLDER).with_suffix("")) for p in HISTORIES])
async def test_a_saved_history_replays_without_nondeterminism(path: Path, runner: WorkflowRunner) -> None:
    saved = json.loads(path.read_text())
    history = WorkflowHistory.from_json(saved.pop("workflow_id"), saved)
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=runner, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
