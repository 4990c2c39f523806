"""Which changes to the player's workflow a run has: one decision at the start of the run.

Each change to running player workflows was guarded by its own `workflow.patched` call, made
where the change is. That is unsafe after a local activity: its marker and the code after it can
land in different workflow tasks, and a patch decided in the second task is replayed in the first,
before its marker is known, so the run no longer replays (caught by
tests/test_exactly_once.py's worker restart). Runs begun from now on therefore decide once, first
thing, before anything is awaited: one marker says the run has every change up to this one. Runs
begun earlier still decide each change where they always did.

A later change adds its own patch here, decided in `decide()` too, never further down the run.
"""

from __future__ import annotations

from temporalio import workflow

ALL_SO_FAR = "changes-decided-at-start"
# Changes made since, in the order they were made: each is decided in `decide()` as well.
# - vip-check-in-task: after a deposit, the VIP check is a local activity in the same task.
DECIDED_AT_START = ("vip-check-in-task",)


class Patches:
    def __init__(self) -> None:
        self._current = False
        self._since: dict[str, bool] = {}

    def decide(self) -> None:
        """First thing in the run, before anything is awaited."""
        self._current = workflow.patched(ALL_SO_FAR)
        self._since = {change: workflow.patched(change) for change in DECIDED_AT_START}

    @property
    def current(self) -> bool:
        """The run began with the code that made this class: it has every change up to it."""
        return self._current

    def has(self, change: str) -> bool:
        """Whether the run has a change (patched as `change`)."""
        if change in self._since:
            return self._since[change]
        return self._current or workflow.patched(change)
