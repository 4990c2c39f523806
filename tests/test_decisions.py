"""Deciding in production: shipped rules, hot reload, concurrency, and the audit in Postgres."""

from __future__ import annotations

import asyncio
import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.decisions import DecisionActivities, DecisionRequest
from adapters.decisions import DecisionLog
from adapters.store import PlayerStore
from crm.facts import SEGMENTS, Facts
from rules.book import load_book
from rules.engine import CompiledRules
from rules.goldens import run_cases
from rules.guards import PlayerStatus
from rules.registry import SHIPPED_RULES, RuleRegistry
from rules_support import one_rule, write_rules
from support import CRM, awake_timezone


def test_the_shipped_rules_pass_their_golden_cases() -> None:
    results = run_cases(CompiledRules(load_book(SHIPPED_RULES)))
    assert len(results) >= 20
    assert [r for r in results if not r.passed] == []


def test_a_broken_change_keeps_the_last_good_rules_and_a_fix_takes_effect(tmp_path: Path) -> None:
    root = write_rules(tmp_path, {"default/r.yaml": one_rule("fact: deposit_total\ngte: 100")})
    registry = RuleRegistry(root, check_every=0)
    facts = Facts(trigger="deposit", deposit_total=Decimal(150)).model_dump()
    first = registry.current()
    assert first.matching("default", "deposit", facts) == ["r"]

    (root / "default" / "r.yaml").write_text(one_rule("fact: deposit_totl\ngte: 100"))
    assert registry.current() is first  # refused: the old rules stay in force
    assert registry.last_error and "unknown fact 'deposit_totl'" in str(registry.last_error)

    (root / "default" / "r.yaml").write_text(one_rule("fact: deposit_total\ngte: 200"))
    second = registry.current()
    assert second is not first and second.book.version != first.book.version
    assert second.matching("default", "deposit", facts) == []
    assert registry.last_error is None


def _random_facts(rng: random.Random) -> dict:
    return Facts(
        trigger=rng.choice(["registered", "first_deposit", "loss", "inactive", "vip_review", "churn_risk"]),
        brand=rng.choice(["default", "acme", "royal", "nordic"]),
        trigger_amount=Decimal(rng.randint(0, 400)), consent_email=rng.random() < 0.7,
        age=rng.choice([None, 19, 24, 30, 61]), country=rng.choice(["MT", "GB", "US"]),
        deposit_count=rng.randint(0, 6), deposits_30d=Decimal(rng.choice([0, 900, 1500, 7000])),
        net_loss_7d=Decimal(rng.randint(-50, 400)), days_inactive=rng.randint(0, 40),
        kyc_status=rng.choice(["none", "verified"]), churn_risk=Decimal(rng.choice(["0.1", "0.8"])),
        segments=rng.sample(SEGMENTS, rng.randint(0, 2)),
    ).model_dump()


def test_threads_and_tasks_get_the_same_answers_as_one_at_a_time() -> None:
    """The C core crashed under careless concurrent use; ours serialises what must be."""
    compiled = CompiledRules(load_book(SHIPPED_RULES))
    rng = random.Random(7)
    cases = [_random_facts(rng) for _ in range(500)]
    expected = [compiled.matching(f["brand"], f["trigger"], f) for f in cases]
    assert sum(map(bool, expected)) > 200  # the cases exercise the rules

    rounds = 40  # 500 cases x 40 rounds = 20,000 evaluations on threads, and as many again on tasks

    def work(offset: int) -> list[tuple[int, list[str]]]:
        out = []
        for i in range(len(cases)):
            j = (i + offset) % len(cases)
            out.append((j, compiled.matching(cases[j]["brand"], cases[j]["trigger"], cases[j])))
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        for batch in pool.map(work, range(rounds)):
            for j, matched in batch:
                assert matched == expected[j]

    async def task(offset: int) -> list[tuple[int, list[str]]]:
        await asyncio.sleep(0)
        return await asyncio.to_thread(work, offset) if offset % 2 else work(offset)

    async def all_tasks() -> list[list[tuple[int, list[str]]]]:
        return await asyncio.gather(*(task(o) for o in range(rounds)))

    for batch in asyncio.run(all_tasks()):
        for j, matched in batch:
            assert matched == expected[j]


async def test_every_decision_is_recorded_and_a_retry_returns_the_first(store: PlayerStore, player_id: str) -> None:
    activities = DecisionActivities(RuleRegistry(SHIPPED_RULES), DecisionLog(store.pool))
    request = DecisionRequest(
        decision_key=f"journey:welcome:acme:{player_id}:decide-1", player_id=player_id,
        facts=Facts(brand="acme", trigger="registered", consent_email=True, consent_sms=True, age=30, country="MT"),
        status=PlayerStatus(messages_today={"sms": 1}, timezone=awake_timezone()),
    )
    env = ActivityEnvironment()
    decision = await env.run(activities.decide, request)
    assert decision.matched == ["welcome-email", "welcome-free-spins", "welcome-sms"]
    assert [(o.rule, o.verdict, o.guard) for o in decision.outcomes] == [
        ("welcome-email", "allowed", None), ("welcome-free-spins", "allowed", None),
        ("welcome-sms", "vetoed", "frequency_cap"),
    ]
    retried = await env.run(activities.decide, request.model_copy(update={"status": PlayerStatus(self_excluded=True)}))
    assert retried.decided_at == decision.decided_at and retried.outcomes == decision.outcomes

    rows = await store.fetch("SELECT * FROM decisions WHERE player_id = $1", player_id)
    assert len(rows) == 1
    row = rows[0]
    assert (row["brand"], row["trigger"], row["policy"]) == ("acme", "registered", "mga")
    assert row["rules_version"] == load_book(SHIPPED_RULES).version
    assert list(row["applied"]) == decision.applied
    assert row["facts"]["consent_email"] is True and row["status"]["messages_today"] == {"sms": 1}
    assert [a for a in row["actions"]] == decision.actions


async def test_crm_decisions_lists_a_players_decisions(store: PlayerStore, database_url: str, player_id: str) -> None:
    log = DecisionLog(store.pool)
    activities = DecisionActivities(RuleRegistry(SHIPPED_RULES), log)
    await ActivityEnvironment().run(activities.decide, DecisionRequest(
        decision_key=f"k:{player_id}", player_id=player_id,
        facts=Facts(brand="royal", trigger="registered", consent_email=True, age=30, country="GB"),
        status=PlayerStatus(rg_severity="medium"),
    ))
    process = await asyncio.create_subprocess_exec(
        CRM, "decisions", "royal", player_id, env={**os.environ, "CRM_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "registered  rules" in text and "pack ukgc" in text
    assert "vetoed   welcome-email" in text
    assert "by protected_player: medium responsible-gambling flag (the ukgc pack blocks from medium)" in text


async def test_crm_rules_eval_prints_the_decision(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"trigger_amount": 80, "deposit_count": 1, "consent_email": True}))
    process = await asyncio.create_subprocess_exec(
        CRM, "rules", "eval", "--brand", "acme", "--trigger", "first_deposit", str(facts),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    decision = json.loads(out)
    assert decision["policy"] == "mga" and decision["applied"] == ["first-deposit-match"]
    assert decision["actions"][0]["bonus"]["percent"] == "150"
    assert decision["outcomes"][0]["value"] == "120.00"


@pytest.mark.parametrize("command", ["check", "test"])
async def test_crm_rules_check_and_test_pass_on_the_shipped_rules(command: str) -> None:
    process = await asyncio.create_subprocess_exec(
        CRM, "rules", command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, (out + err).decode()[-2000:]

