"""The reference platform: docs/platform-api.yaml served over HTTP, for dev, demos and tests.

    crm platform --port 8090 --smtp-port 8025 --error-rate 0.3

Beside the contract it serves `GET /_reference/ledger` (everything granted, sent and set,
each once) and `PUT /_reference/...` to seed accounts, risk and affordability answers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from adapters.platform_api import (
    IDEMPOTENCY_HEADER,
    ROUTES,
    AffordabilityCheck,
    AffordabilityResult,
    Grant,
    OutboundMessage,
    PlayerAccount,
    RiskProfile,
    StaffTask,
    VipTierChange,
)
from adapters.reference_platform.faults import Faults
from adapters.reference_platform.ledger import Ledger


class Refused(Exception):
    def __init__(self, status: int, error: str, detail: str = "") -> None:
        self.status, self.error, self.detail = status, error, detail


def create_app(ledger: Ledger, faults: Faults) -> Starlette:
    async def handle(request: Request, work: Any) -> Response:
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.hang():
            await asyncio.sleep(faults.hang_seconds)
        failure = faults.failure()
        if failure == "before":
            return _error(503, "injected_failure", "failed before any change")
        try:
            answer = await work(request)
        except Refused as refused:
            return _error(refused.status, refused.error, refused.detail)
        if failure == "after":
            return _error(503, "injected_failure", "the change was made; the answer is lost")
        return JSONResponse(answer)

    def route(path: str, method: str, work: Any) -> HttpRoute:
        async def endpoint(request: Request) -> Response:
            return await handle(request, work)
        return HttpRoute(path, endpoint, methods=[method])

    async def get_player(request: Request) -> dict:
        return _dump(ledger.account(request.path_params["brand"], request.path_params["player_id"]))

    async def set_vip_tier(request: Request) -> dict:
        brand, player_id = request.path_params["brand"], request.path_params["player_id"]
        change = await _body(request, VipTierChange)
        account = ledger.account(brand, player_id)

        def apply() -> dict:
            ledger.accounts[(brand, player_id)] = account.model_copy(update={"vip_tier": change.tier})
            return _dump(ledger.accounts[(brand, player_id)])
        return ledger.once(_key(request), "tier_changes", {"brand": brand, "player_id": player_id, **_dump(change)}, apply)

    async def grant(request: Request) -> dict:
        body = await _body(request, Grant)
        return ledger.once(_key(request), "grants", _dump(body),
                           lambda: {"grant_id": ledger.new_id("grant"), "status": "granted"})

    async def send_message(request: Request) -> dict:
        body = await _body(request, OutboundMessage)
        return ledger.once(_key(request), "messages", _dump(body),
                           lambda: {"message_id": ledger.new_id("msg"), "status": "accepted"})

    async def create_task(request: Request) -> dict:
        body = await _body(request, StaffTask)
        return ledger.once(_key(request), "tasks", _dump(body), lambda: {"task_id": ledger.new_id("task")})

    async def get_game(request: Request) -> dict:
        game_id = request.path_params["game_id"]
        category = game_id.split("-", 1)[0]
        if category not in ("slots", "live_casino", "table", "sports", "poker", "bingo", "other"):
            raise Refused(404, "unknown_game", f"no game {game_id!r} (reference games are named <category>-<name>)")
        return {"game_id": game_id, "category": category, "name": game_id}

    async def get_risk(request: Request) -> dict:
        return _dump(ledger.risk_of(request.path_params["brand"], request.path_params["player_id"]))

    async def affordability(request: Request) -> dict:
        check = await _body(request, AffordabilityCheck)
        return _dump(ledger.affordability_of(check.brand, check.player_id))

    async def show_ledger(request: Request) -> Response:
        return JSONResponse(ledger.snapshot())

    async def seed(request: Request) -> Response:
        brand, player_id, what = (request.path_params[k] for k in ("brand", "player_id", "what"))
        models: dict[str, tuple[type[BaseModel], dict]] = {
            "account": (PlayerAccount, ledger.accounts), "risk": (RiskProfile, ledger.risk),
            "affordability": (AffordabilityResult, ledger.affordability),
        }
        if what not in models:
            return _error(404, "unknown_seed", f"one of {', '.join(models)}")
        model, store = models[what]
        try:
            store[(brand, player_id)] = await _body(request, model)
        except Refused as refused:
            return _error(refused.status, refused.error, refused.detail)
        return JSONResponse({"ok": True})

    served = {
        "getPlayer": get_player, "setVipTier": set_vip_tier, "grant": grant, "sendMessage": send_message,
        "createTask": create_task, "getGame": get_game, "getRiskProfile": get_risk,
        "checkAffordability": affordability,
    }
    return Starlette(routes=[
        *(route(r.path, r.method, served[r.operation]) for r in ROUTES),
        HttpRoute("/_reference/ledger", show_ledger, methods=["GET"]),
        HttpRoute("/_reference/{what}/{brand}/{player_id}", seed, methods=["PUT"]),
    ])


def _key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise Refused(400, "missing_idempotency_key", f"{IDEMPOTENCY_HEADER} header is required on this call")
    return key


async def _body(request: Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as invalid:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                           for e in invalid.errors(include_url=False))
        raise Refused(422, "invalid_body", detail) from invalid


def _dump(model: BaseModel) -> dict:
    return json.loads(model.model_dump_json())


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)
