"""bench/results.json: the latest figures of each benchmark case, one entry per case name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def save_case(case: dict[str, Any]) -> None:
    cases = json.loads(RESULTS.read_text())["cases"] if RESULTS.exists() else []
    cases = [c for c in cases if c["name"] != case["name"]] + [case]
    RESULTS.write_text(json.dumps({"cases": sorted(cases, key=lambda c: c["name"])}, indent=2) + "\n")
