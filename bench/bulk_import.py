"""Bulk import: `crm import` against `psql \\copy` of the same rows, in the same run.

    .venv/bin/python bench/bulk_import.py [--events 200000] [--players 10000]

Writes a JSON-lines file of synthetic history (sessions, deposits, logins), then, on a fresh
embedded PostgreSQL:

- baseline: `psql \\copy` of the same events, already rendered as the `events` rows, into a
  table shaped like `events` (its primary key included) — the floor of what COPY costs here;
- crm: `HistoryImport` over the JSON lines — validation against the contract, COPY, the
  de-duplicating insert, daily aggregates from the new rows, profile rebuild.

Prints events/s for both and the ratio. Stored as case "bulk_import" in bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402

from adapters.history_import import HistoryImport, _copy_text  # noqa: E402
from adapters.store import PlayerStore  # noqa: E402
from bench.results import save_case  # noqa: E402
from crm.events import parse_event_json  # noqa: E402


def write_history(path: Path, events: int, players: int, seed: int = 1) -> None:
    rng, start = random.Random(seed), datetime(2025, 12, 1, tzinfo=UTC)
    with path.open("w") as out:
        for n in range(events):
            player, at = f"p{rng.randrange(players)}", start + timedelta(seconds=rng.randrange(365 * 86400))
            common = {"event_id": f"e{n}", "brand": "bench", "player_id": player, "occurred_at": at.isoformat()}
            kind = rng.random()
            if kind < 0.6:
                stake = round(rng.lognormvariate(3, 1), 2)
                event = {**common, "type": "session_ended", "started_at": (at - timedelta(minutes=20)).isoformat(),
                         "game_category": rng.choice(["slots", "live_casino", "table", "sports"]),
                         "rounds": rng.randrange(1, 300), "stake": str(stake), "win": str(round(stake * rng.random(), 2))}
            elif kind < 0.8:
                event = {**common, "type": "deposit_succeeded", "amount": str(rng.choice([10, 20, 50, 100])),
                         "method": "card"}
            else:
                event = {**common, "type": "logged_in"}
            out.write(json.dumps(event) + "\n")


async def main(events: int, players: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source, rows = folder / "history.jsonl", folder / "rows.tsv"
        write_history(source, events, players)
        with source.open("rb") as lines:  # the same events as COPY rows, for the baseline
            rows.write_bytes(_copy_text([parse_event_json(line) for line in lines]).getvalue())
        server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
        store = await PlayerStore.connect(server.get_uri())
        try:
            await store.migrate()
            await store.pool.execute("CREATE TABLE copied (LIKE events INCLUDING ALL)")
            psql = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
            started = time.perf_counter()
            subprocess.run([str(psql), server.get_uri(), "-q", "-c",
                            f"\\copy copied (brand, event_id, player_id, type, occurred_at, payload) FROM '{rows}'"],
                           check=True)
            copy_seconds = time.perf_counter() - started

            started = time.perf_counter()
            report = await HistoryImport(store.pool).run(source, lambda *_: None, lambda _: None)
            import_seconds = time.perf_counter() - started
            stored = await store.pool.fetchval("SELECT count(*) FROM events WHERE brand = 'bench'")
        finally:
            await store.close()
            server.cleanup()
    return {
        "name": "bulk_import",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": events, "players": players, "stored": stored, "profiles_rebuilt": report.profiles_rebuilt,
        "baseline_psql_copy_per_s": round(events / copy_seconds),
        "crm_import_per_s": round(events / import_seconds),
        "ratio_crm_to_baseline": round(copy_seconds / import_seconds, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--players", type=int, default=10_000)
    args = parser.parse_args()
    result = asyncio.run(main(args.events, args.players))
    print(f"{'case':<44}{'events/s':>10}")
    baseline = "baseline: psql \\copy of the rendered rows"
    print(f"{baseline:<44}{result['baseline_psql_copy_per_s']:>10}")
    print(f"{'crm import: validate, COPY, aggregates, profiles':<44}{result['crm_import_per_s']:>10}")
    print(f"ratio crm/baseline: {result['ratio_crm_to_baseline']}   stored {result['stored']} of {result['events']}")
    save_case(result)
