"""PlayerWorkflow: one long-lived workflow per player, the platform's entry point.

The platform signal-with-starts ``player:{brand}:{player_id}`` with each event. The workflow
checks the event against the contract, folds it into the player's profile once, and hands
accepted events to Postgres in batches. It never fails on bad input: a refused event is
recorded with its reason and the workflow keeps listening.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from crm.batch import EventBatch, Rejection
from crm.events import Event, InvalidEvent, parse_event
from crm.players import PlayerRef
from crm.profile import PlayerProfile

with workflow.unsafe.imports_passed_through():
    from activities.recording import RecordingActivities

CRM_BRAND = SearchAttributeKey.for_keyword("CrmBrand")
CRM_STAGE = SearchAttributeKey.for_keyword("CrmStage")
CRM_COUNTRY = SearchAttributeKey.for_keyword("CrmCountry")

# Re-sent events are recognised by id within this window; Postgres's unique (brand, event_id)
# still stops an older duplicate from being stored twice.
DEDUP_WINDOW = 5000
MAX_BATCH = 500
RECENT_REJECTIONS = 20
RETRY_STORAGE_AFTER = timedelta(seconds=30)

RECORD_OPTIONS: dict[str, Any] = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=6),
)


class CarriedState(BaseModel):
    """Everything a run hands to the next one at continue-as-new."""

    profile: PlayerProfile
    revision: int = 0
    recent_event_ids: list[str] = []
    unflushed: list[Event] = []
    unflushed_rejections: list[Rejection] = []
    recent_rejections: list[Rejection] = []
    profile_dirty: bool = False


@workflow.defn(name="PlayerWorkflow")
class PlayerWorkflow:
    @workflow.init
    def __init__(self, start: Any) -> None:
        try:
            self._player = PlayerRef.from_workflow_id(workflow.info().workflow_id)
            self._wrong_id: str | None = None
        except ValueError as wrong_id:
            self._player, self._wrong_id = PlayerRef("", ""), str(wrong_id)
        carried = start.get("carried") if isinstance(start, dict) else None
        state = (
            CarriedState.model_validate(carried)
            if carried
            else CarriedState(profile=PlayerProfile(brand=self._player.brand, player_id=self._player.player_id))
        )
        self._profile = state.profile
        self._revision = state.revision
        self._recent_ids = deque(state.recent_event_ids, maxlen=DEDUP_WINDOW)
        self._seen = set(self._recent_ids)
        self._unflushed = state.unflushed
        self._unflushed_rejections = state.unflushed_rejections
        self._recent_rejections = deque(state.recent_rejections, maxlen=RECENT_REJECTIONS)
        self._profile_dirty = state.profile_dirty
        self._rejection_seq = 0
        meter = workflow.metric_meter().with_additional_attributes({"brand": self._player.brand})
        self._accepted_metric = meter.create_counter("crm_events_accepted", "Player events accepted")
        self._rejected_metric = meter.create_counter("crm_events_rejected", "Player events refused")
        self._duplicate_metric = meter.create_counter("crm_events_duplicate", "Re-sent events ignored")

    @workflow.run
    async def run(self, start: Any) -> None:
        if self._wrong_id:
            raise ApplicationError(self._wrong_id, type="InvalidWorkflowId", non_retryable=True)
        while True:
            self._index_for_staff()
            await _wait_until(
                lambda: self._has_work() or self._should_continue_as_new(),
                timeout=self._time_to_exclusion_end(),
            )
            self._end_expired_exclusion()
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new({**self._player._asdict(), "carried": self._carry()})
            if self._has_work():
                await self._record()

    @workflow.signal(
        name="event",
        description="A player event from the platform (see docs/event-schema.json). "
        "Re-sent event_ids are ignored; invalid events are recorded as rejected.",
    )
    def event(self, payload: Any) -> None:
        try:
            event = parse_event(payload)
            self._check_addressed_to_me(event)
        except InvalidEvent as refused:
            self._reject(payload, refused.reason)
            return
        if event.event_id in self._seen:
            self._duplicate_metric.add(1)
            return
        self._remember(event.event_id)
        self._profile.apply(event)
        self._unflushed.append(event)
        self._changed()
        self._accepted_metric.add(1)

    @workflow.query(
        name="profile",
        description="The player's unified profile as this workflow holds it (amounts are decimal strings).",
    )
    def profile(self) -> dict[str, Any]:
        return self._profile.model_dump(mode="json")

    @workflow.query(
        name="rejections",
        description="The most recent refused events with the reason each was refused.",
    )
    def rejections(self) -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in self._recent_rejections]

    async def _record(self) -> None:
        batch = EventBatch(
            workflow_id=workflow.info().workflow_id,
            profile=self._profile.model_copy(deep=True),
            revision=self._revision,
            events=self._unflushed[:MAX_BATCH],
            rejections=self._unflushed_rejections[:MAX_BATCH],
        )
        self._profile_dirty = False
        try:
            await workflow.execute_activity_method(RecordingActivities.record, batch, **RECORD_OPTIONS)
        except ActivityError:
            # Storage is down: keep everything and try again later. Continue-as-new may
            # happen meanwhile and carries the unrecorded events along.
            workflow.logger.warning("recording failed; will retry", exc_info=True)
            self._profile_dirty = True
            await _wait_until(self._should_continue_as_new, timeout=RETRY_STORAGE_AFTER)
            return
        del self._unflushed[: len(batch.events)]
        del self._unflushed_rejections[: len(batch.rejections)]

    def _check_addressed_to_me(self, event: Event) -> None:
        mismatched = [
            f"{field}: {getattr(event, field)!r} does not match this workflow's {expected!r}"
            for field, expected in self._player._asdict().items()
            if getattr(event, field) != expected
        ]
        if mismatched:
            raise InvalidEvent("; ".join(mismatched))

    def _reject(self, payload: Any, reason: str) -> None:
        self._rejection_seq += 1
        rejection = Rejection(
            key=f"{workflow.info().run_id}:{self._rejection_seq}",
            received_at=workflow.now(),
            reason=reason,
            payload=Rejection.render(payload),
        )
        self._profile.events_rejected += 1
        self._unflushed_rejections.append(rejection)
        self._recent_rejections.append(rejection)
        self._changed()
        self._rejected_metric.add(1)
        workflow.logger.warning("event rejected: %s", reason)

    def _remember(self, event_id: str) -> None:
        if len(self._recent_ids) == DEDUP_WINDOW:
            self._seen.discard(self._recent_ids[0])
        self._recent_ids.append(event_id)
        self._seen.add(event_id)

    def _changed(self) -> None:
        self._revision += 1
        self._profile_dirty = True

    def _has_work(self) -> bool:
        return self._profile_dirty or bool(self._unflushed) or bool(self._unflushed_rejections)

    def _should_continue_as_new(self) -> bool:
        return workflow.info().is_continue_as_new_suggested()

    def _time_to_exclusion_end(self) -> timedelta | None:
        until = self._profile.self_excluded_until
        if not self._profile.self_excluded or until is None:
            return None
        return max(until - workflow.now(), timedelta(0))

    def _end_expired_exclusion(self) -> None:
        until = self._profile.self_excluded_until
        if self._profile.self_excluded and until is not None and until <= workflow.now():
            self._profile.end_self_exclusion()
            self._changed()

    def _index_for_staff(self) -> None:
        """Keep the search attributes staff filter on in the Web UI current."""
        wanted = [CRM_BRAND.value_set(self._player.brand), CRM_STAGE.value_set(self._profile.stage)]
        if self._profile.country:
            wanted.append(CRM_COUNTRY.value_set(self._profile.country))
        current = workflow.info().typed_search_attributes
        changed = [u for u in wanted if current.get(u.key) != u.value]
        if changed:
            workflow.upsert_search_attributes(changed)

    def _carry(self) -> dict[str, Any]:
        return CarriedState(
            profile=self._profile,
            revision=self._revision,
            recent_event_ids=list(self._recent_ids),
            unflushed=self._unflushed,
            unflushed_rejections=self._unflushed_rejections,
            recent_rejections=list(self._recent_rejections),
            profile_dirty=self._profile_dirty,
        ).model_dump(mode="json")


async def _wait_until(condition: Callable[[], bool], timeout: timedelta | None) -> None:
    """Wait for the condition or the timeout, whichever comes first."""
    try:
        await workflow.wait_condition(condition, timeout=timeout)
    except TimeoutError:
        pass
