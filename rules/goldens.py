"""Golden cases: facts in, expected actions out, kept beside the rules they test.

    # rules/default/cases/welcome.yaml
    cases:
      - name: a new player who accepts email is welcomed by email
        trigger: registered
        facts: {consent_email: true, age: 30, country: MT}
        status: {}                       # optional: what the guards know (self_excluded, ...)
        now: 2026-06-01T12:00:00Z        # optional; default midday UTC
        expect:
          actions:                       # in order; each lists only the keys it cares about
            - message: {channel: email, template: welcome_1}
            - bonus: {kind: free_spins, amount: 10}
          vetoed: [welcome-sms/consent]  # optional: rule/guard of each veto
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from crm.facts import Facts
from rules.book import CASES_FOLDER, brand_folders
from rules.decide import decide
from rules.engine import CompiledRules
from rules.format import line_of, load_yaml
from rules.guards import PlayerStatus

DEFAULT_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class CaseResult:
    where: str
    name: str
    failure: str | None  # None when the case passed

    @property
    def passed(self) -> bool:
        return self.failure is None


def run_cases(compiled: CompiledRules) -> list[CaseResult]:
    results = []
    root = compiled.book.root
    for folder in brand_folders(root):
        for path in sorted((folder / CASES_FOLDER).glob("*.y*ml")):
            document = load_yaml(path) or {}
            for case in document.get("cases", []):
                where = f"{root.name}/{path.relative_to(root)}:{line_of(case)}"
                results.append(_run(compiled, folder.name, case, where))
    return results


def _run(compiled: CompiledRules, brand: str, case: dict[str, Any], where: str) -> CaseResult:
    name = str(case.get("name", "unnamed case"))
    try:
        facts = Facts.model_validate({"brand": brand, **(case.get("facts") or {}), "trigger": case.get("trigger")})
        status = PlayerStatus.model_validate(case.get("status") or {})
    except ValidationError as invalid:
        return CaseResult(where, name, f"the case itself is invalid: {invalid}")
    now = case.get("now") or DEFAULT_NOW
    now = now if isinstance(now, datetime) else datetime.fromisoformat(str(now))
    decision = decide(compiled, facts, status, player_id="golden", key=f"golden:{name}", now=now)
    expect = case.get("expect") or {}
    problems = []
    if "actions" in expect:
        actual = decision.actions
        wanted = list(expect["actions"] or [])
        if len(actual) != len(wanted) or not all(_subset(w, a) for w, a in zip(wanted, actual, strict=False)):
            problems.append("actions differ:\n" + _diff(wanted, actual))
    if "vetoed" in expect:
        actual_vetoes = [f"{o.rule}/{o.guard}" for o in decision.vetoes]
        if sorted(actual_vetoes) != sorted(expect["vetoed"] or []):
            problems.append("vetoes differ:\n" + _diff(expect["vetoed"] or [], actual_vetoes))
    if "matched" in expect and decision.matched != list(expect["matched"] or []):
        problems.append("matched rules differ:\n" + _diff(expect["matched"] or [], decision.matched))
    return CaseResult(where, name, "\n".join(problems) or None)


def _subset(wanted: Any, actual: Any) -> bool:
    """Every key the case names has the same value in the actual action (numbers compared as numbers)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in wanted.items())
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        try:
            return float(actual) == float(wanted)
        except (TypeError, ValueError):
            return False
    return wanted == actual


def _diff(wanted: list[Any], actual: list[Any]) -> str:
    def lines(items: list[Any]) -> list[str]:
        return [json.dumps(i, sort_keys=True, default=str) for i in items]

    return "\n".join(
        "    " + line for line in difflib.unified_diff(lines(wanted), lines(actual), "expected", "actual", lineterm="")
    )

