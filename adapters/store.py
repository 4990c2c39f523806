"""PostgreSQL: the player profile, the event log and the daily aggregates, through asyncpg."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import asyncpg

from adapters.daily import with_daily_totals
from crm.batch import EventBatch, StoredProfile
from crm.profile import PlayerProfile

# Profile fields that also get a column of their own in `players`, for SQL segmentation.
# The whole profile is kept as jsonb beside them.
PROFILE_COLUMNS = (
    "account_status", "registered_at", "country", "currency", "birth_date", "timezone",
    "acquisition_channel", "kyc_status", "self_excluded", "self_excluded_at",
    "self_excluded_until", "self_exclusion_scope", "rg_severity", "account_closed",
    "deposit_count", "deposit_total", "first_deposit_at", "last_deposit_at",
    "failed_deposit_count", "failed_deposit_total", "withdrawal_count", "withdrawal_total",
    "session_count", "session_seconds", "rounds_total", "stake_total", "win_total",
    "bonus_stake_total", "net_loss", "bonus_claimed_count", "bonus_completed_count",
    "bonus_forfeited_count", "last_active_at", "events_accepted", "events_rejected",
)

_MIGRATION_LOCK = 7_300_001  # any constant: serialises workers migrating at the same time


def _upsert_players_sql(only_if: str, first: int = 1) -> str:
    """The upsert of one player's row; its parameters are numbered from `first`."""
    columns = ("brand", "player_id", "revision", "consents", "profile", *PROFILE_COLUMNS)
    placeholders = ", ".join(f"${i}" for i in range(first, first + len(columns)))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:])
    return (
        f"INSERT INTO players ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT (brand, player_id) DO UPDATE SET {updates}, updated_at = now() WHERE {only_if}"
    )


# A profile rebuilt by `crm import` (revision 0) never replaces one a live workflow keeps.
UPSERT_IMPORTED_PLAYER = _upsert_players_sql("players.revision = 0")
# A batch from a PlayerWorkflow in one statement: its new events (only those count towards the
# aggregates, so a retried batch adds nothing), its rejections, and the player's row unless a
# later revision is already there. Parameters: six event arrays, four rejection arrays, the row.
_RECORD_BATCH = with_daily_totals(
    """INSERT INTO events (brand, event_id, player_id, type, occurred_at, payload)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
    ON CONFLICT (brand, event_id) DO NOTHING
    RETURNING brand, player_id, type, occurred_at, payload""",
    "count(*) AS new",
    """INSERT INTO rejected_events (rejection_key, brand, player_id, received_at, reason, payload)
    SELECT key, $11, $12, received_at, reason, payload
    FROM unnest($7::text[], $8::timestamptz[], $9::text[], $10::text[]) AS r(key, received_at, reason, payload)
    ON CONFLICT (rejection_key) DO NOTHING RETURNING 1""",
    _upsert_players_sql("players.revision < EXCLUDED.revision", first=11) + " RETURNING 1",
)


class PlayerStore:
    """Owns the connection pool; every write for one batch is one statement."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, max_size: int = 10) -> PlayerStore:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=_use_json_codecs,
                                         reset=_keep_session)
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; returns the names applied."""
        applied_now = []
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for migration in _migrations():
                if migration.name in done:
                    continue
                await conn.execute(migration.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", migration.name)
                applied_now.append(migration.name)
        return applied_now

    async def record(self, batch: EventBatch) -> int:
        events, rejections = batch.events, batch.rejections
        return await self._pool.fetchval(
            _RECORD_BATCH,
            [e.brand for e in events], [e.event_id for e in events], [e.player_id for e in events],
            [e.type for e in events], [e.occurred_at for e in events], [e.model_dump(mode="json") for e in events],
            [r.key for r in rejections], [r.received_at for r in rejections], [r.reason for r in rejections],
            [r.payload for r in rejections],
            *player_row(batch.profile, batch.revision),
        )

    async def player(self, brand: str, player_id: str) -> dict[str, Any] | None:
        """The stored profile, in the same shape as the workflow's ``profile`` query."""
        row = await self._pool.fetchrow(
            "SELECT profile FROM players WHERE brand = $1 AND player_id = $2", brand, player_id
        )
        return row["profile"] if row else None

    async def stored_profile(self, brand: str, player_id: str) -> StoredProfile | None:
        row = await self._pool.fetchrow(
            "SELECT profile, revision FROM players WHERE brand = $1 AND player_id = $2", brand, player_id)
        return StoredProfile(profile=row["profile"], revision=row["revision"]) if row else None

    @property
    def pool(self) -> asyncpg.Pool:
        """For the other stores that share this database (the decisions log)."""
        return self._pool

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Read-only access for reports and tests."""
        return await self._pool.fetch(query, *args)


def player_row(profile: PlayerProfile, revision: int) -> list[Any]:
    snapshot = profile.model_dump(mode="json")
    return [
        profile.brand, profile.player_id, revision, profile.consents.model_dump(), snapshot,
        *(getattr(profile, c) for c in PROFILE_COLUMNS),
    ]


def _migrations() -> list[Any]:
    folder = resources.files("adapters") / "migrations"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection returns to the pool: we hold no session state (no LISTEN,
    session settings or session-level advisory locks; a left-open transaction is still rolled back).
    asyncpg's default reset query would cost every release a second round trip to PostgreSQL."""


async def _use_json_codecs(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
