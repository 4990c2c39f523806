"""bench/results.json: the latest figures of each benchmark case, one entry per case name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def save_case(case: dict[str, Any], results: Path = RESULTS) -> None:
    cases = json.loads(results.read_text())["cases"] if results.exists() else []
    cases = [c for c in cases if c["name"] != case["name"]] + [case]
    results.write_text(json.dumps({"cases": sorted(cases, key=lambda c: c["name"])}, indent=2) + "\n")
