"""Compliance guards and policy packs: a rule may match, the law still has the last word."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.facts import FACT_NAMES, SEGMENTS, Facts, fact_kind
from rules.decide import Decision, decide
from rules.engine import CompiledRules
from rules.guards import PlayerStatus
from rules_support import compile_rules

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
EVERYTHING = """
rules:
  - id: spins
    description: spins for everyone
    trigger: deposit
    then:
      - bonus: {kind: free_spins, amount: 10, wagering: 10}
  - id: mail
    description: mail everyone
    trigger: deposit
    then:
      - message: {channel: email, template: hello}
  - id: gold
    description: gold for everyone
    trigger: deposit
    then:
      - vip_tier: gold
  - id: call
    description: marketing call
    trigger: deposit
    then:
      - task: {queue: sales, note: call}
  - id: care-call
    description: a responsible-gambling check-in
    trigger: deposit
    then:
      - task: {queue: safer_gambling, note: check in, care: true}
"""
ADULT = dict(trigger="deposit", consent_email=True, kyc_status="verified", age=40, deposit_count=1)


def _decide(compiled: CompiledRules, brand: str = "default", now: datetime = NOON, **status: Any) -> Decision:
    facts = Facts(brand=brand, **ADULT)
    return decide(compiled, facts, PlayerStatus(**status), player_id="p", key="k", now=now)


def _verdicts(decision: Decision) -> dict[str, tuple[str, str | None]]:
    return {o.rule: (o.verdict, o.guard) for o in decision.outcomes}


@pytest.fixture
def everything(tmp_path: Path) -> CompiledRules:
    return compile_rules(tmp_path, {"default/all.yaml": EVERYTHING,
                                    "royal/brand.yaml": "policy: ukgc\n", "acme/brand.yaml": "policy: mga\n",
                                    "nordic/brand.yaml": "policy: sga\n"})


def test_an_unprotected_adult_gets_everything_the_rules_give(everything: CompiledRules) -> None:
    assert {v for v, _ in _verdicts(_decide(everything)).values()} == {"allowed"}


@pytest.mark.parametrize("status", [{"self_excluded": True}, {"account_closed": True}, {"rg_severity": "high"}])
def test_protected_players_get_no_marketing_and_no_incentive_but_care_goes_through(
    everything: CompiledRules, status: dict[str, Any]
) -> None:
    decision = _decide(everything, **status)
    assert _verdicts(decision) == {
        "spins": ("vetoed", "protected_player"), "mail": ("vetoed", "protected_player"),
        "gold": ("vetoed", "protected_player"), "call": ("vetoed", "protected_player"),
        "care-call": ("allowed", None),
    }
    assert [a for a in decision.actions] == [{"task": {"queue": "safer_gambling", "note": "check in", "care": True}}]


@pytest.mark.parametrize(("brand", "blocked"), [("default", True), ("royal", True), ("acme", False), ("nordic", True)])
def test_a_medium_rg_flag_blocks_where_the_pack_says(everything: CompiledRules, brand: str, blocked: bool) -> None:
    verdict, guard = _verdicts(_decide(everything, brand=brand, rg_severity="medium"))["mail"]
    assert (verdict == "vetoed" and guard == "protected_player") is blocked


def test_no_message_without_consent_for_its_channel(tmp_path: Path) -> None:
    compiled = compile_rules(tmp_path, {"default/r.yaml": EVERYTHING})
    facts = Facts(**{**ADULT, "consent_email": False})
    decision = decide(compiled, facts, PlayerStatus(), player_id="p", key="k", now=NOON)
    outcome = next(o for o in decision.outcomes if o.rule == "mail")
    assert (outcome.verdict, outcome.guard, outcome.reason) == ("vetoed", "consent", "no marketing consent for email")


@pytest.mark.parametrize(
    ("status", "reason"),
    [({"messages_today": {"email": 2}}, "email cap of 2 a day reached"),
     ({"messages_week": {"email": 7}}, "email cap of 7 a week reached")],
)
def test_frequency_caps_per_channel(everything: CompiledRules, status: dict, reason: str) -> None:
    outcome = next(o for o in _decide(everything, **status).outcomes if o.rule == "mail")
    assert (outcome.verdict, outcome.guard, outcome.reason) == ("vetoed", "frequency_cap", reason)


def test_quiet_hours_hold_a_message_until_morning_in_the_players_timezone(everything: CompiledRules) -> None:
    late_in_tokyo = datetime(2026, 6, 1, 14, 0, tzinfo=timezone.utc)  # 23:00 in Tokyo
    outcome = next(o for o in _decide(everything, now=late_in_tokyo, timezone="Asia/Tokyo").outcomes if o.rule == "mail")
    assert (outcome.verdict, outcome.guard) == ("held", "quiet_hours")
    assert outcome.hold_until == datetime(2026, 6, 2, 0, 0, tzinfo=timezone.utc)  # 09:00 Tokyo
    assert outcome.action == {"message": {"channel": "email", "template": "hello"}}
    same_moment_in_london = next(o for o in _decide(everything, now=late_in_tokyo, timezone="Europe/London").outcomes
                                 if o.rule == "mail")
    assert same_moment_in_london.verdict == "allowed"


def test_a_brand_can_drop_rather_than_hold_messages_in_quiet_hours(tmp_path: Path) -> None:
    compiled = compile_rules(tmp_path, {"default/r.yaml": EVERYTHING, "acme/brand.yaml": "hold_in_quiet_hours: false\n"})
    night = datetime(2026, 6, 1, 23, 30, tzinfo=timezone.utc)
    outcome = next(o for o in _decide(compiled, brand="acme", now=night).outcomes if o.rule == "mail")
    assert (outcome.verdict, outcome.guard, outcome.reason) == ("vetoed", "quiet_hours", "quiet hours in UTC")
    held = next(o for o in _decide(compiled, brand="default", now=night).outcomes if o.rule == "mail")
    assert held.verdict == "held"


def test_a_bonus_abuser_gets_no_bonus_but_may_get_mail(everything: CompiledRules) -> None:
    verdicts = _verdicts(_decide(everything, bonus_abuse=True))
    assert verdicts["spins"] == ("vetoed", "bonus_abuse") and verdicts["mail"] == ("allowed", None)


def test_budgets_per_player_and_per_brand(everything: CompiledRules) -> None:
    assert _verdicts(_decide(everything, incentives_30d=Decimal(295)))["spins"] == ("vetoed", "incentive_budget")
    assert _verdicts(_decide(everything, brand_incentives_today=Decimal(9995)))["spins"] == ("vetoed", "incentive_budget")
    assert _verdicts(_decide(everything, incentives_30d=Decimal(290)))["spins"] == ("allowed", None)


@pytest.mark.parametrize(
    ("brand", "age", "kyc", "allowed"),
    [("royal", 24, "verified", False), ("royal", 25, "verified", True), ("acme", 19, "verified", True),
     ("acme", 40, "pending", False), ("default", None, "verified", False)],
)
def test_vip_only_for_verified_players_old_enough_for_the_pack(
    everything: CompiledRules, brand: str, age: int | None, kyc: str, allowed: bool
) -> None:
    facts = Facts(brand=brand, **{**ADULT, "age": age, "kyc_status": kyc})
    decision = decide(everything, facts, PlayerStatus(), player_id="p", key="k", now=NOON)
    verdict = next(o for o in decision.outcomes if o.rule == "gold")
    assert (verdict.verdict == "allowed") is allowed
    if not allowed:
        assert verdict.guard == "vip_eligibility"


def test_ukgc_caps_wagering_at_ten_and_pays_cashback_as_cash(tmp_path: Path) -> None:
    rules = """
    rules:
      - id: heavy
        description: wagering 20
        trigger: loss
        then: [{bonus: {kind: free_spins, amount: 10, wagering: 20}}]
      - id: back
        description: cashback with wagering
        trigger: loss
        then: [{bonus: {kind: cashback, percent: 10, cap: 50, wagering: 5}}]
    """
    compiled = compile_rules(tmp_path, {"default/r.yaml": rules, "royal/brand.yaml": "policy: ukgc\n",
                                        "acme/brand.yaml": "policy: mga\n"})
    facts = Facts(brand="royal", trigger="loss", trigger_amount=Decimal(300))
    decision = decide(compiled, facts, PlayerStatus(), player_id="p", key="k", now=NOON)
    by_rule = {o.rule: o for o in decision.outcomes}
    heavy, back = by_rule["heavy"], by_rule["back"]
    assert (heavy.verdict, heavy.guard) == ("vetoed", "wagering_limit")
    assert heavy.reason == "wagering 20x is over the ukgc limit of 10x"
    assert (back.verdict, back.guard) == ("adjusted", "cashback_as_cash")
    assert back.action["bonus"]["wagering"] == "0" and back.value == Decimal("30.00")
    mga = decide(compiled, facts.model_copy(update={"brand": "acme"}), PlayerStatus(), player_id="p", key="k", now=NOON)
    assert [o.verdict for o in mga.outcomes] == ["allowed", "allowed"]


@pytest.mark.parametrize(
    ("trigger", "deposits", "allowed"),
    [("registered", 0, True), ("first_deposit", 1, True), ("deposit", 1, False), ("deposit", 3, False)],
)
def test_sga_allows_a_bonus_only_at_the_first_occasion(tmp_path: Path, trigger: str, deposits: int, allowed: bool) -> None:
    rules = f"""
    rules:
      - id: b
        description: a bonus
        trigger: {trigger}
        then: [{{bonus: {{kind: free_spins, amount: 5}}}}]
    """
    compiled = compile_rules(tmp_path, {"default/r.yaml": rules, "nordic/brand.yaml": "policy: sga\n"})
    facts = Facts(brand="nordic", trigger=trigger, deposit_count=deposits)
    (outcome,) = decide(compiled, facts, PlayerStatus(), player_id="p", key="k", now=NOON).outcomes
    assert (outcome.verdict == "allowed") is allowed
    if not allowed:
        assert outcome.guard == "first_occasion_only"


def test_a_stop_rule_cuts_the_rules_after_it_but_the_record_shows_them_matched(tmp_path: Path) -> None:
    rules = """
    rules:
      - id: first
        description: first, and stop
        trigger: deposit
        priority: 1
        stop: true
        when: {fact: deposit_count, gte: 1}
        then: [{message: {channel: email, template: a}}]
      - id: second
        description: would also match
        trigger: deposit
        priority: 2
        then: [{message: {channel: email, template: b}}]
    """
    compiled = compile_rules(tmp_path, {"default/r.yaml": rules})
    decision = decide(compiled, Facts(**ADULT), PlayerStatus(), player_id="p", key="k", now=NOON)
    assert decision.matched == ["first", "second"] and decision.applied == ["first"]
    assert decision.actions == [{"message": {"channel": "email", "template": "a"}}]


# ---- no rule set, however wrong, reaches a self-excluded player ----

def _values(name: str) -> st.SearchStrategy[Any]:
    kind, allowed = fact_kind(name)
    if kind == "bool":
        return st.booleans()
    if allowed:
        return st.sampled_from(allowed)
    if name in ("churn_risk", "bonus_share_of_stake"):
        return st.sampled_from([0, 0.25, 0.5, 0.75, 1])
    if kind == "number":
        return st.integers(min_value=0, max_value=1000)
    return st.sampled_from(["MT", "GB", "SE"])


comparisons = st.sampled_from(FACT_NAMES).flatmap(
    lambda name: st.one_of(
        st.builds(lambda op, v: {"fact": name, op: v}, st.sampled_from(["eq", "ne"]), _values(name)),
        st.builds(lambda v: {"fact": name, "exists": v}, st.booleans()),
        st.builds(lambda vs: {"fact": name, "in": vs}, st.lists(_values(name), min_size=1, max_size=3)),
        *([st.builds(lambda op, v: {"fact": name, op: v}, st.sampled_from(["gt", "gte", "lt", "lte"]), _values(name))]
          if fact_kind(name)[0] == "number" else []),
    )
)
conditions = st.recursive(
    comparisons | st.builds(lambda s: {"segment": s}, st.sampled_from(SEGMENTS)),
    lambda inner: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=6,
)
actions = st.sampled_from([
    {"bonus": {"kind": "free_spins", "amount": 10}}, {"bonus": {"kind": "cashback", "percent": 50, "cap": 100}},
    {"bonus": {"kind": "deposit_match", "percent": 100, "cap": 100, "wagering": 40}},
    {"message": {"channel": "email", "template": "t"}}, {"message": {"channel": "sms", "template": "t"}},
    {"vip_tier": {"tier": "platinum"}}, {"task": {"queue": "sales", "note": "n"}},
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rule_set=st.lists(st.tuples(st.one_of(st.none(), conditions), st.lists(actions, min_size=1, max_size=3),
                                st.integers(0, 20), st.booleans()), min_size=1, max_size=6),
    facts=st.fixed_dictionaries({name: _values(name) for name in FACT_NAMES if name not in ("brand", "trigger")}),
    segments=st.lists(st.sampled_from(SEGMENTS), max_size=3, unique=True),
    pack=st.sampled_from(["default", "ukgc", "mga", "sga"]),
)
def test_no_generated_rule_set_gives_a_self_excluded_player_anything(
    tmp_path_factory: pytest.TempPathFactory, rule_set: list, facts: dict, segments: list, pack: str
) -> None:
    import yaml

    rules = [
        {"id": f"r{i}", "description": "generated", "trigger": "deposit", "priority": priority,
         **({"when": when} if when is not None else {}), "then": then}
        for i, (when, then, priority, _) in enumerate(rule_set)
    ]
    root = tmp_path_factory.mktemp("generated")
    compiled = compile_rules(root, {"default/r.yaml": yaml.safe_dump({"rules": rules})},
                             brand_yaml=f"policy: {pack}\ncaps:\n  bonus_amount: 1000\n")
    player = Facts.model_validate({**facts, "trigger": "deposit", "segments": segments})
    decision = decide(compiled, player, PlayerStatus(self_excluded=True), player_id="p", key="k", now=NOON)
    assert decision.actions == []
    assert all(o.verdict == "vetoed" and o.guard == "protected_player" for o in decision.outcomes)


def test_the_rule_guide_documents_every_guard_and_pack() -> None:
    from rules.guards import GUARDS
    from rules.policy import PACKS
    from support import REPO

    guide = (REPO / "docs" / "rules.md").read_text()
    for guard in GUARDS:
        assert f"| `{guard.__name__}` |" in guide, guard.__name__
    for name, pack in PACKS.items():
        row = next(line for line in guide.splitlines() if line.startswith(f"| `{name}`"))
        assert f"| {pack.vip_min_age} |" in row and f"| {pack.blocking_rg_severity} |" in row, row
        assert f"{pack.quiet_from:%H:%M}–{pack.quiet_until:%H:%M}" in row, row


def test_staff_pause_stops_marketing_but_not_care(everything: CompiledRules) -> None:
    verdicts = _verdicts(_decide(everything, marketing_paused="complaint"))
    assert verdicts["spins"] == ("vetoed", "staff_pause") and verdicts["mail"] == ("vetoed", "staff_pause")
    assert verdicts["care-call"] == ("allowed", None)


@pytest.mark.parametrize(("template", "brand", "vetoed"), [
    ("loss_cashback", "royal", True), ("win_back_offer", "royal", True), ("weekly_cashback", "royal", False),
    ("loss_cashback", "acme", False), ("chase_the_win", "casino-without-folder", True),
])
def test_ukgc_vetoes_messages_framed_around_losses(tmp_path: Path, template: str, brand: str, vetoed: bool) -> None:
    compiled = compile_rules(tmp_path, {
        "default/mail.yaml": EVERYTHING.split("  - id: gold")[0].replace("template: hello", f"template: {template}"),
        "royal/brand.yaml": "policy: ukgc\n", "acme/brand.yaml": "policy: mga\n"})
    assert _verdicts(_decide(compiled, brand=brand))["mail"] == (("vetoed", "loss_framing") if vetoed else ("allowed", None))
