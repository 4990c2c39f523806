"""What the rules see of a player, read from PostgreSQL: windows, favourite game, population segments.

A VIP check after every deposit and each journey's decision match on these facts; a sum over the
wrong days would grant a tier or a bonus the rule files do not mean.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from support import event

from adapters.platform.http import PlatformHttp
from adapters.platform.risk import Risk
from adapters.player_facts import PlayerFacts, UnknownPlayer
from adapters.store import PlayerStore
from crm.batch import EventBatch
from crm.events import parse_event
from crm.profile import PlayerProfile
from rules.registry import RuleRegistry

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _at(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


async def _record(store: PlayerStore, player_id: str, *events: dict) -> None:
    profile = PlayerProfile(brand="acme", player_id=player_id)
    parsed = [parse_event(e) for e in events]
    for e in parsed:
        profile.apply(e)
    await store.record(EventBatch(workflow_id=f"player:acme:{player_id}", profile=profile, revision=1,
                                  events=parsed, rejections=[]))


def _session(player_id: str, days_ago: int, game: str, stake: str, win: str) -> dict:
    return event("session_ended", "acme", player_id, occurred_at=_at(days_ago), started_at=_at(days_ago),
                 game_category=game, rounds=20, stake=stake, win=win)


async def test_facts_sum_the_last_7_and_30_days_and_carry_the_population_segments(
        store: PlayerStore, player_id: str, rules: RuleRegistry) -> None:
    await _record(
        store, player_id,
        event("registered", "acme", player_id, occurred_at=_at(60), country="MT", currency="EUR",
              birth_date="1990-01-01", consents={"email": True}),
        event("deposit_succeeded", "acme", player_id, occurred_at=_at(40), amount="1000", method="card"),
        _session(player_id, 40, "table", "5000", "0"),
        event("deposit_succeeded", "acme", player_id, occurred_at=_at(20), amount="200", method="card"),
        event("deposit_failed", "acme", player_id, occurred_at=_at(20), amount="30", method="card",
              reason="declined"),
        _session(player_id, 20, "live_casino", "500", "0"),
        event("deposit_succeeded", "acme", player_id, occurred_at=_at(3), amount="100", method="card"),
        event("deposit_failed", "acme", player_id, occurred_at=_at(3), amount="15", method="card",
              reason="declined"),
        _session(player_id, 3, "slots", "50", "10"),
    )
    await store.pool.execute(
        "INSERT INTO player_segments (brand, player_id, as_of, segments, population, ltv_12m)"
        " VALUES ('acme', $1, $2, '{}', '{high_value}', 123.45)", player_id, NOW.date())
    facts = await PlayerFacts(store.pool, Risk(PlatformHttp("http://127.0.0.1:9")), rules).facts(
        "acme", player_id, trigger="vip_review", step="start", trigger_amount=Decimal(0), days_inactive=0, now=NOW)

    assert (facts.deposits_7d, facts.deposits_30d, facts.deposit_total) == (Decimal(100), Decimal(300), Decimal(1300))
    assert facts.failed_deposits_7d == 1 and (facts.sessions_7d, facts.sessions_30d) == (1, 2)
    assert (facts.stake_7d, facts.stake_30d) == (Decimal(50), Decimal(550))
    assert (facts.net_loss_7d, facts.net_loss_30d) == (Decimal(40), Decimal(540))
    assert facts.favourite_game == "live_casino"  # most staked within 30 days; the table play is older
    assert "high_value" in facts.segments and facts.ltv_12m == Decimal("123.45")


async def test_a_player_with_no_play_in_the_windows_has_zero_sums_and_no_favourite(
        store: PlayerStore, player_id: str, rules: RuleRegistry) -> None:
    await _record(store, player_id, event("registered", "acme", player_id, occurred_at=_at(90), country="MT",
                                          currency="EUR", birth_date="1990-01-01", consents={"email": True}))
    facts = await PlayerFacts(store.pool, Risk(PlatformHttp("http://127.0.0.1:9")), rules).facts(
        "acme", player_id, trigger="vip_review", step="start", trigger_amount=Decimal(0), days_inactive=0, now=NOW)
    assert (facts.deposits_30d, facts.sessions_30d, facts.favourite_game, facts.ltv_12m) == (0, 0, None, 0)
    assert "high_value" not in facts.segments


async def test_facts_of_an_unknown_player_say_so(store: PlayerStore, rules: RuleRegistry) -> None:
    with pytest.raises(UnknownPlayer, match="no profile stored for player 'nobody'"):
        await PlayerFacts(store.pool, Risk(PlatformHttp("http://127.0.0.1:9")), rules).facts(
            "acme", "nobody", trigger="vip_review", step="start", trigger_amount=Decimal(0), days_inactive=0,
            now=NOW)
