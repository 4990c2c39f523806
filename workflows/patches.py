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


class Patches:
    def __init__(self) -> None:
        self._current = False

    def decide(self) -> None:
        """First thing in the run, before anything is awaited."""
        self._current = workflow.patched(ALL_SO_FAR)

    @property
    def current(self) -> bool:
        """The run began with today's code: it has every change, including those made with this one."""
        return self._current

    def has(self, change: str) -> bool:
        """Whether the run has a change made before this one (patched as `change`)."""
        return self._current or workflow.patched(change)
