"""The `crm` command as an operator runs it: a real process against the test stack."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from support import CRM, TASK_QUEUE, event, eventually

from adapters.event_sender import EventSender
from adapters.store import PlayerStore
from adapters.temporal_dev_server import TemporalDevServer


async def crm(*args: str, env: dict[str, str], stdin: str | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CRM, *args, env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode() if stdin else None)
    return process.returncode or 0, out.decode(), err.decode()


async def test_crm_player_shows_the_stored_profile(
    sender: EventSender, database_url: str, store: PlayerStore, player_id: str
) -> None:
    await sender.send(event("registered", "acme", player_id, country="SE", currency="SEK"))
    await sender.send(event("deposit_succeeded", "acme", player_id, amount="200", method="trustly"))
    env = {"CRM_DATABASE_URL": database_url}

    async def stored() -> dict[str, Any]:
        code, out, err = await crm("player", "acme", player_id, "--json", env=env)
        assert code == 0, err
        profile = json.loads(out)
        assert profile["deposit_count"] == 1
        return profile

    profile = await eventually(stored)
    assert (profile["country"], profile["currency"], profile["deposit_total"]) == ("SE", "SEK", "200")

    code, out, _ = await crm("player", "acme", player_id, env=env)
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert lines["player_id"].strip() == player_id
    assert lines["account_status"].strip() == "depositor"
    assert lines["deposit_total"].strip() == "200"


async def test_crm_player_says_when_there_is_no_such_player(database_url: str, store: PlayerStore) -> None:
    code, _, err = await crm("player", "acme", "nobody-at-all", env={"CRM_DATABASE_URL": database_url})
    assert code == 1
    assert "no player 'nobody-at-all' in brand 'acme'" in err


async def test_crm_send_delivers_json_lines_and_names_bad_lines(
    temporal_server: TemporalDevServer, worker: None, client: Any, player_id: str
) -> None:
    lines = [
        json.dumps(event("registered", "acme", player_id, country="GB", currency="GBP")),
        json.dumps(event("deposit_succeeded", "acme", player_id, amount="20", method="card")),
        json.dumps(event("deposit_succeeded", "acme", player_id, method="card")),  # no amount
        "{not json",
        json.dumps(event("logged_in", "acme", player_id)),
    ]
    env = {"CRM_TEMPORAL_ADDRESS": temporal_server.address, "CRM_TASK_QUEUE": TASK_QUEUE}
    code, out, err = await crm("send", "-", env=env, stdin="\n".join(lines) + "\n")
    assert code == 1
    assert "-:3: refused: amount: Field required" in err
    assert "-:4: refused: event: not valid JSON" in err
    assert "sent 3 event(s) to 1 player(s); refused 2" in out

    handle = client.get_workflow_handle(f"player:acme:{player_id}")

    async def arrived() -> None:
        profile = await handle.query("profile")
        assert (profile["events_accepted"], profile["login_count"], profile["country"]) == (3, 1, "GB")

    await eventually(arrived)


async def test_crm_journeys_compares_treatment_with_holdout(database_url: str, store: PlayerStore) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from adapters.ledger import Ledger

    brand, ledger, now = f"uplift-{uuid4().hex[:8]}", Ledger(store.pool), datetime.now(UTC)
    # 10 treated welcome journeys, 6 converted; 4 held out, 1 converted; one treated still running.
    for n, (group, outcome) in enumerate([("treatment", "converted")] * 6 + [("treatment", "expired")] * 3
                                         + [("treatment", "cancelled")] + [("treatment", None)]
                                         + [("holdout", "converted")] + [("holdout", "expired")] * 3):
        journey = f"journey:welcome:{brand}:p{n}:1"
        await ledger.journey_started(journey, brand, f"p{n}", "welcome", group, now)
        if outcome:
            await ledger.journey_ended(journey, outcome, "test", now, {})
    env = {"CRM_DATABASE_URL": database_url}

    code, out, err = await crm("journeys", "--brand", brand, "--json", env=env)
    assert code == 0, err
    rows = {r["control_group"]: r for r in json.loads(out)}
    assert (rows["treatment"]["started"], rows["treatment"]["converted"], rows["treatment"]["conversion"]) == (11, 6, 0.6)
    assert (rows["holdout"]["started"], rows["holdout"]["converted"], rows["holdout"]["conversion"]) == (4, 1, 0.25)

    code, out, _ = await crm("journeys", "--brand", brand, env=env)
    treated = next(line for line in out.splitlines() if "treatment" in line)
    assert treated.split()[-3:] == ["60.0%", "+35.0", "pts"]
