"""What the reference platform keeps: every grant, message, email, tier change and task, once.

A repeated idempotency key returns the first answer and records nothing new; `effects`
counts how many times each key reached the platform, so tests can tell a retry that was
absorbed from one that paid twice.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.platform_api import AffordabilityResult, PlayerAccount, RiskProfile


@dataclass
class Ledger:
    grants: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    tier_changes: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[tuple[str, str], PlayerAccount] = field(default_factory=dict)
    risk: dict[tuple[str, str], RiskProfile] = field(default_factory=dict)
    affordability: dict[tuple[str, str], AffordabilityResult] = field(default_factory=dict)
    requests_by_key: Counter[str] = field(default_factory=Counter)
    _answers: dict[str, Any] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def once(self, key: str, kind: str, record: dict[str, Any], change: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Make a change the first time its key is seen; afterwards return the first answer."""
        self.requests_by_key[key] += 1
        if key not in self._answers:
            self._answers[key] = change()
            getattr(self, kind).append({**record, "idempotency_key": key, "at": datetime.now(UTC).isoformat()})
        return self._answers[key]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def account(self, brand: str, player_id: str) -> PlayerAccount:
        return self.accounts.setdefault(
            (brand, player_id),
            PlayerAccount(brand=brand, player_id=player_id, email=f"{player_id}@{brand}.players.example"),
        )

    def risk_of(self, brand: str, player_id: str) -> RiskProfile:
        return self.risk.get((brand, player_id), RiskProfile(bonus_abuse_score=Decimal(0)))

    def affordability_of(self, brand: str, player_id: str) -> AffordabilityResult:
        return self.affordability.get(
            (brand, player_id), AffordabilityResult(passed=True, enhanced_due_diligence=True))

    def snapshot(self) -> dict[str, Any]:
        return {
            "grants": self.grants, "messages": self.messages, "emails": self.emails,
            "tier_changes": self.tier_changes, "tasks": self.tasks,
            "repeated_keys": {k: n for k, n in self.requests_by_key.items() if n > 1},
        }
