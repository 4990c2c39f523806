"""Churn features in SQL against small histories computed by hand, and no peeking past the as-of date."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.churn_features import ChurnFeatures
from adapters.store import PlayerStore

AS_OF = date(2026, 6, 1)
DAY_FIELDS = ("sessions", "stake", "win", "bonus_stake", "deposits", "deposit_amount")


@pytest.fixture
def brand() -> str:
    return f"fx-{uuid.uuid4().hex[:8]}"


async def add_days(store: PlayerStore, brand: str, player_id: str, rows: list[dict[str, Any]]) -> None:
    """Daily aggregates as the recording activity leaves them; `ago` counts days before AS_OF."""
    records = [(brand, player_id, AS_OF - timedelta(days=r["ago"]), *(Decimal(str(r.get(f, 0))) if f not in
               ("sessions", "deposits") else int(r.get(f, 0)) for f in DAY_FIELDS)) for r in rows]
    async with store.pool.acquire() as connection:
        await connection.copy_records_to_table("player_days", records=records,
                                               columns=("brand", "player_id", "day", *DAY_FIELDS))


async def add_games(store: PlayerStore, brand: str, player_id: str, rows: list[tuple[int, str, int]]) -> None:
    records = [(brand, player_id, AS_OF - timedelta(days=ago), category, 1, Decimal(stake)) for ago, category, stake in rows]
    async with store.pool.acquire() as connection:
        await connection.copy_records_to_table("player_day_games", records=records,
                                               columns=("brand", "player_id", "day", "game_category", "sessions", "stake"))


async def add_event(store: PlayerStore, brand: str, player_id: str, kind: str, at: datetime) -> None:
    await store.pool.execute(
        "INSERT INTO events (brand, event_id, player_id, type, occurred_at, payload) VALUES ($1, $2, $3, $4, $5, $6)",
        brand, uuid.uuid4().hex, player_id, kind, at, {"type": kind})


def at(days_before: float, hour: float = 0) -> datetime:
    return datetime.combine(AS_OF, datetime.min.time(), UTC) - timedelta(days=days_before) + timedelta(hours=hour)


async def test_features_match_a_history_worked_by_hand(store: PlayerStore, brand: str) -> None:
    # Earlier window (15..56 days ago): 6 sessions of stake 50 each on slots; recent (last 14 days): 2 of 20 on live.
    earlier = [{"ago": ago, "sessions": 1, "stake": 50, "win": 40} for ago in (50, 44, 38, 30, 24, 18)]
    recent = [{"ago": 10, "sessions": 1, "stake": 20, "win": 0, "bonus_stake": 10},
              {"ago": 4, "sessions": 1, "stake": 20, "win": 5, "deposits": 1, "deposit_amount": 100}]
    await add_days(store, brand, "p1", earlier + recent)
    await add_games(store, brand, "p1", [(ago, "slots", 50) for ago in (50, 44, 38, 30, 24, 18)]
                    + [(10, "live_casino", 20), (4, "live_casino", 20)])
    await add_event(store, brand, "p1", "deposit_failed", at(5, 10))
    await add_event(store, brand, "p1", "deposit_succeeded", at(5, 10.5))  # within the hour: not abandoned
    await add_event(store, brand, "p1", "deposit_failed", at(3, 12))  # never followed by a success
    await add_event(store, brand, "p1", "deposit_failed", at(1, 23.5))
    await add_event(store, brand, "p1", "deposit_succeeded", at(0, 0.25))  # after the as-of date: unknown then

    table = await ChurnFeatures(store.pool).as_of(AS_OF, brand)
    assert table.player_ids == ["p1"]
    row = table.row(0)
    assert (row["sessions_recent"], row["sessions_earlier"]) == (2, 6)
    assert (row["stake_recent"], row["stake_earlier"]) == (40, 300)
    assert (row["stake_30d"], row["bonus_stake_30d"], row["net_loss_30d"]) == (40 + 3 * 50, 10, 35 + 3 * 10)  # 30, 24, 18 ago
    assert row["deposits_90d"] == 100
    assert row["abandoned_deposits_30d"] == 2
    assert row["category_divergence"] == 1.0  # all slots before, all live casino now
    assert row["days_since_active"] == 4
    assert row["usual_gap_days"] == (50 - 4) / 7  # 8 active days spread over 46
    assert (row["repeat_days"], row["last_repeat_at"], row["observed_days"]) == (7, 46, 50)


async def test_no_feature_reads_anything_after_the_as_of_date(store: PlayerStore, brand: str) -> None:
    await add_days(store, brand, "p2", [{"ago": ago, "sessions": 2, "stake": 30, "deposits": 1, "deposit_amount": 20}
                                       for ago in (40, 20, 9, 3)])
    await add_games(store, brand, "p2", [(40, "slots", 30), (3, "table", 30)])
    await add_event(store, brand, "p2", "deposit_failed", at(2))
    before = (await ChurnFeatures(store.pool).as_of(AS_OF, brand)).row(0)

    # The future changes: more play, a switch of game, a deposit that rescues the failed one.
    await add_days(store, brand, "p2", [{"ago": -ago, "sessions": 9, "stake": 900, "deposits": 3, "deposit_amount": 500}
                                       for ago in (0, 1, 5)])
    await add_games(store, brand, "p2", [(0, "sports", 900)])
    await add_event(store, brand, "p2", "deposit_succeeded", at(2, 0.5) + timedelta(days=2))
    await add_event(store, brand, "p2", "deposit_failed", at(0, 1))
    after = (await ChurnFeatures(store.pool).as_of(AS_OF, brand)).row(0)
    assert after == before


async def test_labels_count_only_real_money_play_or_deposits_in_the_horizon(store: PlayerStore, brand: str) -> None:
    for player in ("stays", "bonus-only", "deposits-late", "deposits"):
        await add_days(store, brand, player, [{"ago": 5, "sessions": 1, "stake": 10}])
    await add_days(store, brand, "stays", [{"ago": -3, "sessions": 1, "stake": 10}])
    await add_days(store, brand, "bonus-only", [{"ago": -3, "sessions": 1, "stake": 10, "bonus_stake": 10}])
    await add_days(store, brand, "deposits-late", [{"ago": -30, "deposits": 1, "deposit_amount": 50}])
    await add_days(store, brand, "deposits", [{"ago": -29, "deposits": 1, "deposit_amount": 50}])
    features = ChurnFeatures(store.pool)
    table = await features.as_of(AS_OF, brand)
    labels = dict(zip(table.player_ids, await features.labels(table, horizon_days=30), strict=True))
    assert labels == {"bonus-only": 1.0, "deposits": 0.0, "deposits-late": 1.0, "stays": 0.0}


async def test_players_long_gone_or_protected_are_not_scored(store: PlayerStore, brand: str) -> None:
    await add_days(store, brand, "gone", [{"ago": 31, "sessions": 1, "stake": 5}])
    await add_days(store, brand, "recent", [{"ago": 29, "sessions": 1, "stake": 5}])
    await add_days(store, brand, "excluded", [{"ago": 2, "sessions": 1, "stake": 5}])
    await store.pool.execute(
        "INSERT INTO players (brand, player_id, revision, consents, profile, account_status, self_excluded)"
        " VALUES ($1, 'excluded', 1, $2, $2, 'self_excluded', true)", brand, {})
    assert (await ChurnFeatures(store.pool).as_of(AS_OF, brand)).player_ids == ["recent"]
