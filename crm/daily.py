"""Per-player daily aggregates: what churn features and segments read instead of raw events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from crm.events import (
    DepositFailed,
    DepositSucceeded,
    Event,
    LoggedIn,
    SessionEnded,
    WithdrawalCompleted,
)

DAY_COLUMNS = (
    "logins", "sessions", "session_seconds", "rounds", "stake", "win", "bonus_stake",
    "deposits", "deposit_amount", "failed_deposits", "failed_deposit_amount",
    "withdrawals", "withdrawal_amount",
)
GAME_COLUMNS = ("sessions", "session_seconds", "rounds", "stake", "win", "bonus_stake")

MONEY_COLUMNS = frozenset({
    "stake", "win", "bonus_stake", "deposit_amount", "failed_deposit_amount", "withdrawal_amount",
})
Totals = dict[str, int | Decimal]
DayKey = tuple[str, str, date]  # brand, player_id, UTC day
GameKey = tuple[str, str, date, str]  # ... and game category


def _zero(columns: tuple[str, ...]) -> Totals:
    return {c: Decimal(0) if c in MONEY_COLUMNS else 0 for c in columns}


def daily_totals(
    events: Iterable[Event],
) -> tuple[dict[DayKey, Totals], dict[GameKey, Totals]]:
    """Sum events into per-day and per-day-and-game-category increments (UTC days)."""
    days: dict[DayKey, Totals] = defaultdict(lambda: _zero(DAY_COLUMNS))
    games: dict[GameKey, Totals] = defaultdict(lambda: _zero(GAME_COLUMNS))
    for event in events:
        key = (event.brand, event.player_id, event.occurred_at.date())
        match event:
            case LoggedIn():
                days[key]["logins"] += 1
            case SessionEnded():
                play: Totals = {
                    "sessions": 1,
                    "session_seconds": event.duration_seconds,
                    "rounds": event.rounds,
                    "stake": event.stake,
                    "win": event.win,
                    "bonus_stake": event.bonus_stake,
                }
                for column, value in play.items():
                    days[key][column] += value
                    games[(*key, event.game_category)][column] += value
            case DepositSucceeded():
                days[key]["deposits"] += 1
                days[key]["deposit_amount"] += event.amount
            case DepositFailed():
                days[key]["failed_deposits"] += 1
                days[key]["failed_deposit_amount"] += event.amount
            case WithdrawalCompleted():
                days[key]["withdrawals"] += 1
                days[key]["withdrawal_amount"] += event.amount
    return dict(days), dict(games)
