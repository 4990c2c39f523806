"""The only module that knows durable_rules runs the rules.

A RuleBook compiles once into one durable_rules host: a ruleset per brand and trigger, one
durable rule per rule. ``evaluate`` asserts the facts as a single fact in a session of its
own and returns the ids of the rules that matched. What to do about them (priority, stop,
actions, guards) is decided elsewhere, in plain Python.

Pitfalls handled here (see ARCHITECTURE.md): the stock Host starts timer threads that crashed
under concurrent use, so ours runs none; facts, not events; a fresh session per evaluation,
deleted afterwards (a ruleset holds at most 1,024), and a catch-all rule so that session
always exists when it is deleted; every rule tests the fact's `type` so it
can never match session state; priorities are non-negative; an exception inside an action
comes back in the state and is raised here.
"""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal
from collections.abc import Callable
from typing import Any

from durable import engine as durable

from rules.book import RuleBook
from rules.format import MAX_PRIORITY, All, AnyOf, Compare, Condition, Not, Rule, Segment

FACT_TYPE = "crm_facts"
# The C core keeps rulesets in a process-wide table by name: a recompiled (reloaded) book
# reusing names crashed it, so every compilation gets names of its own.
_COMPILATIONS = itertools.count()
_FLIP = {"eq": "ne", "ne": "eq", "gt": "lte", "lte": "gt", "gte": "lt", "lt": "gte", "in": "not_in", "not_in": "in"}
_DURABLE_OP = {"ne": "$neq", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


class EngineError(RuntimeError):
    pass


class _QuietHost(durable.Host):
    def _run(self) -> None:
        """No background dispatch threads: evaluation is synchronous and on demand."""


class CompiledRules:
    """A RuleBook compiled for evaluation; safe to share between threads and tasks."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book
        self._host = _QuietHost()
        self._lock = threading.Lock()  # the C core holds the GIL anyway: this only orders Python-side steps
        self._sessions = itertools.count()
        self._matched: list[str] = []
        self._generation = next(_COMPILATIONS)
        definitions = {
            self._ruleset(brand, trigger): ruleset
            for (brand, trigger), ruleset in ruleset_definitions(book, self._recorder).items()
        }
        # Only the facts a ruleset's rules mention are handed to the engine: less to convert
        # and less JSON for the engine to parse.
        self._mentions = {
            self._ruleset(brand, trigger): frozenset(
                name for rule in book.brands[brand].for_trigger(trigger) for name in _mentioned(rule.condition)
            )
            for brand, trigger in ruleset_definitions(book, lambda _: _ignore)
        }
        if definitions:
            self._host.set_rulesets(definitions)
        self._rulesets = set(definitions)

    def matching(self, brand: str, trigger: str, facts: dict[str, Any]) -> list[str]:
        """Ids of the brand's rules for this trigger whose conditions hold for the facts."""
        brand = brand if brand in self.book.brands else "default"
        name = self._ruleset(brand, trigger)
        if name not in self._rulesets:
            return []
        with self._lock:
            sid = f"s{next(self._sessions)}"
            self._matched = []
            try:
                state = self._host.assert_fact(name, {"type": FACT_TYPE, "sid": sid, **self._engine_facts(name, facts)})
                if isinstance(state, dict) and state.get("exception"):
                    raise EngineError(str(state["exception"]))
            finally:
                self._host.delete_state(name, sid)
            return list(dict.fromkeys(self._matched))  # an `any` can match one rule twice

    def engine_facts(self, brand: str, trigger: str, facts: dict[str, Any]) -> dict[str, Any]:
        """The facts as handed to the engine for this brand and trigger (for inspection and benchmarks)."""
        brand = brand if brand in self.book.brands else "default"
        return self._engine_facts(self._ruleset(brand, trigger), facts)

    def _engine_facts(self, name: str, facts: dict[str, Any]) -> dict[str, Any]:
        return as_engine_facts(facts, self._mentions.get(name, frozenset()))

    def _ruleset(self, brand: str, trigger: str) -> str:
        return f"crm{self._generation}.{brand}.{trigger}"

    def _recorder(self, rule_id: str):  # noqa: ANN202 - durable_rules action signature
        def matched(_: Any) -> None:
            self._matched.append(rule_id)

        return matched


def ruleset_definitions(book: RuleBook, action_for: Callable[[str], Callable[[Any], None]]) -> dict[tuple[str, str], dict]:
    """durable_rules ruleset definitions per (brand, trigger), each rule running action_for(rule id)."""
    definitions = {}
    for brand, brand_rules in book.brands.items():
        by_trigger: dict[str, list[Rule]] = {}
        for rule in brand_rules.rules:
            by_trigger.setdefault(rule.trigger, []).append(rule)
        for trigger, rules in by_trigger.items():
            definitions[(brand, trigger)] = {
                **{
                    f"r{i}": {
                        "all": [{"m": {"$and": [{"type": FACT_TYPE}, *_compile(rule.condition)]}}],
                        "pri": rule.priority,
                        "run": action_for(rule.id),
                    }
                    for i, rule in enumerate(rules)
                },
                # Every fact is handled, so every session exists when it is deleted:
                # deleting the session of an unhandled fact crashed the C core.
                "handled": {"all": [{"m": {"type": FACT_TYPE}}], "pri": MAX_PRIORITY + 1, "run": _ignore},
            }
    return definitions


def _ignore(_: Any) -> None:
    pass


def as_engine_facts(facts: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
    """Facts as durable_rules sees them: numbers as floats, segments as seg_<name> flags,
    and absent (None) facts left out so that `exists: false` holds for them."""
    out: dict[str, Any] = {}
    for name, value in facts.items():
        if value is None or (only is not None and name not in only):
            continue
        if name == "segments":
            out.update({f"seg_{s}": True for s in value})
        else:
            out[name] = float(value) if isinstance(value, Decimal) else value
    return out


def _mentioned(condition: Condition | None) -> set[str]:
    match condition:
        case None:
            return set()
        case Compare(fact, _, _):
            return {fact}
        case Segment(_):
            return {"segments"}
        case Not(item):
            return _mentioned(item)
        case All(items) | AnyOf(items):
            return set().union(*(_mentioned(i) for i in items))
    raise TypeError(condition)


def _compile(condition: Condition | None) -> list[dict[str, Any]]:
    return [] if condition is None else [_expr(condition, negate=False)]


def _expr(c: Condition, negate: bool) -> dict[str, Any]:
    """durable_rules JSON for a condition; `not` is pushed down to the comparisons."""
    match c:
        case All(items):
            return {"$or" if negate else "$and": [_expr(i, negate) for i in items]}
        case AnyOf(items):
            return {"$and" if negate else "$or": [_expr(i, negate) for i in items]}
        case Not(item):
            return _expr(item, not negate)
        case Segment(name):
            return {"$nex": {f"seg_{name}": 1}} if negate else {f"seg_{name}": True}
        case Compare(fact, "exists", present):
            return {"$ex" if present != negate else "$nex": {fact: 1}}
        case Compare(fact, op, value):
            if not negate:
                return _compare(fact, op, value)
            # A missing fact fails every comparison, so its negation holds.
            return {"$or": [{"$nex": {fact: 1}}, _compare(fact, _FLIP[op], value)]}
    raise TypeError(c)


def _compare(fact: str, op: str, value: Any) -> dict[str, Any]:
    if op == "eq":
        return {fact: value}
    if op == "in":
        return {"$or": [{fact: v} for v in value]}
    if op == "not_in":
        return {"$and": [{"$neq": {fact: v}} for v in value]}
    return {_DURABLE_OP[op]: {fact: value}}
