"""bench/results.json: the latest figures of each benchmark case, one entry per case name.

Every case records the machine it ran on: a figure means little without it.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()}-core {platform.machine()}, {memory_gb:.0f} GB, {platform.system()} {platform.release()};"
            " Temporal dev server, PostgreSQL, worker and driver on the same machine")


def save_case(case: dict[str, Any], results: Path = RESULTS) -> None:
    case = {**case, "machine": case.get("machine") or machine()}
    cases = json.loads(results.read_text())["cases"] if results.exists() else []
    cases = [c for c in cases if c["name"] != case["name"]] + [case]
    results.write_text(json.dumps({"cases": sorted(cases, key=lambda c: c["name"])}, indent=2) + "\n")
