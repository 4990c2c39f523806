"""Carrying out decisions: the ledger in PostgreSQL says what happened to each side effect."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.acting import ActingActivities, Order
from adapters.ledger import Ledger
from adapters.platform.backoffice import BackOffice
from adapters.platform.http import PlatformHttp, PlatformRejected
from adapters.platform.messaging import Messaging
from adapters.platform.pam import Pam
from adapters.platform.wallet import Wallet
from adapters.store import PlayerStore


def acting(store: PlayerStore, answer: httpx.Response) -> ActingActivities:
    """The acting activities against a platform that gives every call this answer."""
    http = PlatformHttp("http://platform", transport=httpx.MockTransport(lambda request: answer))
    return ActingActivities(Ledger(store.pool), Wallet(http), Messaging(http, "127.0.0.1", 1, "crm@x"), Pam(http),
                            BackOffice(http))


def order(player_id: str, action: dict[str, Any], value: Decimal | None = None) -> Order:
    return Order(key=f"journey:welcome:acme:{player_id}:1:start:0", brand="acme", player_id=player_id,
                 journey="welcome", rule="r", action=action, value=value)


async def test_a_refused_grant_is_recorded_as_refused_and_not_retried(store: PlayerStore, player_id: str) -> None:
    refusing = acting(store, httpx.Response(409, json={"error": "account_blocked"}))
    spins = order(player_id, {"bonus": {"kind": "free_spins", "amount": "10", "wagering": "10"}}, Decimal(10))
    with pytest.raises(PlatformRejected, match="409"):
        await ActivityEnvironment().run(refusing.grant_incentive, spins)
    rows = await store.fetch("SELECT status, amount, platform_ref FROM incentives WHERE player_id = $1", player_id)
    assert [tuple(r) for r in rows] == [("refused", Decimal(10), None)]


async def test_a_refused_message_is_recorded_as_refused(store: PlayerStore, player_id: str) -> None:
    refusing = acting(store, httpx.Response(422, json={"error": "invalid_body"}))
    sms = order(player_id, {"message": {"channel": "sms", "template": "welcome_sms"}})
    with pytest.raises(PlatformRejected):
        await ActivityEnvironment().run(refusing.send_message, sms)
    rows = await store.fetch("SELECT status, channel FROM communications WHERE player_id = $1", player_id)
    assert [tuple(r) for r in rows] == [("refused", "sms")]


async def test_a_granted_bonus_keeps_the_platforms_reference(store: PlayerStore, player_id: str) -> None:
    granting = acting(store, httpx.Response(200, json={"grant_id": "g-77", "status": "granted"}))
    cashback = order(player_id, {"bonus": {"kind": "cashback", "percent": "10", "cap": "50", "wagering": "0"}},
                     Decimal("35"))
    assert await ActivityEnvironment().run(granting.grant_incentive, cashback) == "g-77"
    rows = await store.fetch("SELECT status, kind, amount, platform_ref FROM incentives WHERE player_id = $1", player_id)
    assert [tuple(r) for r in rows] == [("granted", "cash", Decimal(35), "g-77")]  # cashback without wagering is cash
