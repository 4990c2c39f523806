"""CPU seconds each part of the stack spends, read from the kernel's accounting (psutil).

Latency on a shared two-core machine swings with whatever else runs there; the CPU a part
spends per event does not, so it is what tells one version of the code from another.
"""

from __future__ import annotations

import os
import time

import psutil


def cpu_seconds(pid: int, descendants: bool = True) -> float:
    """User and system CPU of a process and its live descendants, plus what it reaped."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *(root.children(recursive=True) if descendants else [])]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if process is root:
            total += times.children_user + times.children_system
    return total


class CpuMeter:
    """CPU seconds of named process trees between `start()` and `stop()`, and of this process
    alone as "driver" (its children are the trees named)."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self._started: dict[str, float] = {}
        self._since = 0.0
        self.spent: dict[str, float] = {}
        self.seconds = 0.0

    def _read(self) -> dict[str, float]:
        return {"driver": cpu_seconds(os.getpid(), descendants=False),
                **{name: cpu_seconds(pid) for name, pid in self.pids.items()}}

    def start(self) -> None:
        self._started, self._since = self._read(), time.monotonic()

    def stop(self) -> dict[str, float]:
        self.spent = {name: seconds - self._started[name] for name, seconds in self._read().items()}
        self.seconds = time.monotonic() - self._since
        return self.spent

    def per_event_ms(self, events: int) -> dict[str, float]:
        return {name: round(seconds * 1000 / events, 2) for name, seconds in self.spent.items()}

    def cores_busy(self) -> dict[str, float]:
        """Each part's CPU over the time measured: 1.0 is one core kept busy."""
        return {name: round(seconds / self.seconds, 2) for name, seconds in self.spent.items()}
