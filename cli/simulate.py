"""`crm simulate`: a population of known archetypes, as a file for `crm import` or live, with its truth beside it."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from crm.settings import Settings
from simulator.population import Truth, simulate


def write_population(players: int, start: date, days: int, seed: int, brand: str, out: Path,
                     truth: Path | None) -> int:
    truth = truth or out.with_name(out.stem + ".truth.csv")
    events = 0
    with out.open("w") as lines, truth.open("w", newline="") as facts:
        writer = csv.DictWriter(facts, fieldnames=list(Truth("", "", start).row()))
        writer.writeheader()
        for player_events, player_truth in simulate(players, start, days, seed, brand):
            for event in player_events:
                lines.write(json.dumps(event, separators=(",", ":")) + "\n")
            events += len(player_events)
            writer.writerow(player_truth.row())
    print(f"wrote {events:,} events of {players:,} players ({start} + {days} days, seed {seed}) to {out}; "
          f"the truth (archetype, churn day) to {truth}")
    return 0


async def play_live(settings: Settings, players: int, start: date, days: int, seed: int, brand: str,
                    truth: Path, day_seconds: float, rate: float) -> int:
    """Send the population's events as the platform would, one simulated day per `day_seconds`."""
    from adapters.event_sender import EventSender
    from adapters.temporal import connect
    from simulator.live import play

    population = list(simulate(players, start, days, seed, brand))
    with truth.open("w", newline="") as facts:
        writer = csv.DictWriter(facts, fieldnames=list(Truth("", "", start).row()))
        writer.writeheader()
        writer.writerows(t.row() for _, t in population)
    sender = EventSender(await connect(settings.temporal_address, settings.temporal_namespace), settings.task_queue)
    print(f"playing {players:,} players of brand {brand!r} live: one simulated day every {day_seconds:g} s, "
          f"at most {rate:g} events/s; the truth is in {truth}. Ctrl-C stops.", flush=True)
    sent = await play((events for events, _ in population), sender.send, start, day_seconds, rate)
    print(f"sent {sent:,} events")
    return 0
