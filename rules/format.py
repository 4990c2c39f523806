"""The rule-file format: what a rule editor writes, read with line numbers kept for errors.

    rules:
      - id: welcome-email
        description: Greet every new player who accepts email.
        trigger: registered
        when:
          all:
            - fact: consent_email
              eq: true
            - fact: country
              not_in: [US]
        then:
          - message: {channel: email, template: welcome_1}

Conditions, actions and the fact catalogue are documented in docs/rules.md and docs/facts.md.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crm.events import CHANNELS, Channel
from crm.facts import FACT_NAMES, SEGMENTS, TRIGGERS, VipTier, fact_kind
from crm.journeys import JOURNEY_STEPS, JOURNEY_TRIGGERS

COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists")
MAX_PRIORITY = 999_999
BONUS_KINDS = ("deposit_match", "free_spins", "cashback", "free_bet")


# ---- YAML with line numbers -------------------------------------------------------------

class Located(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - safe loader subclass


def line_of(node: Any, key: Any = None, default: int = 0) -> int:
    if isinstance(node, Located):
        return node.key_lines.get(key, node.line) if key is not None else node.line
    return default


# ---- problems ---------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a rule file, said so that an editor can find and fix it."""

    file: str
    line: int
    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"rule {self.rule}: " if self.rule else ""
        return f"{self.file}:{self.line}: {where}{self.field}: {self.message}"


class RuleFileError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Problems:
    file: str
    found: list[Problem] = field(default_factory=list)

    def add(self, line: int, rule: str, at: str, message: str) -> None:
        self.found.append(Problem(self.file, line, rule, at, message))


def did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---- conditions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Compare:
    fact: str
    op: str
    value: Any


@dataclass(frozen=True)
class Segment:
    name: str


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | Segment | All | AnyOf | Not


def parse_condition(node: Any, at: str, rule: str, problems: Problems, line: int) -> Condition | None:
    """Read one condition; on a mistake, record it and return None."""
    line = line_of(node, default=line)
    if isinstance(node, list):
        return _group(All, node, at, rule, problems, line)
    if not isinstance(node, dict) or not node:
        problems.add(line, rule, at, "a condition is a mapping such as {fact: deposit_total, gte: 100}")
        return None
    keys = set(node)
    if keys <= {"all", "any", "not", "segment"} and len(keys) == 1:
        (key,) = keys
        value = node[key]
        if key == "segment":
            if value not in SEGMENTS:
                problems.add(line_of(node, key, line), rule, f"{at}.segment",
                             f"unknown segment {value!r}{did_you_mean(str(value), SEGMENTS)}")
                return None
            return Segment(value)
        if key == "not":
            inner = parse_condition(value, f"{at}.not", rule, problems, line_of(node, key, line))
            return Not(inner) if inner else None
        return _group(All if key == "all" else AnyOf, value, f"{at}.{key}", rule, problems, line)
    if "fact" not in node:
        unknown = sorted(str(k) for k in keys - {"all", "any", "not", "segment"})
        problems.add(line, rule, at, f"unknown condition {', '.join(unknown) or 'keys'}: "
                     "use fact + operator, segment, all, any or not")
        return None
    return _comparison(node, at, rule, problems, line)


def _group(kind: type[All] | type[AnyOf], items: Any, at: str, rule: str, problems: Problems, line: int) -> Condition | None:
    if not isinstance(items, list) or not items:
        problems.add(line, rule, at, "needs a non-empty list of conditions")
        return None
    parsed = [parse_condition(item, f"{at}[{i}]", rule, problems, line) for i, item in enumerate(items)]
    if any(p is None for p in parsed):
        return None
    return kind(tuple(parsed))  # type: ignore[arg-type]


def _comparison(node: dict, at: str, rule: str, problems: Problems, line: int) -> Compare | None:
    name = node["fact"]
    fact_line = line_of(node, "fact", line)
    if name not in FACT_NAMES:
        hint = " (segments are tested with `segment: NAME`)" if name == "segments" else did_you_mean(str(name), FACT_NAMES)
        problems.add(fact_line, rule, f"{at}.fact", f"unknown fact {name!r}{hint}")
        return None
    ops = [k for k in node if k != "fact"]
    if len(ops) != 1:
        problems.add(fact_line, rule, at, f"fact {name!r} needs exactly one operator of {', '.join(COMPARISONS)}")
        return None
    (op,) = ops
    op_line = line_of(node, op, line)
    if op not in COMPARISONS:
        problems.add(op_line, rule, f"{at}.{op}",
                     f"unknown operator {op!r}{did_you_mean(str(op), COMPARISONS)}; use one of {', '.join(COMPARISONS)}")
        return None
    value = node[op]
    message = _value_problem(name, op, value)
    if message:
        problems.add(op_line, rule, f"{at}.{op}", message)
        return None
    if isinstance(value, list):
        value = tuple(value)
    return Compare(name, op, value)


def _value_problem(fact: str, op: str, value: Any) -> str | None:
    kind, allowed = fact_kind(fact)
    if op == "exists":
        return None if isinstance(value, bool) else "exists takes true or false"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return f"{op} takes a non-empty list"
        return next((p for p in (_one_value(fact, kind, allowed, v) for v in value) if p), None)
    if op in ("gt", "gte", "lt", "lte") and kind != "number":
        return f"{op} compares numbers, and {fact!r} is a {kind}"
    return _one_value(fact, kind, allowed, value)


def _one_value(fact: str, kind: str, allowed: tuple[str, ...], value: Any) -> str | None:
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{fact!r} is a number, got {value!r}"
    if kind == "bool" and not isinstance(value, bool):
        return f"{fact!r} is true or false, got {value!r}"
    if kind == "string":
        if not isinstance(value, str):
            return f"{fact!r} is text, got {value!r}"
        if allowed and value not in allowed:
            return f"{value!r} is not a value of {fact!r}{did_you_mean(value, allowed)}; one of {', '.join(allowed)}"
    return None


# ---- actions ----------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bonus(_Strict):
    kind: Literal["deposit_match", "free_spins", "cashback", "free_bet"]
    amount: Decimal | None = Field(default=None, gt=0, description="Fixed value in the account currency.")
    percent: Decimal | None = Field(default=None, gt=0, le=1000, description="Percent of the trigger amount.")
    cap: Decimal | None = Field(default=None, gt=0, description="Largest value a percent bonus may reach.")
    wagering: Decimal = Field(default=Decimal(0), ge=0, description="Wagering requirement, times the bonus.")
    expires_in_days: int = Field(default=7, ge=1, le=365)

    @model_validator(mode="after")
    def _amount_or_percent(self) -> Bonus:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give exactly one of amount or percent")
        if self.cap is not None and self.amount is not None:
            raise ValueError("cap goes with percent, not with a fixed amount")
        return self

    def value(self, trigger_amount: Decimal) -> Decimal:
        """What the bonus is worth for this trigger."""
        if self.amount is not None:
            return self.amount
        assert self.percent is not None
        value = (trigger_amount * self.percent / 100).quantize(Decimal("0.01"))
        return min(value, self.cap) if self.cap is not None else value


class Message(_Strict):
    channel: Channel
    template: str = Field(min_length=1, max_length=128)


class VipTierChange(_Strict):
    tier: VipTier


class Task(_Strict):
    queue: str = Field(min_length=1, max_length=64, description="Staff queue, e.g. vip_managers.")
    note: str = Field(min_length=1, max_length=500)
    care: bool = Field(default=False, description="A responsible-gambling interaction, not marketing.")


class NoAction(_Strict):
    pass


ACTION_MODELS: dict[str, type[_Strict]] = {
    "bonus": Bonus, "message": Message, "vip_tier": VipTierChange, "task": Task, "none": NoAction,
}
ActionKind = Literal["bonus", "message", "vip_tier", "task", "none"]


class Action(BaseModel):
    """One thing a rule asks for: its kind and the details for that kind."""

    model_config = ConfigDict(frozen=True)
    kind: ActionKind
    bonus: Bonus | None = None
    message: Message | None = None
    vip_tier: VipTierChange | None = None
    task: Task | None = None

    @property
    def details(self) -> _Strict | None:
        return getattr(self, self.kind, None) if self.kind != "none" else None

    def describe(self) -> dict[str, Any]:
        details = self.details
        return {self.kind: details.model_dump(mode="json", exclude_defaults=False) if details else {}}


def parse_action(node: Any, at: str, rule: str, problems: Problems, line: int) -> Action | None:
    line = line_of(node, default=line)
    if node == "none":
        return Action(kind="none")
    if not isinstance(node, dict) or len(node) != 1:
        problems.add(line, rule, at, f"an action is one of {', '.join(ACTION_MODELS)}, e.g. "
                     "{message: {channel: email, template: welcome_1}}")
        return None
    ((kind, details),) = node.items()
    kind_line = line_of(node, kind, line)
    if kind not in ACTION_MODELS:
        problems.add(kind_line, rule, f"{at}.{kind}", f"unknown action {kind!r}{did_you_mean(str(kind), list(ACTION_MODELS))}")
        return None
    if kind == "vip_tier" and isinstance(details, str):
        details = {"tier": details}
    try:
        parsed = ACTION_MODELS[kind].model_validate(details or {})
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in error["loc"])
            key = error["loc"][0] if error["loc"] else None
            problems.add(line_of(details, key, kind_line), rule, f"{at}.{kind}{'.' + where if where else ''}",
                         error["msg"].removeprefix("Value error, "))
        return None
    return Action(kind=kind, **({kind: parsed} if kind != "none" else {}))


# ---- rules ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    trigger: str
    then: tuple[Action, ...]
    step: str = "start"
    when: Condition | None = None
    priority: int = 100
    stop: bool = False
    enabled: bool = True
    file: str = ""
    line: int = 0

    @property
    def condition(self) -> Condition:
        """What the engine tests: the editor's `when`, at the rule's step."""
        at_step = Compare("journey_step", "eq", self.step)
        return All((at_step, self.when)) if self.when else at_step

    @property
    def order(self) -> tuple[int, str]:
        """Lower priority numbers are considered first; ties go by id."""
        return (self.priority, self.id)


RULE_KEYS = ("id", "description", "trigger", "journey", "step", "when", "then", "priority", "stop", "enabled")


def parse_rule(node: Any, problems: Problems, index: int) -> Rule | None:
    at_line = line_of(node)
    if not isinstance(node, dict):
        problems.add(at_line, "", f"rules[{index}]", "a rule is a mapping with id, description, trigger, when, then")
        return None
    rule_id = node.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        problems.add(at_line, "", f"rules[{index}].id", "every rule needs an id")
        return None
    count = len(problems.found)
    for key in node:
        if key not in RULE_KEYS:
            problems.add(line_of(node, key, at_line), rule_id, str(key),
                         f"unknown key{did_you_mean(str(key), RULE_KEYS)}; a rule has {', '.join(RULE_KEYS)}")
    if not isinstance(node.get("description"), str) or not node["description"].strip():
        problems.add(at_line, rule_id, "description", "say in a sentence what the rule is for")
    trigger = _trigger_of(node, rule_id, problems, at_line)
    priority = node.get("priority", 100)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= MAX_PRIORITY:
        problems.add(line_of(node, "priority", at_line), rule_id, "priority",
                     f"a whole number from 0 to {MAX_PRIORITY} (lower goes first)")
    for flag in ("stop", "enabled"):
        if flag in node and not isinstance(node[flag], bool):
            problems.add(line_of(node, flag, at_line), rule_id, flag, "true or false")
    when = None
    if "when" in node:
        when = parse_condition(node["when"], "when", rule_id, problems, line_of(node, "when", at_line))
    step = _step_of(node, rule_id, problems, at_line)
    then = node.get("then")
    actions: list[Action | None] = []
    if not isinstance(then, list) or not then:
        problems.add(line_of(node, "then", at_line), rule_id, "then", "a list of one or more actions (use `- none` for nothing)")
    else:
        actions = [parse_action(a, f"then[{i}]", rule_id, problems, line_of(node, "then", at_line))
                   for i, a in enumerate(then)]
    if len(problems.found) > count or trigger is None:
        return None
    return Rule(
        id=rule_id, description=node["description"], trigger=trigger, step=step, when=when,
        then=tuple(a for a in actions if a), priority=priority, stop=node.get("stop", False),
        enabled=node.get("enabled", True), file=problems.file, line=at_line,
    )


def _trigger_of(node: dict, rule_id: str, problems: Problems, line: int) -> str | None:
    if ("trigger" in node) == ("journey" in node):
        problems.add(line, rule_id, "trigger", "give either trigger or journey")
        return None
    if "journey" in node:
        journey = node["journey"]
        if journey not in JOURNEY_TRIGGERS:
            problems.add(line_of(node, "journey", line), rule_id, "journey",
                         f"unknown journey {journey!r}{did_you_mean(str(journey), list(JOURNEY_TRIGGERS))}")
            return None
        return JOURNEY_TRIGGERS[journey]
    trigger = node["trigger"]
    if trigger not in TRIGGERS:
        problems.add(line_of(node, "trigger", line), rule_id, "trigger",
                     f"unknown trigger {trigger!r}{did_you_mean(str(trigger), TRIGGERS)}; one of {', '.join(TRIGGERS)}")
        return None
    return trigger


def _step_of(node: dict, rule_id: str, problems: Problems, line: int) -> str:
    """A journey's rule may name the decision point it is for; every other rule is for `start`."""
    step = node.get("step", "start")
    steps = JOURNEY_STEPS.get(node.get("journey"), ("start",))
    if step not in steps:
        where = f"journey {node['journey']}" if "journey" in node else "a trigger rule"
        problems.add(line_of(node, "step", line), rule_id, "step",
                     f"unknown step {step!r} for {where}{did_you_mean(str(step), steps)}; one of {', '.join(steps)}")
    return step


def parse_rule_file(path: Path, shown_as: str) -> tuple[list[Rule], list[Problem]]:
    problems = Problems(shown_as)
    try:
        document = load_yaml(path)
    except yaml.YAMLError as broken:
        mark = getattr(broken, "problem_mark", None)
        problems.add(mark.line + 1 if mark else 0, "", "yaml", str(getattr(broken, "problem", broken)))
        return [], problems.found
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        problems.add(line_of(document, default=1), "", "rules", "a rule file holds `rules:`, a list of rules")
        return [], problems.found
    parsed = [parse_rule(node, problems, i) for i, node in enumerate(document["rules"])]
    return [r for r in parsed if r], problems.found

