"""Segments in SQL agree with the workflow's own; population segments, lifetime value, movement, delivery."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support import CRM, event, eventually
from temporalio.testing import ActivityEnvironment

from activities.segments import SegmentActivities
from adapters.event_sender import EventSender
from adapters.segments import Segments
from adapters.store import UPSERT_IMPORTED_PLAYER, PlayerStore, player_row
from crm.facts import SEGMENTS
from crm.players import PlayerRef
from crm.profile import PlayerProfile
from crm.segments import OWN, POPULATION, SegmentSettings, own_segments
from rules.registry import SHIPPED_RULES, RuleRegistry

AS_OF = date(2025, 9, 1)
NOW = datetime.combine(AS_OF, time(0), UTC)
SETTINGS, THRESHOLD = SegmentSettings(), Decimal("0.5")


@pytest.fixture
def brand() -> str:
    return f"seg-{uuid.uuid4().hex[:8]}"


def profiles(brand: str) -> list[PlayerProfile]:
    """Players at the edges of every own segment."""
    def player(player_id: str, **fields: Any) -> PlayerProfile:
        return PlayerProfile(brand=brand, player_id=player_id, **fields)
    return [
        player("day-2", registered_at=NOW - timedelta(days=2), last_active_at=NOW - timedelta(days=1)),
        player("day-7", registered_at=NOW - timedelta(days=7), last_active_at=NOW - timedelta(days=1)),
        player("day-29", registered_at=NOW - timedelta(days=29, hours=23)),
        player("day-30", registered_at=NOW - timedelta(days=30)),
        player("gold", registered_at=NOW - timedelta(days=400), vip_tier="gold"),
        player("away-13", registered_at=NOW - timedelta(days=90), last_active_at=NOW - timedelta(days=13, hours=23)),
        player("away-14", registered_at=NOW - timedelta(days=90), last_active_at=NOW - timedelta(days=14)),
        player("risky", registered_at=NOW - timedelta(days=90), churn_risk=Decimal("0.5")),
        player("safe", registered_at=NOW - timedelta(days=90), churn_risk=Decimal("0.49")),
        player("bonus-stake", stake_total=Decimal(100), bonus_stake_total=Decimal(50)),
        player("bonus-claims", bonus_claimed_count=3, deposit_count=2),
        player("few-claims", bonus_claimed_count=2, deposit_count=1),
    ]


async def store_profiles(store: PlayerStore, players: list[PlayerProfile]) -> None:
    await store.pool.executemany(UPSERT_IMPORTED_PLAYER, [player_row(p, 0) for p in players])


async def played(store: PlayerStore, brand: str, rows: list[tuple[str, int, str, Decimal, Decimal, Decimal]]) -> None:
    """(player, days before AS_OF, game, stake, win, deposit) per active day."""
    async with store.pool.acquire() as conn:
        await conn.copy_records_to_table("player_days", columns=(
            "brand", "player_id", "day", "sessions", "stake", "win", "deposits", "deposit_amount"), records=[
            (brand, p, AS_OF - timedelta(days=ago), 1, stake, win, int(deposit > 0), deposit)
            for p, ago, _, stake, win, deposit in rows])
        await conn.copy_records_to_table("player_day_games", columns=(
            "brand", "player_id", "day", "game_category", "sessions", "stake", "win"), records=[
            (brand, p, AS_OF - timedelta(days=ago), game, 1, stake, win) for p, ago, game, stake, win, _ in rows])


def test_the_segment_names_are_the_ones_rules_may_test() -> None:
    assert SEGMENTS == (*OWN, *POPULATION)


async def test_sql_puts_players_in_the_same_own_segments_as_the_workflow(store: PlayerStore, brand: str) -> None:
    players = profiles(brand)
    await store_profiles(store, players)
    await Segments(store.pool).refresh(brand, AS_OF, SETTINGS, THRESHOLD)
    rows = await store.fetch("SELECT player_id, segments FROM player_segments WHERE brand = $1", brand)
    in_sql = {r["player_id"]: list(r["segments"]) for r in rows}
    in_python = {p.player_id: own_segments(p, NOW, SETTINGS, THRESHOLD) for p in players}
    assert in_sql == in_python
    assert in_python["day-2"] == ["new", "first_week"] and in_python["day-7"] == ["new"]
    assert in_python["day-30"] == [] and in_python["away-14"] == ["inactive"] and in_python["away-13"] == []
    assert in_python["bonus-claims"] == ["bonus_driven"] and in_python["few-claims"] == []


async def test_population_segments_value_and_movement(store: PlayerStore, brand: str, database_url: str) -> None:
    # Twenty depositors; "whale" deposits most; "live" stakes mostly on live casino.
    players = [PlayerProfile(brand=brand, player_id=f"p{n}", registered_at=NOW - timedelta(days=200)) for n in range(20)]
    await store_profiles(store, players)
    await played(store, brand, [(f"p{n}", ago, "slots", Decimal(10 + n), Decimal(8), Decimal(20))
                               for n in range(20) for ago in range(3, 60, 7)])
    await played(store, brand, [("p0", 2, "live_casino", Decimal(500), Decimal(400), Decimal(5000))])
    segments = Segments(store.pool)
    first = {s["segment"]: s for s in await segments.refresh(brand, AS_OF, SETTINGS, THRESHOLD)}
    rows = {r["player_id"]: r for r in await store.fetch(
        "SELECT player_id, population, ltv_12m FROM player_segments WHERE brand = $1", brand)}
    assert list(rows["p0"]["population"]) == ["high_value", "prefers_live_casino"]  # top 5 % of 20: one player
    assert list(rows["p5"]["population"]) == ["prefers_slots"]
    assert first["high_value"]["players"] == 1 and first["prefers_slots"]["players"] == 19
    # Weekly players who net the house 2 to 21 a day: more revenue, more value; all positive.
    values = [rows[f"p{n}"]["ltv_12m"] for n in range(1, 20)]
    assert all(v > 0 for v in values) and values == sorted(values)

    await played(store, brand, [("p1", 1, "table", Decimal(900), Decimal(0), Decimal(9000))])
    second = {s["segment"]: s for s in await segments.refresh(brand, AS_OF + timedelta(days=1), SETTINGS, THRESHOLD)}
    assert (second["high_value"]["joined"], second["high_value"]["left_"]) == (1, 1)  # p1 took p0's place
    assert (second["prefers_table"]["players"], second["prefers_table"]["joined"]) == (1, 1)

    process = await asyncio.create_subprocess_exec(CRM, "segments", "--brand", brand, "--json", stdout=asyncio.subprocess.PIPE,
                                                   env={**os.environ, "CRM_DATABASE_URL": database_url})
    out, _ = await process.communicate()
    listed = {r["segment"]: r for r in json.loads(out)}
    assert listed["high_value"]["as_of"] == (AS_OF + timedelta(days=1)).isoformat()
    assert (listed["high_value"]["players"], listed["high_value"]["joined"]) == (1, 1)

    process = await asyncio.create_subprocess_exec(CRM, "player", brand, "p1", "--json", stdout=asyncio.subprocess.PIPE,
                                                   env={**os.environ, "CRM_DATABASE_URL": database_url})
    shown = json.loads((await process.communicate())[0])
    assert shown["population_segments"] == ["high_value", "prefers_table"] and Decimal(shown["ltv_12m"]) > 0


async def test_changed_population_segments_reach_the_players_workflow(
    store: PlayerStore, sender: EventSender, client: Any, brand: str
) -> None:
    await sender.send(event("registered", brand, "whale", country="MT", currency="EUR",
                            occurred_at=(datetime.now(UTC) - timedelta(days=100)).isoformat()))
    handle = client.get_workflow_handle(PlayerRef(brand, "whale").workflow_id)

    async def stored() -> None:
        assert await store.player(brand, "whale") is not None

    await eventually(stored, timeout=20)
    today = datetime.now(UTC).date()
    # Nineteen imported players deposit 10 each; the whale 900: the top 5 % of twenty is the whale.
    await store_profiles(store, [PlayerProfile(brand=brand, player_id=f"p{n}") for n in range(19)])
    async with store.pool.acquire() as conn:
        await conn.copy_records_to_table(
            "player_days", columns=("brand", "player_id", "day", "deposits", "deposit_amount"),
            records=[(brand, "whale", today - timedelta(days=3), 1, Decimal(900))]
            + [(brand, f"p{n}", today - timedelta(days=3), 1, Decimal(10)) for n in range(19)])
    await Segments(store.pool).refresh(brand, today, SETTINGS, THRESHOLD)
    activities = SegmentActivities(Segments(store.pool), RuleRegistry(SHIPPED_RULES), client)
    page = await ActivityEnvironment().run(activities.notify, brand, 500)
    assert (page.told, page.more) == (1, False)  # only the whale is in a population segment

    async def indexed() -> None:
        assert "high_value" in (await handle.describe()).search_attributes.get("CrmSegments", [])

    await eventually(indexed, timeout=20)
    again = await ActivityEnvironment().run(activities.notify, brand, 500)
    assert again.told == 0  # told once, until the segments change again
