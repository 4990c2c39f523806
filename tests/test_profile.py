"""How events fold into the unified profile and the daily aggregates (pure, no services)."""

from __future__ import annotations

from decimal import Decimal

from support import event

from crm.events import parse_event
from crm.profile import PlayerProfile


def fold(*events: dict) -> PlayerProfile:
    profile = PlayerProfile(brand="acme", player_id="p1")
    for e in events:
        profile.apply(parse_event(e))
    return profile


def test_a_late_older_consent_event_does_not_undo_a_newer_withdrawal() -> None:
    profile = fold(
        event("registered", "acme", "p1", country="GB", currency="GBP", consents={"email": True},
              occurred_at="2026-11-01T10:00:00Z"),
        event("consent_changed", "acme", "p1", channel="email", granted=False, occurred_at="2026-11-03T10:00:00Z"),
        event("consent_changed", "acme", "p1", channel="email", granted=True, occurred_at="2026-11-02T10:00:00Z"),
    )
    assert profile.consents.email is False


def test_kyc_and_limits_keep_the_newest_value_whatever_the_arrival_order() -> None:
    profile = fold(
        event("kyc_updated", "acme", "p1", status="verified", occurred_at="2026-11-05T00:00:00Z"),
        event("kyc_updated", "acme", "p1", status="pending", occurred_at="2026-11-04T00:00:00Z"),
        event("limit_changed", "acme", "p1", kind="deposit", value="100", period="week", occurred_at="2026-11-05T00:00:00Z"),
        event("limit_changed", "acme", "p1", kind="deposit", value="900", period="week", occurred_at="2026-11-01T00:00:00Z"),
    )
    assert profile.kyc_status == "verified"
    assert profile.limits["deposit"].value == Decimal("100")


def test_stage_follows_the_player_lifecycle() -> None:
    profile = fold(event("logged_in", "acme", "p1"))
    assert profile.account_status == "prospect"  # events can arrive before the registration
    profile.apply(parse_event(event("registered", "acme", "p1", country="MT", currency="EUR")))
    assert profile.account_status == "registered"
    profile.apply(parse_event(event("deposit_succeeded", "acme", "p1", amount="5", method="card")))
    assert profile.account_status == "depositor"
    profile.apply(parse_event(event("self_excluded", "acme", "p1", until="2027-01-01T00:00:00Z", scope="brand")))
    assert profile.account_status == "self_excluded"
    profile.end_self_exclusion()
    assert profile.account_status == "depositor"
    profile.apply(parse_event(event("account_closed", "acme", "p1")))
    assert profile.account_status == "closed"


def test_rg_severity_is_the_highest_marker_seen() -> None:
    profile = fold(
        event("rg_flagged", "acme", "p1", marker="late_night_play", severity="low"),
        event("rg_flagged", "acme", "p1", marker="chasing_losses", severity="high"),
        event("rg_flagged", "acme", "p1", marker="deposit_spike", severity="medium"),
    )
    assert profile.rg_severity == "high"
    assert [f.marker for f in profile.rg_flags] == ["late_night_play", "chasing_losses", "deposit_spike"]


def test_operator_actions_do_not_make_a_player_active() -> None:
    profile = fold(
        event("logged_in", "acme", "p1", occurred_at="2026-11-01T10:00:00Z"),
        event("rg_flagged", "acme", "p1", marker="m", severity="low", occurred_at="2026-11-09T10:00:00Z"),
        event("kyc_updated", "acme", "p1", status="verified", occurred_at="2026-11-09T11:00:00Z"),
    )
    assert profile.last_active_at is not None and profile.last_active_at.day == 1
