"""Per-player daily aggregates, added in SQL from the events a statement has just stored.

The one definition of what an event adds to `player_days` and `player_day_games` (UTC days):
the live recording activity and `crm import` both insert events with `RETURNING` into a CTE
`fresh` and append these statements, so that only rows new to the database count — a retried
batch or a re-imported file adds nothing.
"""

from __future__ import annotations

# `fresh(brand, player_id, type, occurred_at, payload)`: the events the same statement inserted.
_PLAY = "type = 'session_ended'"
_DAY_TOTALS = f"""
    SELECT brand, player_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
        count(*) FILTER (WHERE type = 'logged_in') AS logins,
        count(*) FILTER (WHERE {_PLAY}) AS sessions,
        coalesce(sum(floor(extract(epoch FROM occurred_at - (payload->>'started_at')::timestamptz))::bigint)
                 FILTER (WHERE {_PLAY}), 0) AS session_seconds,
        coalesce(sum((payload->>'rounds')::bigint) FILTER (WHERE {_PLAY}), 0) AS rounds,
        coalesce(sum((payload->>'stake')::numeric) FILTER (WHERE {_PLAY}), 0) AS stake,
        coalesce(sum((payload->>'win')::numeric) FILTER (WHERE {_PLAY}), 0) AS win,
        coalesce(sum((payload->>'bonus_stake')::numeric) FILTER (WHERE {_PLAY}), 0) AS bonus_stake,
        count(*) FILTER (WHERE type = 'deposit_succeeded') AS deposits,
        coalesce(sum((payload->>'amount')::numeric) FILTER (WHERE type = 'deposit_succeeded'), 0) AS deposit_amount,
        count(*) FILTER (WHERE type = 'deposit_failed') AS failed_deposits,
        coalesce(sum((payload->>'amount')::numeric) FILTER (WHERE type = 'deposit_failed'), 0) AS failed_deposit_amount,
        count(*) FILTER (WHERE type = 'withdrawal_completed') AS withdrawals,
        coalesce(sum((payload->>'amount')::numeric) FILTER (WHERE type = 'withdrawal_completed'), 0)
            AS withdrawal_amount
    FROM fresh
    WHERE type IN ('logged_in', 'session_ended', 'deposit_succeeded', 'deposit_failed', 'withdrawal_completed')
    GROUP BY 1, 2, 3
"""
DAY_COLUMNS = ("logins", "sessions", "session_seconds", "rounds", "stake", "win", "bonus_stake", "deposits",
               "deposit_amount", "failed_deposits", "failed_deposit_amount", "withdrawals", "withdrawal_amount")
GAME_COLUMNS = ("sessions", "session_seconds", "rounds", "stake", "win", "bonus_stake")
_GAME_TOTALS = f"""
    SELECT brand, player_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, payload->>'game_category' AS game_category,
        count(*) AS sessions,
        sum(floor(extract(epoch FROM occurred_at - (payload->>'started_at')::timestamptz))::bigint) AS session_seconds,
        sum((payload->>'rounds')::bigint) AS rounds, sum((payload->>'stake')::numeric) AS stake,
        sum((payload->>'win')::numeric) AS win, sum((payload->>'bonus_stake')::numeric) AS bonus_stake
    FROM fresh WHERE {_PLAY}
    GROUP BY 1, 2, 3, 4
"""


def _upsert(table: str, key: tuple[str, ...], columns: tuple[str, ...], totals: str) -> str:
    names = ", ".join((*key, *columns))
    adds = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in columns)
    return (f"INSERT INTO {table} ({names}) SELECT {names} FROM ({totals}) AS totals "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds}")


def with_daily_totals(insert_events_returning: str, result: str = "count(*) AS new", *also: str) -> str:
    """`insert_events_returning` (an INSERT INTO events ... RETURNING brand, player_id, type,
    occurred_at, payload), then the aggregates of what it inserted; the statement returns
    `result` over the new events (by default how many there were).

    `also` are further writes (each ending in RETURNING) made by the same statement, so that a
    batch is one round trip to PostgreSQL and all or nothing without a transaction block."""
    days = _upsert("player_days", ("brand", "player_id", "day"), DAY_COLUMNS, _DAY_TOTALS)
    games = _upsert("player_day_games", ("brand", "player_id", "day", "game_category"), GAME_COLUMNS, _GAME_TOTALS)
    writes = "".join(f", also_{n} AS ({write})" for n, write in enumerate(also))
    return (f"WITH fresh AS ({insert_events_returning}), days AS ({days} RETURNING 1), games AS ({games} RETURNING 1)"
            f"{writes} SELECT {result} FROM fresh")
