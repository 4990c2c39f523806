"""Synthetic players whose churn is known, written straight into the daily aggregates.

Churners fade before they leave — fewer sessions, smaller stakes, a switch of game, failed
deposits — the way the industry sees it; stayers keep their rhythm but some take a holiday,
which fools a model that only looks at recency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from adapters.store import PlayerStore

CATEGORIES = ("slots", "live_casino", "table", "sports")


@dataclass
class Population:
    brand: str
    end: date  # history stops the day before this
    churn_day: dict[str, date | None]  # per player, the first day they were gone for good


async def write_population(store: PlayerStore, brand: str, end: date, players: int, seed: int, *,
                           churners_fade: bool = True, gone_between: tuple[date, date] | None = None) -> Population:
    """`gone_between`: every churner leaves in this span and every stayer plays almost daily,
    so that after it recency alone tells them apart."""
    rng = np.random.default_rng(seed)
    days_rows, game_rows, events, registered = [], [], [], []
    churn_day: dict[str, date | None] = {}
    for n in range(players):
        player_id = f"c{n}"
        start = end - timedelta(days=int(rng.integers(150, 220)))
        length = (end - start).days
        rate = np.full(length, rng.uniform(0.25, 0.7) if gone_between is None else 0.95)
        stake = np.full(length, rng.lognormal(3.0, 0.7))
        category = np.full(length, rng.integers(len(CATEGORIES)))
        failing = np.zeros(length)
        gone: int | None = None
        if rng.random() < 0.6:
            if gone_between is None:
                gone = int(rng.integers(60, length + 40))
            else:
                gone = int(rng.integers((gone_between[0] - start).days, (gone_between[1] - start).days))
            if churners_fade:
                fade = slice(max(gone - 21, 0), min(gone, length))
                rate[fade] *= 0.3
                stake[fade] *= 0.3
                if rng.random() < 0.6:
                    category[fade] = (category[0] + 1 + rng.integers(len(CATEGORIES) - 1)) % len(CATEGORIES)
                failing[fade] = 0.5
            rate[gone:] = 0.0
        elif gone_between is None and rng.random() < 0.4:  # a holiday
            away = int(rng.integers(20, length - 25))
            rate[away:away + int(rng.integers(8, 20))] = 0.0
        churn_day[player_id] = start + timedelta(days=gone) if gone is not None else None
        registered.append((brand, player_id, datetime.combine(start, time(9), UTC)))

        active = rng.random(length) < rate
        for i in np.flatnonzero(active):
            day = start + timedelta(days=int(i))
            sessions = 1 + int(rng.poisson(0.5))
            staked = Decimal(str(round(float(stake[i]) * sessions * rng.uniform(0.7, 1.3), 2)))
            won = (staked * Decimal(str(round(rng.uniform(0.8, 1.0), 3)))).quantize(Decimal("0.01"))
            deposits = int(rng.random() < 0.3)
            days_rows.append((brand, player_id, day, sessions, staked, won, deposits, staked if deposits else Decimal(0)))
            game_rows.append((brand, player_id, day, CATEGORIES[int(category[i])], sessions, staked, won))
            if rng.random() < failing[i]:
                at = datetime.combine(day, time(12), UTC)
                events.append((brand, f"{player_id}-f{i}", player_id, "deposit_failed", at, {"type": "deposit_failed"}))
    async with store.pool.acquire() as connection:
        await connection.copy_records_to_table(
            "player_days", records=days_rows,
            columns=("brand", "player_id", "day", "sessions", "stake", "win", "deposits", "deposit_amount"))
        await connection.copy_records_to_table(
            "player_day_games", records=game_rows,
            columns=("brand", "player_id", "day", "game_category", "sessions", "stake", "win"))
        # jsonb columns go through the pool's JSON codec, which binary COPY cannot use.
        await connection.executemany(
            "INSERT INTO events (brand, event_id, player_id, type, occurred_at, payload) VALUES ($1, $2, $3, $4, $5, $6)",
            events)
        await connection.executemany(
            "INSERT INTO players (brand, player_id, revision, consents, profile, account_status, registered_at)"
            " VALUES ($1, $2, 1, $3, $3, 'registered', $4)", [(b, p, {}, r) for b, p, r in registered])
    return Population(brand, end, churn_day)
