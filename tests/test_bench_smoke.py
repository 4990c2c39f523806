"""The benchmark harness runs end to end at tiny sizes (no figure is asserted: CI machines vary)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from support import REPO


async def test_every_bench_case_runs_and_lands_in_the_table(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--out", str(tmp_path), cwd=REPO,
        env={**os.environ, "CRM_DATABASE_URL": ""}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()[-3000:]
    cases = {c["name"] for c in json.loads((tmp_path / "results.json").read_text())["cases"]}
    assert cases == {"live_events", "bulk_import", "decisions", "churn_scoring", "worker_memory"}
    lines = (tmp_path / "results.md").read_text().splitlines()
    rows = [line for line in lines if line.startswith("|")][2:]
    assert {r.split("|")[1].strip() for r in rows} == {
        "live events", "bulk import", "decisions", "churn scoring", "worker memory"}
    ran_on = [line for line in lines if line.startswith("- ")]  # every figure says where it was measured
    assert sorted(line.split(",")[0][2:] for line in ran_on) == sorted(cases) and all("core" in r for r in ran_on)
