"""Decisions per second for the shipped rules, next to raw durable_rules on the same facts.

    .venv/bin/python bench/decisions.py [--facts 2000] [--rounds 5]

Three figures, one process, the same pre-generated facts:

- raw: durable_rules alone — the same compiled rulesets, all facts already in engine form,
  assert + delete the session, nothing else;
- raw, trimmed: the same, given only the facts the ruleset's rules mention (what our layer
  hands the engine) — the floor;
- engine: our CompiledRules.matching — fact conversion, lock, de-duplication;
- decide: the whole decision — matching, stop, guards, and the Decision record.

The ratio of raw (trimmed) to engine and to decide is the cost of our layer over the engine
(target: under 1.30).
Results are stored as case "decisions" in bench/results.json.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from durable import engine as durable  # noqa: E402

from bench.results import save_case  # noqa: E402
from crm.facts import SEGMENTS, Facts  # noqa: E402
from rules.book import load_book  # noqa: E402
from rules.decide import decide  # noqa: E402
from rules.engine import FACT_TYPE, CompiledRules, as_engine_facts, ruleset_definitions  # noqa: E402
from rules.guards import PlayerStatus  # noqa: E402
from rules.registry import SHIPPED_RULES  # noqa: E402


class _Host(durable.Host):
    def _run(self) -> None:
        pass


def _facts(n: int) -> list[Facts]:
    rng = random.Random(42)
    return [
        Facts(
            brand=rng.choice(["default", "acme", "royal", "nordic"]),
            trigger=rng.choice(["registered", "first_deposit", "loss", "inactive", "vip_review", "churn_risk"]),
            trigger_amount=Decimal(rng.randint(0, 400)), consent_email=rng.random() < 0.7,
            consent_sms=rng.random() < 0.3, age=rng.choice([None, 19, 30, 61]), country=rng.choice(["MT", "GB"]),
            deposit_count=rng.randint(0, 6), deposits_30d=Decimal(rng.choice([0, 1500, 7000])),
            net_loss_7d=Decimal(rng.randint(-50, 400)), days_inactive=rng.randint(0, 40),
            kyc_status=rng.choice(["none", "verified"]), churn_risk=Decimal(rng.choice(["0.1", "0.8"])),
            segments=rng.sample(SEGMENTS, rng.randint(0, 2)),
        )
        for _ in range(n)
    ]


def _rate(run: Any, items: list[Any], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            run(item)
        best = max(best, len(items) / (time.perf_counter() - started))
    return best


def main(n: int, rounds: int) -> dict[str, Any]:
    book = load_book(SHIPPED_RULES)
    compiled = CompiledRules(book)
    facts = _facts(n)
    dumped = [f.model_dump() for f in facts]
    brands = {f.brand for f in facts}

    raw = _Host()
    raw.set_rulesets({f"raw.{b}.{t}": d for (b, t), d in ruleset_definitions(book, lambda _: _noop).items()})
    names = set(raw._ruleset_directory)
    sessions = itertools.count()
    raw_items = [(f"raw.{f.brand if f.brand in brands else 'default'}.{f.trigger}",
                  {"type": FACT_TYPE, **as_engine_facts(d)}) for f, d in zip(facts, dumped, strict=True)]
    trimmed_items = [(name, {"type": FACT_TYPE, **compiled.engine_facts(f.brand, f.trigger, d)})
                     for (name, _), f, d in zip(raw_items, facts, dumped, strict=True)]

    def raw_eval(item: tuple[str, dict]) -> None:
        name, fact = item
        if name not in names:
            return
        sid = f"s{next(sessions)}"
        try:
            raw.assert_fact(name, {**fact, "sid": sid})
        finally:
            raw.delete_state(name, sid)

    status = PlayerStatus()
    now = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    raw_rate = _rate(raw_eval, raw_items, rounds)
    trimmed_rate = _rate(raw_eval, trimmed_items, rounds)
    engine_rate = _rate(lambda d: compiled.matching(d["brand"], d["trigger"], d), dumped, rounds)
    decide_rate = _rate(lambda f: decide(compiled, f, status, player_id="p", key="k", now=now), facts, rounds)
    return {
        "name": "decisions",
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rules_in_force": sum(len(b.rules) for b in book.brands.values()),
        "facts": n, "rounds": rounds,
        "raw_durable_rules_per_s": round(raw_rate),
        "raw_durable_rules_trimmed_per_s": round(trimmed_rate),
        "engine_matching_per_s": round(engine_rate),
        "full_decisions_per_s": round(decide_rate),
        "cost_engine_over_raw_trimmed": round(trimmed_rate / engine_rate, 3),
        "cost_decide_over_raw_trimmed": round(trimmed_rate / decide_rate, 3),
        "cost_decide_over_raw_all_facts": round(raw_rate / decide_rate, 3),
    }


def _noop(_: Any) -> None:
    pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="best of this many passes")
    args = parser.parse_args()
    result = main(args.facts, args.rounds)
    print(f"{'case':<44}{'per s':>10}")
    print(f"{'raw durable_rules, all facts':<44}{result['raw_durable_rules_per_s']:>10}")
    print(f"{'raw durable_rules, facts the rules mention':<44}{result['raw_durable_rules_trimmed_per_s']:>10}")
    print(f"{'engine: CompiledRules.matching':<44}{result['engine_matching_per_s']:>10}")
    print(f"{'decide: rules + guards + record':<44}{result['full_decisions_per_s']:>10}")
    print(f"time per evaluation over raw (trimmed): engine {result['cost_engine_over_raw_trimmed']}x, "
          f"full decision {result['cost_decide_over_raw_trimmed']}x; "
          f"full decision over raw with all facts: {result['cost_decide_over_raw_all_facts']}x")
    save_case(result)
