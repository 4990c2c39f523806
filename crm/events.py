"""The event contract: what the operator's platform tells us about a player.

These models are the platform's API. The JSON Schema under ``docs/`` is generated from
them (``crm schema``), so a change here is a change to the published contract.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from crm.iso import COUNTRIES, CURRENCIES

# Read once at import: validation then needs no file system, which keeps it usable
# inside the Temporal workflow sandbox.
_TIMEZONES = frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _rfc3339(value: Any) -> Any:
    # Pydantic would also take a bare number as a Unix time; the contract says RFC 3339.
    if not isinstance(value, (str, datetime)):
        raise ValueError("must be an RFC 3339 timestamp string with an offset")
    return value


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _member_of(codes: frozenset[str], what: str):
    def check(value: str) -> str:
        if value not in codes:
            raise ValueError(f"{value!r} is not an {what}")
        return value

    return check


def _known_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError(f"{value!r} is not an IANA time zone name")
    return value


EventId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Brand = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
PlayerId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_as_utc)]
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=24, decimal_places=8),
    WithJsonSchema({
        "title": "Amount",
        "description": "Non-negative decimal, at most 8 decimal places.",
        "anyOf": [
            {"type": "string", "pattern": r"^\d+(\.\d{1,8})?$"},
            {"type": "number", "minimum": 0},
        ],
    }),
]
Country = Annotated[
    str,
    AfterValidator(_member_of(COUNTRIES, "ISO 3166-1 alpha-2 country code")),
    Field(description="ISO 3166-1 alpha-2 country code, e.g. MT.", examples=["MT"]),
]
Currency = Annotated[
    str,
    AfterValidator(_member_of(CURRENCIES, "ISO 4217 currency code")),
    Field(description="ISO 4217 code of the player's account currency, e.g. EUR.", examples=["EUR"]),
]
TimeZoneName = Annotated[
    str,
    AfterValidator(_known_timezone),
    Field(description="IANA time zone name, e.g. Europe/Malta."),
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]

Channel = Literal["email", "sms", "push", "phone"]
GameCategory = Literal["slots", "live_casino", "table", "sports", "poker", "bingo", "other"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push", "phone")
GAME_CATEGORIES: tuple[GameCategory, ...] = (
    "slots", "live_casino", "table", "sports", "poker", "bingo", "other",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Consents(_Strict):
    """Marketing consent per channel; absent means not given."""

    email: bool = False
    sms: bool = False
    push: bool = False
    phone: bool = False


class _Event(_Strict):
    event_id: EventId = Field(description="Platform-unique id; re-sending it changes nothing.")
    brand: Brand
    player_id: PlayerId
    occurred_at: Timestamp = Field(description="RFC 3339 with offset; stored as UTC.")


class Registered(_Event):
    type: Literal["registered"]
    country: Country
    currency: Currency
    birth_date: date | None = None
    timezone: TimeZoneName = "UTC"
    consents: Consents = Consents()
    acquisition_channel: Label | None = None


class KycUpdated(_Event):
    type: Literal["kyc_updated"]
    status: Literal["pending", "verified", "rejected"]


class ConsentChanged(_Event):
    type: Literal["consent_changed"]
    channel: Channel
    granted: bool


class LoggedIn(_Event):
    type: Literal["logged_in"]


class SessionEnded(_Event):
    """One game session, aggregated by the platform: bets are not streamed one by one."""

    type: Literal["session_ended"]
    started_at: Timestamp
    game_category: GameCategory
    rounds: int = Field(ge=0)
    stake: Amount
    win: Amount
    bonus_stake: Amount = Decimal(0)
    game_id: Label | None = None

    @property
    def duration_seconds(self) -> int:
        return int((self.occurred_at - self.started_at).total_seconds())

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> SessionEnded:
        if self.started_at > self.occurred_at:
            raise ValueError("started_at must not be after occurred_at (the session's end)")
        return self


class DepositSucceeded(_Event):
    type: Literal["deposit_succeeded"]
    amount: Amount
    method: Label


class DepositFailed(_Event):
    type: Literal["deposit_failed"]
    amount: Amount
    method: Label
    reason: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class WithdrawalCompleted(_Event):
    type: Literal["withdrawal_completed"]
    amount: Amount


class _BonusEvent(_Event):
    bonus_id: Label
    amount: Amount


class BonusClaimed(_BonusEvent):
    type: Literal["bonus_claimed"]


class BonusCompleted(_BonusEvent):
    type: Literal["bonus_completed"]


class BonusForfeited(_BonusEvent):
    type: Literal["bonus_forfeited"]


class LimitChanged(_Event):
    type: Literal["limit_changed"]
    kind: Literal["deposit", "loss", "session_time", "wager"]
    value: Amount = Field(description="Money for deposit/loss/wager limits, minutes for session_time.")
    period: Literal["session", "day", "week", "month", "year"]


class SelfExcluded(_Event):
    type: Literal["self_excluded"]
    until: Timestamp | None = Field(default=None, description="null means indefinite.")
    scope: Literal["brand", "group"]


class RgFlagged(_Event):
    """A responsible-gambling marker raised by the operator's risk systems."""

    type: Literal["rg_flagged"]
    marker: Label
    severity: Literal["low", "medium", "high"]


class AccountClosed(_Event):
    type: Literal["account_closed"]


Event = Annotated[
    Registered | KycUpdated | ConsentChanged | LoggedIn | SessionEnded
    | DepositSucceeded | DepositFailed | WithdrawalCompleted
    | BonusClaimed | BonusCompleted | BonusForfeited
    | LimitChanged | SelfExcluded | RgFlagged | AccountClosed,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = tuple(
    get_args(model.model_fields["type"].annotation)[0] for model in get_args(get_args(Event)[0])
)

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


class InvalidEvent(ValueError):
    """An event the contract refuses; ``reason`` names each field and what is wrong."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_event(payload: Any) -> Event:
    """Validate one event as the platform sent it (a JSON object already decoded)."""
    if not isinstance(payload, dict):
        raise InvalidEvent(f"event: must be a JSON object, got {type(payload).__name__}")
    try:
        return _adapter.validate_python(payload)
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from None


def parse_event_json(raw: str | bytes) -> Event:
    """Validate one event straight from its JSON text (bulk import: no dict in between)."""
    try:
        return _adapter.validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        # The first location item is the union tag (the event type); the field path follows.
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        if error["type"] == "union_tag_not_found":
            problems.append(f"type: required, one of {', '.join(EVENT_TYPES)}")
            continue
        field = ".".join(loc) or ("type" if error["type"] == "union_tag_invalid" else "event")
        problems.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def event_json_schema() -> dict[str, Any]:
    schema = _adapter.json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Casino CRM player event"
    schema["description"] = (
        "One player event, sent by the platform as the argument of signal `event` to "
        "workflow `player:{brand}:{player_id}` (type PlayerWorkflow, task queue crm)."
    )
    return schema
