"""`crm simulate`: a population of known archetypes as a file for `crm import`, with its truth beside it."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

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
