"""The Postgres side on its own: migrations, and recording that is safe to retry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from support import event

from adapters.store import PlayerStore
from crm.batch import EventBatch, Rejection
from crm.events import parse_event
from crm.profile import PlayerProfile


async def test_migrations_apply_once(store: PlayerStore) -> None:
    assert await store.migrate() == []
    names = [r["name"] for r in await store.fetch("SELECT name FROM schema_migrations")]
    assert names == sorted(set(names)) and names[0] == "0001_player_profile.sql"
    tables = {r["table_name"] for r in await store.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )}
    assert {"players", "events", "player_days", "player_day_games", "rejected_events",
            "incentives", "communications", "decisions"} <= tables


def _batch(player_id: str, revision: int, *events: dict) -> EventBatch:
    profile = PlayerProfile(brand="acme", player_id=player_id)
    parsed = [parse_event(e) for e in events]
    for e in parsed:
        profile.apply(e)
    rejection = Rejection(key=f"run:{player_id}:1", received_at=datetime.now(UTC),
                          reason="amount: Field required", payload="{}")
    return EventBatch(workflow_id=f"player:acme:{player_id}", profile=profile, revision=revision,
                      events=parsed, rejections=[rejection])


async def test_a_retried_batch_stores_nothing_twice(store: PlayerStore, player_id: str) -> None:
    batch = _batch(
        player_id, 2,
        event("deposit_succeeded", "acme", player_id, amount="40", method="card"),
        event("session_ended", "acme", player_id, started_at="2026-11-30T09:00:00Z",
              game_category="live_casino", rounds=10, stake="30", win="12"),
    )
    assert await store.record(batch) == 2
    assert await store.record(batch) == 0  # the activity retried after a lost reply
    days = await store.fetch("SELECT deposits, deposit_amount, sessions, stake FROM player_days WHERE player_id = $1", player_id)
    assert [tuple(r) for r in days] == [(1, Decimal("40"), 1, Decimal("30"))]
    games = await store.fetch("SELECT game_category, rounds FROM player_day_games WHERE player_id = $1", player_id)
    assert [tuple(r) for r in games] == [("live_casino", 10)]
    assert len(await store.fetch("SELECT 1 FROM rejected_events WHERE player_id = $1", player_id)) == 1


async def test_an_older_profile_snapshot_never_overwrites_a_newer_one(store: PlayerStore, player_id: str) -> None:
    newer = _batch(player_id, 5, event("deposit_succeeded", "acme", player_id, amount="10", method="card"),
                   event("deposit_succeeded", "acme", player_id, amount="15", method="card"))
    older = _batch(player_id, 4, event("deposit_succeeded", "acme", player_id, amount="99", method="card"))
    await store.record(newer)
    await store.record(older.model_copy(update={"events": []}))
    stored = await store.player("acme", player_id)
    assert stored is not None
    assert (stored["deposit_count"], Decimal(stored["deposit_total"])) == (2, Decimal("25"))
    row = (await store.fetch("SELECT revision, account_status, deposit_total FROM players WHERE player_id = $1", player_id))[0]
    assert tuple(row) == (5, "depositor", Decimal("25"))


async def test_daily_totals_split_by_utc_day_and_game_category(store: PlayerStore, player_id: str) -> None:
    batch = _batch(
        player_id, 1,
        event("session_ended", "acme", player_id, occurred_at="2026-11-30T23:50:00+00:00",
              started_at="2026-11-30T23:00:00Z", game_category="slots", rounds=50, stake="10", win="4"),
        event("session_ended", "acme", player_id, occurred_at="2026-12-01T01:30:00+02:00",
              started_at="2026-11-30T23:10:00Z", game_category="table", rounds=5, stake="20", win="30",
              bonus_stake="5"),
        event("deposit_failed", "acme", player_id, occurred_at="2026-12-01T08:00:00Z", amount="15", method="card",
              reason="declined"),
        event("logged_in", "acme", player_id, occurred_at="2026-12-01T07:59:00Z"),
    )
    await store.record(batch.model_copy(update={"rejections": []}))
    days = {r["day"].isoformat(): r for r in await store.fetch("SELECT * FROM player_days WHERE player_id = $1", player_id)}
    nov30 = days["2026-11-30"]  # 01:30 at UTC+2 is still 30 November in UTC
    assert (nov30["sessions"], nov30["rounds"], nov30["stake"], nov30["win"], nov30["bonus_stake"]) == (
        2, 55, Decimal(30), Decimal(34), Decimal(5))
    assert nov30["session_seconds"] == 3000 + 1200
    dec1 = days["2026-12-01"]
    assert (dec1["failed_deposits"], dec1["failed_deposit_amount"], dec1["sessions"], dec1["logins"]) == (
        1, Decimal(15), 0, 1)
    games = {r["game_category"]: r for r in await store.fetch(
        "SELECT * FROM player_day_games WHERE player_id = $1", player_id)}
    assert set(games) == {"slots", "table"} and games["table"]["win"] == Decimal(30)
    assert games["slots"]["session_seconds"] == 3000 and all(g["day"].isoformat() == "2026-11-30" for g in games.values())
