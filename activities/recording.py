"""Recording what a PlayerWorkflow accepted into Postgres."""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from crm.batch import EventBatch, StoredProfile


class EventRecorder(Protocol):
    async def record(self, batch: EventBatch) -> int: ...

    async def stored_profile(self, brand: str, player_id: str) -> StoredProfile | None: ...


class RecordingActivities:
    def __init__(self, store: EventRecorder) -> None:
        self._store = store

    @activity.defn(name="record_events")
    async def record(self, batch: EventBatch) -> int:
        """Store a batch once; a retry of the same batch stores nothing new.

        Returns how many of the batch's events were new to the database.
        """
        return await self._store.record(batch)

    @activity.defn(name="stored_profile")
    async def stored_profile(self, brand: str, player_id: str) -> StoredProfile | None:
        """What a new PlayerWorkflow starts from, so that imported history is not forgotten."""
        return await self._store.stored_profile(brand, player_id)
