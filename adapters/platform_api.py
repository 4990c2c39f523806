"""The HTTP contract between the CRM and the operator's platform, as pydantic models.

The adapters send these, the reference platform serves them, and docs/platform-api.yaml
(OpenAPI 3.1) is generated from them by `crm schema`, so the three cannot drift apart.

Every call that changes something carries an `Idempotency-Key` header derived from the
journey's workflow id and step: the platform must answer a repeated key with the first
result and change nothing again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from crm.events import GameCategory

IDEMPOTENCY_HEADER = "Idempotency-Key"
GrantKind = Literal["deposit_match", "free_spins", "cashback", "free_bet", "cash"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlayerAccount(_Body):
    """PAM's view of a player."""

    brand: str
    player_id: str
    kyc_status: Literal["none", "pending", "verified", "rejected"] = "none"
    vip_tier: str = "none"
    email: str | None = Field(default=None, description="Where the CRM's email goes; none: no email.")


class VipTierChange(_Body):
    tier: Literal["none", "bronze", "silver", "gold", "platinum"]
    reason: str = Field(max_length=500, description="Shown to the player's account manager.")


class Grant(_Body):
    """A bonus, free spins, cashback or a cash credit for the wallet and bonus engine."""

    brand: str
    player_id: str
    kind: GrantKind
    amount: Decimal = Field(gt=0, description="Value in the account currency; for free_spins, the number of spins.")
    wagering: Decimal = Field(default=Decimal(0), ge=0, description="Wagering requirement, times the amount.")
    expires_at: datetime | None = None
    reason: str = Field(max_length=200, description="The journey and rule that gave it, for the player's history.")


class GrantReceipt(_Body):
    grant_id: str
    status: Literal["granted"]


class OutboundMessage(_Body):
    """An SMS or push notification, sent through the platform's provider. Email goes by SMTP."""

    brand: str
    player_id: str
    channel: Literal["sms", "push"]
    template: str
    variables: dict[str, str] = {}


class MessageReceipt(_Body):
    message_id: str
    status: Literal["accepted"]


class StaffTask(_Body):
    """Work for a staff queue in the back office (a VIP manager's welcome call, payment help)."""

    brand: str
    player_id: str
    queue: str
    note: str


class TaskReceipt(_Body):
    task_id: str


class Game(_Body):
    game_id: str
    category: GameCategory
    name: str = ""


class RiskProfile(_Body):
    bonus_abuse_score: Decimal = Field(ge=0, le=1, description="0 clean to 1 certain abuse.")
    rg_markers: list[str] = []


class AffordabilityCheck(_Body):
    brand: str
    player_id: str
    tier: str


class AffordabilityResult(_Body):
    passed: bool
    enhanced_due_diligence: bool = Field(description="Enhanced due diligence is done and clear.")
    reason: str = ""


class ApiError(_Body):
    error: str
    detail: str = ""


class Route(NamedTuple):
    method: str
    path: str
    operation: str
    summary: str
    request: type[BaseModel] | None
    response: type[BaseModel]
    idempotent_write: bool = False


ROUTES: tuple[Route, ...] = (
    Route("GET", "/pam/players/{brand}/{player_id}", "getPlayer", "A player's account: KYC and VIP tier.",
          None, PlayerAccount),
    Route("PUT", "/pam/players/{brand}/{player_id}/vip-tier", "setVipTier", "Set the player's VIP tier.",
          VipTierChange, PlayerAccount, True),
    Route("POST", "/wallet/grants", "grant", "Grant a bonus, free spins, cashback or cash.",
          Grant, GrantReceipt, True),
    Route("POST", "/messaging/messages", "sendMessage", "Send an SMS or push notification.",
          OutboundMessage, MessageReceipt, True),
    Route("POST", "/backoffice/tasks", "createTask", "Put a task on a staff queue.", StaffTask, TaskReceipt, True),
    Route("GET", "/games/{game_id}", "getGame", "A game's category.", None, Game),
    Route("GET", "/risk/players/{brand}/{player_id}", "getRiskProfile",
          "Bonus-abuse score and responsible-gambling markers.", None, RiskProfile),
    Route("POST", "/risk/affordability", "checkAffordability",
          "Affordability and enhanced due diligence before a VIP upgrade.", AffordabilityCheck, AffordabilityResult),
)


def openapi() -> dict:
    """docs/platform-api.yaml, from the models above."""
    schemas: dict[str, dict] = {"ApiError": ApiError.model_json_schema(ref_template="#/components/schemas/{model}")}
    paths: dict[str, dict] = {}
    for route in ROUTES:
        for model in (route.request, route.response):
            if model is not None:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _path_params(route.path)]
        if route.idempotent_write:
            params.append({"name": IDEMPOTENCY_HEADER, "in": "header", "required": True,
                           "description": "Derived from workflow id and step; a repeat returns the first result "
                                          "and changes nothing.", "schema": {"type": "string", "maxLength": 256}})
        operation: dict = {
            "operationId": route.operation, "summary": route.summary, "parameters": params,
            "responses": {
                "200": {"description": "Done (or, for a repeated Idempotency-Key, done before).",
                        "content": _json(route.response.__name__)},
                "4XX": {"description": "Refused: not retried.", "content": _json("ApiError")},
                "5XX": {"description": "Failed: retried with the same Idempotency-Key.", "content": _json("ApiError")},
            },
        }
        if route.request is not None:
            operation["requestBody"] = {"required": True, "content": _json(route.request.__name__)}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Casino CRM platform API", "version": "1",
                 "description": "What the CRM calls on the operator's platform. Email is sent by SMTP, "
                                "with the idempotency key as its Message-ID. Generated by `crm schema`."},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _json(name: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
