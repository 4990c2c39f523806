"""Recording what a PlayerWorkflow accepted into Postgres."""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from crm.batch import EventBatch


class EventRecorder(Protocol):
    async def record(self, batch: EventBatch) -> int: ...


class RecordingActivities:
    def __init__(self, store: EventRecorder) -> None:
        self._store = store

    @activity.defn(name="record_events")
    async def record(self, batch: EventBatch) -> int:
        """Store a batch once; a retry of the same batch stores nothing new.

        Returns how many of the batch's events were new to the database.
        """
        return await self._store.record(batch)
