"""Rule files: every operator evaluated by the real engine, and every error an editor can make."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from crm.facts import Facts
from rules.book import load_book
from rules.format import RuleFileError
from rules_support import compile_rules, one_rule, write_rules

BASE = {"deposit_total": Decimal("250"), "country": "MT", "kyc_status": "verified", "consent_email": True,
        "age": 30, "segments": ["vip", "prefers_slots"], "churn_risk": Decimal("0.42")}


@pytest.mark.parametrize(
    ("when", "matches"),
    [
        ("fact: country\neq: MT", True),
        ("fact: country\neq: GB", False),
        ("fact: country\nne: GB", True),
        ("fact: deposit_total\ngt: 249.99", True),
        ("fact: deposit_total\ngt: 250", False),
        ("fact: deposit_total\ngte: 250", True),
        ("fact: deposit_total\nlt: 250", False),
        ("fact: deposit_total\nlte: 250", True),
        ("fact: churn_risk\ngte: 0.42", True),
        ("fact: country\nin: [GB, MT]", True),
        ("fact: country\nnot_in: [GB, MT]", False),
        ("fact: consent_email\neq: true", True),
        ("fact: consent_sms\neq: false", True),
        ("fact: kyc_status\nin: [pending, rejected]", False),
        ("fact: age\nexists: true", True),
        ("fact: favourite_game\nexists: false", True),
        ("fact: favourite_game\neq: slots", False),          # an absent fact fails every comparison...
        ("not:\n  fact: favourite_game\n  eq: slots", True),  # ...so its negation holds
        ("fact: favourite_game\nne: slots", False),
        ("segment: vip", True),
        ("segment: new", False),
        ("not:\n  segment: new", True),
        ("all:\n  - fact: country\n    eq: MT\n  - segment: vip", True),
        ("all:\n  - fact: country\n    eq: MT\n  - segment: new", False),
        ("any:\n  - fact: country\n    eq: GB\n  - segment: vip", True),
        ("any:\n  - fact: country\n    eq: GB\n  - segment: new", False),
        ("not:\n  all:\n    - fact: country\n      eq: MT\n    - segment: new", True),
        ("not:\n  any:\n    - fact: country\n      eq: GB\n    - segment: vip", False),
        ("- fact: country\n  eq: MT\n- fact: age\n  gte: 25", True),  # a list means all
        ("- fact: country\n  eq: MT\n- fact: age\n  gte: 31", False),
    ],
)
def test_each_operator_decides_as_documented(tmp_path: Path, when: str, matches: bool) -> None:
    compiled = compile_rules(tmp_path, {"default/r.yaml": one_rule(when)})
    facts = Facts(trigger="deposit", **BASE).model_dump()
    assert compiled.matching("default", "deposit", facts) == (["r"] if matches else [])


def _problems(tmp_path: Path, files: dict[str, str], brand_yaml: str = "policy: default\n") -> list[str]:
    with pytest.raises(RuleFileError) as refused:
        load_book(write_rules(tmp_path, files, brand_yaml))
    return [str(p) for p in refused.value.problems]


def test_an_unknown_fact_is_named_with_file_line_rule_and_a_suggestion(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"default/r.yaml": one_rule("fact: deposit_totl\ngte: 10")})
    assert problems == [
        f"{tmp_path.name}/default/r.yaml:6: rule r: when.fact: unknown fact 'deposit_totl' (did you mean 'deposit_total'?)"
    ]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("fact: deposit_total\ngte: lots", "when.gte: 'deposit_total' is a number, got 'lots'"),
        ("fact: country\ngt: 3", "when.gt: gt compares numbers, and 'country' is a string"),
        ("fact: kyc_status\neq: done", "'done' is not a value of 'kyc_status'"),
        ("fact: consent_email\neq: yes please", "'consent_email' is true or false"),
        ("fact: country\nin: []", "in takes a non-empty list"),
        ("fact: country\nlike: M%", "when.like: unknown operator 'like'"),
        ("fact: country", "needs exactly one operator"),
        ("segment: whales", "unknown segment 'whales'"),
        ("all: []", "needs a non-empty list of conditions"),
        ("fact: segments\neq: vip", "segments are tested with `segment: NAME`"),
        ("deposit_total: 10", "unknown condition deposit_total"),
    ],
)
def test_wrong_conditions_say_what_is_wrong(tmp_path: Path, when: str, expected: str) -> None:
    problems = _problems(tmp_path, {"default/r.yaml": one_rule(when)})
    assert len(problems) == 1 and expected in problems[0], problems
    assert "rule r: " in problems[0]


@pytest.mark.parametrize(
    ("then", "expected"),
    [
        ("- bonus: {kind: free_spins}", "give exactly one of amount or percent"),
        ("- bonus: {kind: free_spins, amount: 5, percent: 10}", "give exactly one of amount or percent"),
        ("- bonus: {kind: lottery, amount: 5}", "then[0].bonus.kind"),
        ("- bonus: {kind: free_spins, amount: -5}", "then[0].bonus.amount: Input should be greater than 0"),
        ("- bonus: {kind: cashback, percent: 10}", "a percent bonus needs a cap"),
        ("- bonus: {kind: free_bet, amount: 500}", "500 is over brand default's bonus cap of 100"),
        ("- message: {channel: fax, template: t}", "then[0].message.channel"),
        ("- message: {channel: email}", "then[0].message.template: Field required"),
        ("- vip_tier: diamond", "then[0].vip_tier.tier"),
        ("- task: {queue: vip}", "then[0].task.note: Field required"),
        ("- refund: {amount: 5}", "unknown action 'refund'"),
        ("- message: {channel: email, template: t, colour: red}", "then[0].message.colour: Extra inputs"),
    ],
)
def test_wrong_actions_say_what_is_wrong(tmp_path: Path, then: str, expected: str) -> None:
    problems = _problems(tmp_path, {"default/r.yaml": one_rule("fact: country\neq: MT", then=then)})
    assert any(expected in p for p in problems), problems


def test_duplicate_ids_in_one_brand_are_refused_with_both_places(tmp_path: Path) -> None:
    rule = one_rule("fact: country\neq: MT")
    problems = _problems(tmp_path, {"default/a.yaml": rule, "default/b.yaml": rule})
    assert problems == [f"{tmp_path.name}/default/b.yaml:2: rule r: id: duplicate id: also at {tmp_path.name}/default/a.yaml:2"]


def test_a_rule_after_an_unconditional_stop_is_unreachable(tmp_path: Path) -> None:
    text = """\
        rules:
          - id: everyone
            description: always, and nothing after
            trigger: deposit
            priority: 1
            stop: true
            then: [none]
          - id: never
            description: cannot fire
            trigger: deposit
            priority: 5
            then: [none]
          - id: other-trigger
            description: different trigger, still reachable
            trigger: loss
            then: [none]
    """
    problems = _problems(tmp_path, {"default/r.yaml": text})
    assert len(problems) == 1
    assert "rule never: priority: unreachable: rule everyone" in problems[0]


def test_rule_keys_triggers_and_journeys_are_checked(tmp_path: Path) -> None:
    text = """\
        rules:
          - id: a
            description: misspelt key
            trigger: deposit
            then: [none]
            priorty: 3
          - id: b
            description: unknown trigger
            trigger: depsit
            then: [none]
          - id: c
            description: unknown journey
            journey: welcom
            then: [none]
          - id: d
            trigger: deposit
            then: [none]
    """
    problems = _problems(tmp_path, {"default/r.yaml": text})
    assert any("rule a: priorty: unknown key (did you mean 'priority'?)" in p for p in problems)
    assert any("rule b: trigger: unknown trigger 'depsit' (did you mean 'deposit'?)" in p for p in problems)
    assert any("rule c: journey: unknown journey 'welcom' (did you mean 'welcome'?)" in p for p in problems)
    assert any("rule d: description: say in a sentence" in p for p in problems)


def test_broken_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"default/r.yaml": "rules:\n  - id: a\n    description: [unclosed\n"})
    assert problems and problems[0].startswith(f"{tmp_path.name}/default/r.yaml:") and ": yaml: " in problems[0]


def test_a_brand_overrides_a_default_rule_by_id_and_keeps_the_rest(tmp_path: Path) -> None:
    default = one_rule("fact: deposit_total\ngte: 100", then="- message: {channel: email, template: default}")
    extra = default.replace("id: r", "id: extra")
    brand = one_rule("fact: deposit_total\ngte: 500", then="- message: {channel: email, template: acme}")
    compiled = compile_rules(tmp_path, {"default/r.yaml": default, "default/extra.yaml": extra,
                                        "acme/r.yaml": brand, "acme/brand.yaml": "policy: mga\n"})
    facts = Facts(trigger="deposit", deposit_total=Decimal(200)).model_dump()
    assert compiled.matching("default", "deposit", facts) == ["extra", "r"] or \
        sorted(compiled.matching("default", "deposit", facts)) == ["extra", "r"]
    assert compiled.matching("acme", "deposit", facts) == ["extra"]
    assert compiled.book.for_brand("acme").config.policy == "mga"
    assert compiled.book.for_brand("unknown-brand").brand == "default"


def test_a_brand_can_switch_off_a_default_rule(tmp_path: Path) -> None:
    rule = one_rule("fact: country\neq: MT")
    off = rule.replace("    when:", "    enabled: false\n    when:")
    compiled = compile_rules(tmp_path, {"default/r.yaml": rule, "acme/r.yaml": off})
    facts = Facts(trigger="deposit", country="MT").model_dump()
    assert compiled.matching("default", "deposit", facts) == ["r"]
    assert compiled.matching("acme", "deposit", facts) == []


def test_an_invalid_brand_config_is_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"default/r.yaml": one_rule("fact: country\neq: MT")},
                         brand_yaml="policy: nevada\ncaps:\n  bonus_amount: -1\n")
    assert any("policy" in p and "nevada" not in p or "policy: Input should be" in p for p in problems)
    assert any("caps.bonus_amount" in p for p in problems)
