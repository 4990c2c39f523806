"""`crm rules check|test|eval`: what a rule editor runs before a rule touches a player."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from crm.facts import Facts
from rules.book import load_book
from rules.decide import decide
from rules.engine import CompiledRules
from rules.format import RuleFileError
from rules.goldens import run_cases
from rules.guards import PlayerStatus


def _load(root: Path) -> CompiledRules | None:
    try:
        return CompiledRules(load_book(root))
    except RuleFileError as broken:
        for problem in broken.problems:
            print(problem, file=sys.stderr)
        print(f"{len(broken.problems)} problem(s) in {root}", file=sys.stderr)
        return None


def check(root: Path) -> int:
    compiled = _load(root)
    if compiled is None:
        return 1
    book = compiled.book
    count = sum(len(b.rules) for b in book.brands.values())
    print(f"{root}: {len(book.brands)} brand(s), {count} rule(s) in force, version {book.version}: ok")
    return 0


def test(root: Path) -> int:
    compiled = _load(root)
    if compiled is None:
        return 1
    results = run_cases(compiled)
    for result in results:
        if result.passed:
            print(f"ok    {result.where} {result.name}")
        else:
            print(f"FAIL  {result.where} {result.name}\n{result.failure}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


def evaluate(root: Path, brand: str, trigger: str, facts_file: str, status_file: str | None) -> int:
    compiled = _load(root)
    if compiled is None:
        return 1
    try:
        facts = Facts.model_validate({**_read_json(facts_file), "brand": brand, "trigger": trigger})
        status = PlayerStatus.model_validate(_read_json(status_file) if status_file else {})
    except (ValidationError, ValueError) as invalid:
        print(f"invalid input: {invalid}", file=sys.stderr)
        return 2
    now = datetime.now(timezone.utc)
    decision = decide(compiled, facts, status, player_id="(eval)", key=f"eval:{now.isoformat()}", now=now)
    print(json.dumps({**decision.model_dump(mode="json"), "actions": decision.actions}, indent=2))
    return 0


def _read_json(path: str) -> dict:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of facts")
    return data
