"""Fault injection: the reference platform fails the way real ones do, on purpose.

An injected error either comes before the change (nothing happened) or after it (the change
happened but the answer was lost) — the second is what idempotency keys exist for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal


@dataclass
class Faults:
    error_rate: float = 0.0  # share of calls answered 503
    timeout_rate: float = 0.0  # share of calls that hang for `hang_seconds`
    latency_ms: int = 0  # added to every call
    hang_seconds: float = 30.0
    seed: int | None = None
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "timeout_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name}: {value} is not between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms: {self.latency_ms} is negative")
        self._random = random.Random(self.seed)

    def failure(self) -> Literal["before", "after"] | None:
        """Whether this call fails, and if so whether before or after making its change."""
        if self._random.random() >= self.error_rate:
            return None
        return "before" if self._random.random() < 0.5 else "after"

    def hang(self) -> bool:
        return self._random.random() < self.timeout_rate
