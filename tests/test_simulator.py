"""The simulator: the same seed gives the same casino; archetypes behave as stated; the truth matches the events."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import eventually

from cli.simulate import write_population
from crm.events import parse_event
from simulator.population import ARCHETYPES, FADE_DAYS, Truth, simulate

START, DAYS = date(2025, 12, 1), 365


@pytest.fixture(scope="module")
def population() -> list[tuple[list[dict[str, Any]], Truth]]:
    return list(simulate(1500, START, DAYS, seed=3))


def by_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def day(event: dict[str, Any]) -> date:
    return datetime.fromisoformat(event["occurred_at"]).date()


def test_the_same_seed_writes_the_same_file_and_another_seed_another(tmp_path: Path) -> None:
    files = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_population(200, START, 60, seed, "acme", tmp_path / f"{name}.jsonl", None)
        files.append((tmp_path / f"{name}.jsonl").read_bytes() + (tmp_path / f"{name}.truth.csv").read_bytes())
    assert files[0] == files[1] and files[0] != files[2]


def test_every_event_keeps_the_contract_in_time_order(population: list[tuple[list[dict[str, Any]], Truth]]) -> None:
    for events, truth in population[:300]:
        parsed = [parse_event(e) for e in events]
        assert [e.occurred_at for e in parsed] == sorted(e.occurred_at for e in parsed)
        assert parsed[0].type == "registered" and parsed[0].occurred_at.date() == truth.registered_on
        assert len({e.event_id for e in parsed}) == len(parsed)


def test_the_archetypes_come_in_their_stated_shares(population: list[tuple[list[dict[str, Any]], Truth]]) -> None:
    counts = Counter(truth.archetype for _, truth in population)
    for archetype, share in ARCHETYPES.items():
        assert abs(counts[archetype] / len(population) - share) < 0.04, (archetype, counts)


def test_archetypes_play_as_described(population: list[tuple[list[dict[str, Any]], Truth]]) -> None:
    def stakes(archetype: str) -> list[Decimal]:
        return [Decimal(s["stake"]) for events, t in population if t.archetype == archetype
                for s in by_type(events, "session_ended")]

    assert statistics.median(stakes("high_roller")) > 20 * statistics.median(stakes("casual_slots"))
    live = Counter(s["game_category"] for events, t in population if t.archetype == "live_regular"
                   for s in by_type(events, "session_ended"))
    assert live["live_casino"] / sum(live.values()) > 0.75
    hunters = [(len(by_type(e, "bonus_claimed")), len(by_type(e, "deposit_succeeded")), len(by_type(e, "bonus_forfeited")))
               for e, t in population if t.archetype == "bonus_hunter"]
    claims, deposits, forfeits = (sum(h[i] for h in hunters) for i in range(3))
    assert claims / deposits > 0.6 and forfeits / claims > 0.5
    for events, truth in population:
        if truth.archetype == "failed_depositor":
            assert not by_type(events, "deposit_succeeded") and not by_type(events, "session_ended")
        if truth.archetype == "limit_setter" and truth.limit_on:
            assert [e["kind"] for e in by_type(events, "limit_changed")] == ["deposit"]


def test_fading_players_show_the_four_signals_before_they_leave(
    population: list[tuple[list[dict[str, Any]], Truth]]
) -> None:
    faded = [(events, truth) for events, truth in population if truth.archetype == "fading" and truth.churn_on]
    assert len(faded) > 50
    before, during, failures, switched = [], [], 0, 0
    for events, truth in faded:
        fade_from = truth.churn_on - timedelta(days=FADE_DAYS)
        sessions = by_type(events, "session_ended")
        early = [s for s in sessions if fade_from - timedelta(days=42) <= day(s) < fade_from]
        late = [s for s in sessions if fade_from <= day(s)]
        before.append(len(early) / 42)
        during.append(len(late) / FADE_DAYS)
        failures += any(fade_from <= day(f) for f in by_type(events, "deposit_failed"))
        main = Counter(s["game_category"] for s in early).most_common(1)
        switched += bool(late and main and Counter(s["game_category"] for s in late).most_common(1)[0][0] != main[0][0])
    assert statistics.mean(during) < 0.5 * statistics.mean(before)  # sessions per day fell
    assert failures / len(faded) > 0.5 and switched / len(faded) > 0.4


def test_the_truth_agrees_with_the_events(population: list[tuple[list[dict[str, Any]], Truth]]) -> None:
    end = START + timedelta(days=DAYS)
    for events, truth in population:
        if truth.churn_on is not None:  # gone for good: no real-money play, no deposit from then on
            after = [e for e in events if day(e) >= truth.churn_on and e["type"] in ("session_ended", "deposit_succeeded")]
            assert after == [], truth
        if truth.self_excluded_on is not None:
            assert events[-1]["type"] == "self_excluded" and day(events[-1]) == truth.self_excluded_on
        assert all(day(e) <= end for e in events)
    stayers = [events for events, truth in population if truth.churn_on is None
               and truth.archetype in ("live_regular", "table_player", "high_roller")]
    recent = [any(day(e) >= end - timedelta(days=30) for e in by_type(events, "session_ended")) for events in stayers]
    assert sum(recent) / len(recent) > 0.9  # regulars who never leave are still playing at the end


def test_the_written_file_is_what_simulate_yields(tmp_path: Path) -> None:
    write_population(30, START, 30, 9, "royal", tmp_path / "s.jsonl", tmp_path / "t.csv")
    written = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert written == [e for events, _ in simulate(30, START, 30, 9, "royal") for e in events]
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "player_id,archetype,registered_on,churn_on,self_excluded_on,limit_on"


async def test_a_simulated_year_imports_and_trains_a_model_that_beats_the_baselines(tmp_path: Path, store: Any) -> None:
    """The operator's path end to end: a year of history, `crm import`, `crm churn train`."""
    from activities.churn import ChurnActivities, TrainRequest
    from adapters.churn_features import ChurnFeatures
    from adapters.churn_models import ChurnModels
    from adapters.history_import import HistoryImport

    start = date(2020, 6, 1)  # a year no other test writes in
    write_population(2000, start, 365, 1, "simland", tmp_path / "year.jsonl", None)
    imported = await HistoryImport(store.pool).run(tmp_path / "year.jsonl", lambda *_: None, lambda _: None)
    assert imported.rejected == 0 and imported.accepted == imported.lines and imported.profiles_rebuilt == 2000
    report = await ChurnActivities(ChurnFeatures(store.pool), ChurnModels(store.pool)).train(
        TrainRequest(as_of=start + timedelta(days=365)))
    assert report.in_use, report.metrics
    assert report.metrics["model"]["auc"] > max(report.metrics["recency"]["auc"], report.metrics["bgnbd"]["auc"])


async def test_a_live_run_sends_each_event_at_its_scaled_moment_redated_to_now(sender: Any, store: Any) -> None:
    from simulator.live import play

    start, brand = date(2026, 1, 1), "simlive"
    streams = [events for events, _ in simulate(3, start, 6, seed=21, brand=brand)]
    sent: list[tuple[datetime, dict[str, Any]]] = []

    async def send(event: dict[str, Any]) -> None:
        sent.append((datetime.now(UTC), event))
        await sender.send(event)

    began = datetime.now(UTC)
    count = await play(streams, send, start, day_seconds=0.2, rate=200)
    assert count == sum(len(s) for s in streams) == len(sent)
    for at, event in sent:  # re-dated to the moment it was sent
        assert abs((datetime.fromisoformat(event["occurred_at"]) - at).total_seconds()) < 0.5
    for stream in streams:  # each player's events in their order, each when its scaled moment came
        mine = [(at, e) for at, e in sent if e["player_id"] == stream[0]["player_id"]]
        assert [e["event_id"] for _, e in mine] == [e["event_id"] for e in stream]
        for (at, _), original in zip(mine, stream, strict=True):
            scheduled = began + (datetime.fromisoformat(original["occurred_at"])
                                 - datetime.combine(start, datetime.min.time(), UTC)) * (0.2 / 86400)
            assert at >= scheduled - timedelta(milliseconds=50)

    async def stored() -> None:
        rows = await store.fetch("SELECT count(*) AS n FROM events WHERE brand = $1", brand)
        assert rows[0]["n"] == count

    await eventually(stored, timeout=30)
