"""Commands that talk to PostgreSQL directly: migrations, a player's profile and decisions, journey outcomes."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from adapters.embedded_postgres import embedded_database_url
from adapters.store import PlayerStore
from crm.profile import PlayerProfile
from crm.settings import Settings


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[PlayerStore]:
    """The configured database (or the embedded one under the state dir), closed after use."""
    store = await PlayerStore.connect(settings.database_url or embedded_database_url(settings.state_dir), max_size=2)
    try:
        yield store
    finally:
        await store.close()


async def migrate(settings: Settings) -> int:
    async with open_store(settings) as store:
        applied = await store.migrate()
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


async def show_player(settings: Settings, brand: str, player_id: str, as_json: bool) -> int:
    from adapters.segments import Segments

    try:
        async with open_store(settings) as store:
            profile = await store.player(brand, player_id)
            population, ltv = await Segments(store.pool).of_player(brand, player_id)
    except asyncpg.UndefinedTableError:
        print("this database has no CRM tables yet: run `crm migrate` (or `crm dev`)", file=sys.stderr)
        return 2
    if profile is None:
        print(f"no player {player_id!r} in brand {brand!r}", file=sys.stderr)
        return 1
    # From the last scoring run: what only the whole brand's figures tell.
    scored = {"population_segments": population, "ltv_12m": None if ltv is None else str(ltv)}
    if as_json:
        print(json.dumps({**profile, **scored}, indent=2))
    else:
        print(render_profile(profile))
        print(f"{'population_segments':<22}  {', '.join(population) or '-'}\n{'ltv_12m':<22}  {scored['ltv_12m'] or '-'}")
    return 0


def render_profile(stored: dict[str, Any]) -> str:
    """A readable two-column view; nested values (consents, limits, flags) stay compact JSON."""
    profile = PlayerProfile.model_validate(stored).model_dump(mode="json")  # the model's field order
    width = max(len(k) for k in profile)
    lines = []
    for key, value in profile.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, separators=(", ", ": ")) if value else "-"
        lines.append(f"{key:<{width}}  {'-' if value is None else value}")
    return "\n".join(lines)


async def show_decisions(settings: Settings, brand: str, player_id: str, limit: int, as_json: bool) -> int:
    from adapters.decisions import DecisionLog

    async with open_store(settings) as store:
        decisions = await DecisionLog(store.pool).for_player(brand, player_id, limit)
    if as_json:
        print(json.dumps([d.model_dump(mode="json") for d in decisions], indent=2))
        return 0
    if not decisions:
        print(f"no decisions for player {player_id!r} in brand {brand!r}")
    for d in decisions:
        print(f"{d.decided_at.isoformat()}  {d.trigger}  rules {d.rules_version}  pack {d.policy}  [{d.decision_key}]")
        print(f"  matched: {', '.join(d.matched) or '-'}")
        for o in d.outcomes:
            why = f" by {o.guard}: {o.reason}" if o.guard else ""
            print(f"  {o.verdict:<8} {o.rule}: {json.dumps(o.proposed)}{why}")
    return 0


async def show_journeys(settings: Settings, brand: str | None, as_json: bool) -> int:
    """Conversion per journey, treatment against holdout: what the incentives are worth."""
    from adapters.ledger import Ledger

    async with open_store(settings) as store:
        rows = await Ledger(store.pool).journey_outcomes(brand)
    for row in rows:
        ended = row["converted"] + row["expired"] + row["cancelled"]
        row["conversion"] = round(row["converted"] / ended, 4) if ended else None
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no journeys yet" + (f" for brand {brand!r}" if brand else ""))
        return 0
    print(f"{'brand':<12} {'journey':<14} {'group':<10} {'started':>8} {'converted':>10} {'expired':>8} "
          f"{'cancelled':>10} {'conversion':>11}  uplift")
    rates = {(r["brand"], r["kind"], r["control_group"]): r["conversion"] for r in rows}
    for r in rows:
        holdout = rates.get((r["brand"], r["kind"], "holdout"))
        uplift = (f"{(r['conversion'] - holdout) * 100:+.1f} pts" if r["control_group"] == "treatment"
                  and r["conversion"] is not None and holdout is not None else "")
        rate = "-" if r["conversion"] is None else f"{r['conversion']:.1%}"
        print(f"{r['brand']:<12} {r['kind']:<14} {r['control_group']:<10} {r['started']:>8} {r['converted']:>10} "
              f"{r['expired']:>8} {r['cancelled']:>10} {rate:>11}  {uplift}".rstrip())
    return 0


async def show_segments(settings: Settings, brand: str | None, as_json: bool) -> int:
    """Segment sizes from each brand's latest scoring run, and who joined or left since the one before."""
    from adapters.segments import Segments

    async with open_store(settings) as store:
        rows = await Segments(store.pool).sizes(brand)
    if as_json:
        print(json.dumps([{**r, "as_of": r["as_of"].isoformat()} for r in rows], indent=2))
        return 0
    if not rows:
        print("no segments yet: they are computed by the daily churn scoring run (ChurnScoringWorkflow)")
        return 0
    print(f"{'brand':<12} {'as of':<10} {'segment':<22} {'players':>8} {'joined':>7} {'left':>6}")
    for r in rows:
        print(f"{r['brand']:<12} {r['as_of'].isoformat():<10} {r['segment']:<22} {r['players']:>8} "
              f"{'+' + str(r['joined']):>7} {'-' + str(r['left_']):>6}")
    return 0
