"""The event contract the platform codes against: what it accepts, and how it says no."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import REPO, event

from cli.schema import render_event_docs, render_fact_docs, render_schema
from crm.events import EVENT_TYPES, DepositSucceeded, InvalidEvent, SessionEnded, parse_event

VALID = {
    "registered": dict(country="MT", currency="EUR", birth_date="1990-02-01", timezone="Europe/Malta",
                       consents={"email": True}, acquisition_channel="affiliate"),
    "kyc_updated": dict(status="verified"),
    "consent_changed": dict(channel="sms", granted=False),
    "logged_in": {},
    "session_ended": dict(started_at="2026-11-30T09:00:00Z", game_category="slots", rounds=120,
                          stake="60.00", win=35.5, bonus_stake="5", game_id="starburst"),
    "deposit_succeeded": dict(amount="50.00", method="card"),
    "deposit_failed": dict(amount=20, method="card", reason="insufficient_funds"),
    "withdrawal_completed": dict(amount="100"),
    "bonus_claimed": dict(bonus_id="b1", amount="10"),
    "bonus_completed": dict(bonus_id="b1", amount="10"),
    "bonus_forfeited": dict(bonus_id="b1", amount="10"),
    "limit_changed": dict(kind="deposit", value="500", period="month"),
    "self_excluded": dict(until=None, scope="group"),
    "rg_flagged": dict(marker="chasing_losses", severity="high"),
    "account_closed": {},
}


def test_every_event_type_has_a_valid_example() -> None:
    assert set(VALID) == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_events_are_accepted(kind: str) -> None:
    parsed = parse_event(event(kind, "acme", "p1", **VALID[kind]))
    assert parsed.type == kind


def test_amounts_are_decimal_and_times_are_utc() -> None:
    parsed = parse_event(event("session_ended", "acme", "p1", occurred_at="2026-11-30T12:00:00+02:00",
                               **VALID["session_ended"]))
    assert isinstance(parsed, SessionEnded)
    assert parsed.occurred_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert parsed.occurred_at.utcoffset().total_seconds() == 0
    assert parsed.stake == Decimal("60.00") and parsed.win == Decimal("35.5")
    assert parsed.duration_seconds == 3600


def test_a_float_amount_keeps_its_decimal_digits() -> None:
    parsed = parse_event(event("deposit_succeeded", "acme", "p1", amount=0.1, method="card"))
    assert isinstance(parsed, DepositSucceeded)
    assert parsed.amount == Decimal("0.1")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"amount": None}, "amount", "Decimal input should be"),
        ({"amount": "-1"}, "amount", "greater than or equal to 0"),
        ({"amount": "NaN"}, "amount", "finite"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"occurred_at": "2026-11-30T10:00:00"}, "occurred_at", "timezone"),
        ({"occurred_at": 1764496800}, "occurred_at", "RFC 3339"),
        ({"brand": "Acme Casino"}, "brand", "pattern"),
        ({"event_id": ""}, "event_id", "at least 1"),
        ({"player_id": "x" * 65}, "player_id", "at most 64"),
        ({"type": "jackpot_won"}, "type", "jackpot_won"),
    ],
)
def test_bad_fields_are_named_with_the_reason(change: dict, field: str, words: str) -> None:
    payload = event("deposit_succeeded", "acme", "p1", **VALID["deposit_succeeded"])
    payload.update(change)
    with pytest.raises(InvalidEvent) as refused:
        parse_event(payload)
    assert refused.value.reason.startswith(f"{field}: ") or f"; {field}: " in refused.value.reason
    assert words in refused.value.reason


def test_missing_fields_are_each_named() -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_event(event("registered", "acme", "p1"))
    assert "country: Field required" in refused.value.reason
    assert "currency: Field required" in refused.value.reason


def test_missing_type_lists_the_known_types() -> None:
    payload = event("logged_in", "acme", "p1")
    del payload["type"]
    with pytest.raises(InvalidEvent, match="type: required, one of registered, kyc_updated"):
        parse_event(payload)


@pytest.mark.parametrize(
    ("kind", "change", "reason"),
    [
        ("registered", {"country": "XX"}, "country: 'XX' is not an ISO 3166-1 alpha-2 country code"),
        ("registered", {"currency": "EURO"}, "currency: 'EURO' is not an ISO 4217 currency code"),
        ("registered", {"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA time zone name"),
        ("registered", {"consents": {"email": True, "fax": True}}, "consents.fax: Extra inputs"),
        ("session_ended", {"game_category": "lottery"}, "game_category: Input should be"),
        ("session_ended", {"started_at": "2026-11-30T11:00:00Z"}, "started_at must not be after occurred_at"),
        ("self_excluded", {"scope": "planet"}, "scope: Input should be 'brand' or 'group'"),
    ],
)
def test_domain_checks_say_what_is_wrong(kind: str, change: dict, reason: str) -> None:
    payload = event(kind, "acme", "p1", **{**VALID[kind], **change})
    with pytest.raises(InvalidEvent) as refused:
        parse_event(payload)
    assert reason in refused.value.reason


@pytest.mark.parametrize("payload", [None, "logged_in", 42, [1, 2], True])
def test_a_payload_that_is_not_an_object_is_refused(payload: object) -> None:
    with pytest.raises(InvalidEvent, match="event: must be a JSON object"):
        parse_event(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_random_junk_only_ever_gets_a_validation_error(payload: object) -> None:
    try:
        parse_event(payload)
    except InvalidEvent as refused:
        assert refused.reason


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(sorted(VALID)),
    field=st.sampled_from(["event_id", "brand", "player_id", "occurred_at", "amount", "started_at",
                           "rounds", "stake", "consents", "until", "status", "type", "country"]),
    value=json_values,
)
def test_junk_in_any_field_of_a_real_event_only_gets_a_validation_error(kind: str, field: str, value: object) -> None:
    payload = event(kind, "acme", "p1", **VALID[kind])
    payload[field] = value
    try:
        parse_event(payload)
    except InvalidEvent as refused:
        assert refused.reason


def test_the_published_contract_is_current() -> None:
    published = (REPO / "docs" / "event-schema.json").read_text()
    assert published == render_schema(), "docs/event-schema.json is stale: run `crm schema`"
    assert (REPO / "docs" / "events.md").read_text() == render_event_docs(), "docs/events.md is stale: run `crm schema`"
    assert (REPO / "docs" / "facts.md").read_text() == render_fact_docs(), "docs/facts.md is stale: run `crm schema`"
    schema = json.loads(published)
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_TYPES)
