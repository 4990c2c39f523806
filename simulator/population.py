"""A synthetic casino: players of known archetypes, their events, and the truth about them.

Each player is drawn from one archetype with its own random stream (seeded by the run's seed
and the player's number), so a population is the same every time for a seed, whatever the
order it is generated in. What each player did is written as events of the contract; what
they *are* — archetype, and whether and when they left — is the ground truth the churn
model and the journeys are judged against.

Archetypes, and what sets them apart:
- `casual_slots`: a few slots sessions a week, small stakes.
- `live_regular`: live casino most days, medium stakes.
- `table_player`: table games, steady.
- `sports_bettor`: sports, weekend-heavy.
- `high_roller`: large stakes and deposits; reaches VIP thresholds.
- `bonus_hunter`: claims a bonus with most deposits, plays bonus money, forfeits often.
- `fading`: plays steadily, then over three weeks plays less, stakes less, switches game and
  fails deposits — the four churn signals — and leaves.
- `failed_depositor`: tries to deposit, fails, retries, gives up and leaves.
- `self_excluder`: plays, then self-excludes.
- `limit_setter`: plays heavily, sets a deposit limit, plays on more moderately.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

ARCHETYPES: dict[str, float] = {  # archetype -> share of the population
    "casual_slots": 0.30, "live_regular": 0.12, "table_player": 0.08, "sports_bettor": 0.12, "high_roller": 0.03,
    "bonus_hunter": 0.08, "fading": 0.15, "failed_depositor": 0.05, "self_excluder": 0.03, "limit_setter": 0.04,
}
COUNTRIES = ("MT", "GB", "SE", "DE", "FI", "IE")


@dataclass(frozen=True)
class Style:
    """How an archetype plays: chance of a session on a given day, stake per session, games."""

    play_chance: float
    stake: tuple[float, float]  # lognormal mu, sigma of a session's stake
    games: dict[str, float]
    deposit_chance: float = 0.3  # on a day with play
    bonus_chance: float = 0.0  # a bonus claimed with a deposit
    rtp: float = 0.95  # share of stake won back on average


STYLES: dict[str, Style] = {
    "casual_slots": Style(0.25, (2.0, 0.6), {"slots": 0.9, "bingo": 0.1}),
    "live_regular": Style(0.6, (3.2, 0.5), {"live_casino": 0.85, "slots": 0.15}),
    "table_player": Style(0.45, (3.0, 0.5), {"table": 0.8, "poker": 0.2}),
    "sports_bettor": Style(0.35, (2.8, 0.7), {"sports": 0.9, "slots": 0.1}),
    "high_roller": Style(0.55, (5.5, 0.6), {"live_casino": 0.5, "table": 0.5}, deposit_chance=0.5),
    "bonus_hunter": Style(0.4, (2.5, 0.5), {"slots": 1.0}, deposit_chance=0.5, bonus_chance=0.8),
    "fading": Style(0.5, (3.0, 0.5), {"slots": 0.7, "table": 0.3}),
    "failed_depositor": Style(0.2, (2.0, 0.5), {"slots": 1.0}),
    "self_excluder": Style(0.6, (3.5, 0.7), {"slots": 0.6, "live_casino": 0.4}),
    "limit_setter": Style(0.7, (3.8, 0.6), {"slots": 0.5, "sports": 0.5}, deposit_chance=0.5),
}
FADE_DAYS = 21


@dataclass
class Truth:
    player_id: str
    archetype: str
    registered_on: date
    churn_on: date | None = None  # first day gone for good (no real-money play, no deposit after)
    self_excluded_on: date | None = None
    limit_on: date | None = None

    def row(self) -> dict[str, str]:
        return {"player_id": self.player_id, "archetype": self.archetype, "registered_on": self.registered_on.isoformat(),
                "churn_on": self.churn_on.isoformat() if self.churn_on else "",
                "self_excluded_on": self.self_excluded_on.isoformat() if self.self_excluded_on else "",
                "limit_on": self.limit_on.isoformat() if self.limit_on else ""}


@dataclass
class _Player:
    brand: str
    number: int
    archetype: str
    rng: random.Random
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def player_id(self) -> str:
        return f"s{self.number:07d}"

    def emit(self, event_type: str, at: datetime, **fields: Any) -> None:
        self.events.append({"event_id": f"{self.player_id}-{len(self.events)}", "type": event_type, "brand": self.brand,
                            "player_id": self.player_id, "occurred_at": at.isoformat(), **fields})


def archetype_of(seed: int, number: int) -> str:
    draw = random.Random(f"{seed}:{number}:archetype").random()
    for name, share in ARCHETYPES.items():
        draw -= share
        if draw < 0:
            return name
    return "casual_slots"


def simulate(players: int, start: date, days: int, seed: int = 1, brand: str = "acme",
             ) -> Iterator[tuple[list[dict[str, Any]], Truth]]:
    """Each player's events (in time order) and their truth, player by player."""
    for number in range(players):
        yield simulate_player(number, start, days, seed, brand)


def simulate_player(number: int, start: date, days: int, seed: int, brand: str) -> tuple[list[dict[str, Any]], Truth]:
    archetype = archetype_of(seed, number)
    player = _Player(brand, number, archetype, random.Random(f"{seed}:{number}"))
    rng, style = player.rng, STYLES[archetype]
    joined = start + timedelta(days=rng.randrange(max(days // 2, 1)))
    end = start + timedelta(days=days)
    truth = Truth(player.player_id, archetype, joined)
    register_at = datetime.combine(joined, time(rng.randrange(8, 23), rng.randrange(60)), UTC)
    player.emit("registered", register_at, country=rng.choice(COUNTRIES), currency="EUR",
                birth_date=date(rng.randrange(1955, 2003), rng.randrange(1, 13), rng.randrange(1, 29)).isoformat(),
                consents={"email": rng.random() < 0.8, "sms": rng.random() < 0.5, "push": rng.random() < 0.4},
                acquisition_channel=rng.choice(["affiliate", "search", "social", "tv"]))
    if rng.random() < 0.7:
        player.emit("kyc_updated", register_at + timedelta(hours=rng.randrange(1, 72)), status="verified")

    lifetime = (end - joined).days
    leaves_after = _leaves_after(archetype, rng, lifetime)
    excluded_after = rng.randrange(20, max(lifetime, 21)) if archetype == "self_excluder" else None
    limit_after = rng.randrange(10, max(lifetime, 11)) if archetype == "limit_setter" else None
    games = list(style.games)
    switched = rng.choice([g for g in ("slots", "live_casino", "table", "sports") if g not in games[:1]])
    for offset in range(1, lifetime):  # play starts the day after registering
        day = joined + timedelta(days=offset)
        if excluded_after is not None and offset == excluded_after:
            player.emit("self_excluded", _at(day, 20, rng), until=None, scope=rng.choice(["brand", "group"]))
            truth.self_excluded_on = truth.churn_on = day
            break
        if leaves_after is not None and offset >= leaves_after:
            truth.churn_on = day
            break
        if limit_after is not None and offset == limit_after:
            player.emit("limit_changed", _at(day, 9, rng), kind="deposit", value="200", period="week")
            truth.limit_on = day
        fading = archetype == "fading" and leaves_after is not None and offset >= leaves_after - FADE_DAYS
        moderated = limit_after is not None and offset > limit_after
        chance = style.play_chance * (0.3 if fading else 0.6 if moderated else 1.0)
        if archetype == "sports_bettor" and day.weekday() >= 5:
            chance = min(1.0, chance * 2)
        if archetype == "failed_depositor":
            _try_depositing(player, day, rng)
            continue
        if rng.random() >= chance:
            continue
        _play_day(player, day, style, games, switched if fading and rng.random() < 0.7 else None,
                  stake_factor=0.35 if fading else 0.6 if moderated else 1.0, failing=fading and rng.random() < 0.4)
    player.events.sort(key=lambda e: e["occurred_at"])
    return player.events, truth


def _leaves_after(archetype: str, rng: random.Random, lifetime: int) -> int | None:
    """After how many days the player leaves for good, if they do within the simulation."""
    if archetype == "fading":
        return rng.randrange(min(FADE_DAYS + 14, lifetime), max(lifetime, FADE_DAYS + 15)) if lifetime > FADE_DAYS else None
    if archetype == "failed_depositor":
        return min(rng.randrange(3, 15), lifetime)
    if archetype in ("casual_slots", "sports_bettor") and rng.random() < 0.15:  # some simply drift away
        return rng.randrange(0, lifetime) if lifetime else None
    return None


def _at(day: date, hour: int, rng: random.Random) -> datetime:
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), UTC)


def _play_day(player: _Player, day: date, style: Style, games: list[str], switched_to: str | None, *,
              stake_factor: float, failing: bool) -> None:
    rng = player.rng
    base = _at(day, rng.randrange(10, 22), rng)
    player.emit("logged_in", base)
    if failing:
        player.emit("deposit_failed", base + timedelta(minutes=5), amount=str(rng.choice([20, 50])),
                    method="card", reason=rng.choice(["insufficient_funds", "declined"]))
    bonus = False
    if not failing and rng.random() < style.deposit_chance:
        amount = max(round(rng.lognormvariate(style.stake[0] + 0.8, 0.4)), 10)
        player.emit("deposit_succeeded", base + timedelta(minutes=6), amount=str(amount),
                    method=rng.choice(["card", "trustly", "paypal"]))
        if rng.random() < style.bonus_chance:
            bonus = True
            bonus_id = f"b-{player.player_id}-{day.isoformat()}"
            player.emit("bonus_claimed", base + timedelta(minutes=7), bonus_id=bonus_id, amount=str(max(amount // 2, 5)))
            done = "bonus_completed" if rng.random() < 0.3 else "bonus_forfeited"
            player.emit(done, base + timedelta(hours=3), bonus_id=bonus_id, amount=str(max(amount // 2, 5)))
    started = base + timedelta(minutes=10)
    for _ in range(1 + int(rng.random() < 0.3)):
        category = switched_to or rng.choices(list(style.games), weights=list(style.games.values()))[0]
        stake = round(rng.lognormvariate(*style.stake) * stake_factor, 2)
        win = round(stake * max(rng.gauss(style.rtp, 0.35), 0), 2)
        ended = started + timedelta(minutes=rng.randrange(5, 80))
        player.emit("session_ended", ended, started_at=started.isoformat(), game_category=category,
                    rounds=rng.randrange(5, 400), stake=f"{stake:.2f}", win=f"{win:.2f}",
                    bonus_stake=f"{stake * 0.8:.2f}" if bonus else "0")
        started = ended + timedelta(minutes=1)


def _try_depositing(player: _Player, day: date, rng: random.Random) -> None:
    if rng.random() < 0.5:
        for attempt in range(rng.randrange(1, 4)):
            player.emit("deposit_failed", _at(day, 18, rng) + timedelta(minutes=attempt * 3),
                        amount=str(rng.choice([10, 20, 50])), method="card", reason="declined")
