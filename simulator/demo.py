"""`crm dev --demo`: a small live casino on brand `demo`, so a newcomer sees journeys move at once.

Brand `demo` runs the shipped rules with every journey wait in minutes. Within seconds the
Web UI shows players in welcome and first-deposit follow-up, a VIP review waiting for a staff
decision, and reactivations started by a churn-risk signal (as the daily scoring run would
send); then a new event arrives every few seconds. Players live where it is afternoon, so no
message waits for the end of quiet hours.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

BRAND = "demo"
Send = Callable[[dict[str, Any]], Awaitable[None]]
Signal = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # player id, signal, payload


def awake_timezone(at: datetime | None = None) -> str:
    """A time zone where it is early afternoon now, far from every pack's quiet hours."""
    hour = (at or datetime.now(UTC)).hour
    offset = (13 - hour) % 24
    offset = offset - 24 if offset > 14 else offset  # IANA's Etc zones span UTC-12 to UTC+14
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is three hours *ahead* of UTC


class DemoCasino:
    def __init__(self, send: Send, signal: Signal, seed: int = 7) -> None:
        self._send, self._signal, self._rng = send, signal, random.Random(seed)
        self._stamp = datetime.now(UTC).strftime("%H%M%S")
        self._players: list[str] = []
        self._events = 0

    async def open(self) -> list[str]:
        """The opening scene; returns what to look for."""
        for n in range(6):
            await self._register(f"new-{n}")
        for player_id in self._players[:3]:
            await self._event("deposit_succeeded", player_id, amount="30", method="card")
        vip = await self._register("vip", birth_date="1980-05-05")
        await self._event("kyc_updated", vip, status="verified")
        await self._event("deposit_succeeded", vip, amount="1500", method="card")
        for n in range(2):
            quiet = await self._register(f"quiet-{n}")
            await self._event("deposit_succeeded", quiet, amount="20", method="card")
            await self._signal(quiet, "churn_risk", {"risk": 0.82, "top_signal": "falling_frequency"})
        return [f"welcome and first-deposit journeys for {', '.join(self._players[:6])}",
                f"a VIP review waiting for staff: journey:vip_upgrade:{BRAND}:{vip}:1 (signal vip_review)",
                f"reactivations after a churn-risk signal: {self._players[-2]}, {self._players[-1]}"]

    async def run(self, every: timedelta = timedelta(seconds=5)) -> None:
        """Then the casino lives on: a new player, a deposit or a session every few seconds."""
        while True:
            await asyncio.sleep(every.total_seconds())
            roll = self._rng.random()
            if roll < 0.2 or not self._players:
                await self._register(f"new-{len(self._players)}")
            elif roll < 0.5:
                await self._event("deposit_succeeded", self._rng.choice(self._players),
                                  amount=str(self._rng.choice([10, 20, 50, 100])), method="card")
            else:
                ended = datetime.now(UTC)
                stake = round(self._rng.lognormvariate(3, 0.6), 2)
                await self._event("session_ended", self._rng.choice(self._players), occurred_at=ended,
                                  started_at=(ended - timedelta(minutes=20)).isoformat(),
                                  game_category=self._rng.choice(["slots", "live_casino", "table"]),
                                  rounds=self._rng.randrange(10, 200), stake=f"{stake:.2f}",
                                  win=f"{stake * self._rng.random():.2f}")

    async def _register(self, name: str, **fields: Any) -> str:
        player_id = f"{name}-{self._stamp}"
        self._players.append(player_id)
        await self._event("registered", player_id, country="MT", currency="EUR", timezone=awake_timezone(),
                          consents={"email": True, "sms": True}, **{"birth_date": "1990-01-01", **fields})
        return player_id

    async def _event(self, event_type: str, player_id: str, occurred_at: datetime | None = None, **fields: Any) -> None:
        self._events += 1
        await self._send({"event_id": f"demo-{self._stamp}-{self._events}", "type": event_type, "brand": BRAND,
                          "player_id": player_id, "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
                          **fields})
