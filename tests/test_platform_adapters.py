"""The platform adapters against the reference platform: idempotency, errors, email by SMTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.platform.http import PlatformHttp, PlatformRejected, PlatformUnavailable
from adapters.platform.messaging import Messaging
from adapters.platform.pam import Pam
from adapters.platform.risk import Risk
from adapters.platform.wallet import Wallet
from adapters.platform_api import AffordabilityCheck, Grant, OutboundMessage, VipTierChange


def _grant(player_id: str) -> Grant:
    return Grant(brand="acme", player_id=player_id, kind="free_spins", amount=Decimal(10), reason="test")


@pytest.mark.parametrize(("answer", "error"), [
    (httpx.Response(503, text="down"), PlatformUnavailable),
    (httpx.Response(429, text="slow down"), PlatformUnavailable),
    (httpx.Response(422, json={"error": "invalid_body"}), PlatformRejected),
    (httpx.Response(404, json={"error": "unknown_game"}), PlatformRejected),
    (httpx.Response(200, text="<html>"), PlatformUnavailable),
])
async def test_platform_answers_are_classified_for_temporal_retries(answer: httpx.Response, error: type) -> None:
    http = PlatformHttp("http://platform", transport=httpx.MockTransport(lambda request: answer))
    with pytest.raises(error):
        await Wallet(http).grant(_grant("p-1"), key="k")


async def test_a_timeout_is_worth_retrying() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    http = PlatformHttp("http://platform", transport=httpx.MockTransport(hang))
    with pytest.raises(PlatformUnavailable, match="no answer in time"):
        await Wallet(http).grant(_grant("p-1"), key="k")


async def test_every_write_sends_its_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"grant_id": "g-1", "status": "granted"})

    http = PlatformHttp("http://platform", transport=httpx.MockTransport(record))
    await Wallet(http).grant(_grant("p-1"), key="journey:welcome:acme:p-1:1:start:0")
    assert seen[0].headers["Idempotency-Key"] == "journey:welcome:acme:p-1:1:start:0"


async def test_a_repeated_key_grants_once_on_the_reference_platform(platform: Any, player_id: str) -> None:
    wallet = Wallet(PlatformHttp(platform.url))
    first = await wallet.grant(_grant(player_id), key=f"{player_id}:grant")
    again = await wallet.grant(_grant(player_id), key=f"{player_id}:grant")
    assert first == again
    mine = [g for g in platform.ledger.grants if g["player_id"] == player_id]
    assert len(mine) == 1 and Decimal(mine[0]["amount"]) == Decimal(10)


async def test_a_lost_answer_is_retried_and_lands_once(platform: Any, player_id: str) -> None:
    wallet = Wallet(PlatformHttp(platform.url))
    platform.faults.error_rate = 1.0  # every call fails, half of them after making the change
    try:
        for _ in range(6):
            with pytest.raises(PlatformUnavailable):
                await wallet.grant(_grant(player_id), key=f"{player_id}:lost")
    finally:
        platform.faults.error_rate = 0.0
    await wallet.grant(_grant(player_id), key=f"{player_id}:lost")
    assert len([g for g in platform.ledger.grants if g["player_id"] == player_id]) == 1


async def test_bad_requests_are_refused_naming_the_field(platform: Any) -> None:
    http = PlatformHttp(platform.url)
    with pytest.raises(PlatformRejected, match="tier"):
        await http.call("PUT", "/pam/players/acme/p-1/vip-tier", dict,  # type: ignore[arg-type]
                        VipTierChange.model_construct(tier="diamond", reason="x"), "k-bad")


async def test_vip_tier_and_risk_round_trip(platform: Any, player_id: str) -> None:
    http = PlatformHttp(platform.url, timeout=timedelta(seconds=2))
    pam, risk = Pam(http), Risk(http)
    account = await pam.set_vip_tier("acme", player_id, VipTierChange(tier="gold", reason="test"), key=f"{player_id}:vip")
    assert account.vip_tier == "gold" and (await pam.player("acme", player_id)).vip_tier == "gold"
    checked = await risk.affordability(AffordabilityCheck(brand="acme", player_id=player_id, tier="gold"))
    assert checked.passed


async def test_email_goes_by_smtp_and_a_resend_is_recognised(platform: Any, player_id: str) -> None:
    messaging = Messaging(PlatformHttp(platform.url), platform.smtp_host, platform.smtp_port, "crm@acme.example")
    for _ in range(2):
        await messaging.email(f"{player_id}@acme.example", "welcome_1", {"player_id": player_id}, key=f"{player_id}:mail")
    received = [e for e in platform.ledger.emails if e["to"] == [f"{player_id}@acme.example"]]
    assert len(received) == 1 and received[0]["template"] == "welcome_1"
    receipt = await messaging.send(OutboundMessage(brand="acme", player_id=player_id, channel="sms", template="hi"),
                                   key=f"{player_id}:sms")
    assert receipt.status == "accepted"


def test_the_published_platform_api_is_current() -> None:
    from cli.schema import render_platform_api
    from support import REPO

    assert (REPO / "docs" / "platform-api.yaml").read_text() == render_platform_api(), \
        "docs/platform-api.yaml is stale: run `crm schema`"


async def test_the_game_catalogue_names_a_games_category_and_refuses_an_unknown_game(platform: Any) -> None:
    from adapters.platform.games import Games

    games = Games(PlatformHttp(platform.url))
    assert (await games.game("live_casino-lightning-roulette")).category == "live_casino"
    with pytest.raises(PlatformRejected, match="unknown_game"):
        await games.game("no-such-game-anywhere")
