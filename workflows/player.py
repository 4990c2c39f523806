"""PlayerWorkflow: one long-lived workflow per player, the platform's entry point.

The platform signal-with-starts ``player:{brand}:{player_id}`` with each event. The workflow
checks the event against the contract, folds it into the player's profile once, and hands
accepted events to Postgres in batches. It never fails on bad input: a refused event is
recorded with its reason and the workflow keeps listening.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from crm.batch import EventBatch, Rejection
from crm.events import Event, InvalidEvent, parse_event
from crm.journeys import JourneyResult
from crm.players import PlayerRef
from crm.player_state import CarriedState, ChurnRisk, LifecycleState, Note, Pause, PopulationSegments
from crm.profile import PlayerProfile

with workflow.unsafe.imports_passed_through():
    from activities.recording import RecordingActivities
    from workflows.lifecycle import Lifecycle
    from workflows.patches import Patches

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
        self._carried = bool(carried)
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
        self._patches = Patches()
        self._lifecycle = Lifecycle(self._player.brand, self._player.player_id, state.lifecycle, self._patches)
        self._journeys_on = False
        self._record_in_task = self._reads_in_task = False
        self._wake: asyncio.Task[None] | None = None  # the one timer armed for _next_wake()
        self._wake_at: datetime | None = None
        self._reindex = False  # staff-visible attributes changed without other work to do
        meter = workflow.metric_meter().with_additional_attributes({"brand": self._player.brand})
        self._accepted_metric = meter.create_counter("crm_events_accepted", "Player events accepted")
        self._rejected_metric = meter.create_counter("crm_events_rejected", "Player events refused")
        self._duplicate_metric = meter.create_counter("crm_events_duplicate", "Re-sent events ignored")

    @workflow.run
    async def run(self, start: Any) -> None:
        if self._wrong_id:
            raise ApplicationError(self._wrong_id, type="InvalidWorkflowId", non_retryable=True)
        self._patches.decide()
        # Events are stored inside the workflow task that received them (a local activity): a
        # returning player's event costs one workflow task, not two.
        self._record_in_task = self._patches.has("record-in-workflow-task")
        # So are a run's first reads: a new player's welcome starts in the task that got `registered`.
        self._reads_in_task = self._patches.current
        await self._begin()
        one_wake_timer = self._patches.has("one-wake-timer")
        woken = lambda: (self._has_work() or self._journey_work() or self._should_continue_as_new()  # noqa: E731
                         or self._reindex)
        while True:
            self._index_for_staff()
            if one_wake_timer:
                self._arm_wake()
                await workflow.wait_condition(lambda: woken() or bool(self._wake and self._wake.done()))
                if self._wake and self._wake.done():
                    self._wake = None
            else:
                await _wait_until(woken, timeout=self._time_to_next_wake())
            self._reindex = False
            self._end_expired_exclusion()
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new({**self._player._asdict(), "carried": self._carry()})
            if self._journeys_on:
                await self._lifecycle.protect()  # before anything else, even when storage is down
            if self._has_work():
                await self._record()
            if self._journeys_on and not self._has_work():
                self._lifecycle.end_expired_pause()
                await self._lifecycle.act(self._profile)  # after the events are stored

    async def _begin(self) -> None:
        if not self._carried and self._patches.has("start-reads-together"):
            # A new player's first event waits on both reads: one round trip, not two.
            self._journeys_on = True
            await asyncio.gather(self._start_from_stored_profile(), self._lifecycle.load_settings(self._reads_in_task))
            return
        if not self._carried and self._patches.has("seed-profile-from-store"):
            await self._start_from_stored_profile()
        # Runs begun before journeys existed keep running without them until continue-as-new.
        self._journeys_on = self._patches.has("lifecycle-journeys")
        if self._journeys_on:
            await self._lifecycle.load_settings(self._reads_in_task)

    async def _start_from_stored_profile(self) -> None:
        """A new workflow for a player PostgreSQL already knows (imported history, or a workflow
        that was reset) starts from that profile; the events received meanwhile are folded anew."""
        read = workflow.execute_local_activity_method if self._reads_in_task else workflow.execute_activity_method
        stored = await read(RecordingActivities.stored_profile, args=[self._player.brand, self._player.player_id],
                            **RECORD_OPTIONS)
        if stored is None:
            return
        profile = PlayerProfile.model_validate(stored.profile)
        profile.events_rejected += self._profile.events_rejected
        self._lifecycle.state = LifecycleState()
        for event in self._unflushed:  # nothing is recorded before this point
            profile.apply(event)
            self._lifecycle.note_event(event, profile)
        self._profile, self._revision = profile, stored.revision + self._revision
        self._changed()

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
        self._lifecycle.note_event(event, self._profile)
        self._unflushed.append(event)
        self._changed()
        self._accepted_metric.add(1)

    @workflow.signal(name="journey_ended", description="Internal: a journey reports how it ended.")
    def journey_ended(self, result: JourneyResult) -> None:
        self._lifecycle.journey_ended(result)
        if result.vip_tier and result.outcome == "converted":
            self._profile.vip_tier = result.vip_tier  # type: ignore[assignment]
            self._changed()

    @workflow.signal(name="churn_risk", description='From churn scoring: {"risk": 0.82, "top_signal": "falling_stake"}.')
    def churn_risk(self, payload: Any) -> None:
        scored = self._staff_input(ChurnRisk, payload, "churn_risk")
        if scored:
            self._profile.churn_risk, self._profile.churn_top_signal = scored.risk, scored.top_signal
            self._changed()
            self._lifecycle.note_churn_risk(scored.risk)

    @workflow.signal(name="segments", description='From the daily scoring run: the population segments '
                     '{"population": ["high_value", "prefers_slots"]}.')
    def segments(self, payload: Any) -> None:
        update = self._staff_input(PopulationSegments, payload, "segments")
        if update:
            self._lifecycle.state.population, self._reindex = update.population, True

    @workflow.signal(name="pause_marketing",
                     description='Stop marketing to this player: {"reason": "complaint", "until": "2027-01-01T00:00:00Z", '
                     '"by": "ana"} (until optional: null means until resumed).')
    def pause_marketing(self, payload: Any) -> None:
        pause = self._staff_input(Pause, payload, "pause_marketing")
        if pause:
            self._lifecycle.state.pause, self._lifecycle.state.pause_changed = pause, True

    @workflow.signal(name="resume_marketing", description="End a pause_marketing.")
    def resume_marketing(self, payload: Any = None) -> None:
        self._lifecycle.state.pause, self._lifecycle.state.pause_changed = None, True

    @workflow.signal(name="note", description='A staff note on the player: {"text": "called, all fine", "author": "ana"}.')
    def note(self, payload: Any) -> None:
        note = self._staff_input(Note, payload if isinstance(payload, dict) else {"text": payload}, "note")
        if note:
            note.at = workflow.now()
            self._lifecycle.state.notes = [*self._lifecycle.state.notes, note][-50:]

    @workflow.query(name="journeys", description="Running journeys, how past ones ended, skipped starts, pause, notes.")
    def journeys(self) -> dict[str, Any]:
        s = self._lifecycle.state
        return {
            "running": s.running, "ended": [r.model_dump(mode="json") for r in reversed(s.history)],
            "skipped": list(reversed(s.skipped)), "marketing_paused": s.pause and s.pause.model_dump(mode="json"),
            "notes": [n.model_dump(mode="json") for n in s.notes],
        }

    def _staff_input(self, model: type[Any], payload: Any, signal: str) -> Any:
        """A malformed signal is recorded as refused and changes nothing."""
        try:
            return model.model_validate(payload)
        except ValidationError as wrong:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}"
                                 for e in wrong.errors(include_url=False))
            self._reject(payload, f"signal {signal}: {problems}")
            return None

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
            if self._record_in_task:
                await workflow.execute_local_activity_method(RecordingActivities.record, batch, **RECORD_OPTIONS)
            else:
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

    def _journey_work(self) -> bool:
        return self._journeys_on and self._lifecycle.has_work()

    def _next_wake(self) -> datetime | None:
        """The end of a self-exclusion, or a journey timer (inactivity, a pause's end)."""
        until = self._profile.self_excluded_until if self._profile.self_excluded else None
        wakes = [t for t in (until, self._lifecycle.next_wake() if self._journeys_on else None) if t is not None]
        return min(wakes, default=None)

    def _time_to_next_wake(self) -> timedelta | None:
        at = self._next_wake()
        return max(at - workflow.now(), timedelta(0)) if at else None

    def _arm_wake(self) -> None:
        """Keep one timer for the next time the loop must look without an event.

        Every activity moves the inactivity wake later; re-arming for it would start and cancel
        a timer per event. The armed timer stays instead: when it fires early, the loop finds
        nothing due and arms the next one. Only a wake earlier than the armed one replaces it.
        """
        at = self._next_wake()
        if at is None or (self._wake and self._wake_at and self._wake_at <= at):
            return
        if self._wake:
            self._wake.cancel()
        self._wake = asyncio.ensure_future(workflow.sleep(
            max(at - workflow.now(), timedelta(seconds=1)), summary="look again: inactivity, a pause or exclusion ends"))
        self._wake_at = at

    def _end_expired_exclusion(self) -> None:
        until = self._profile.self_excluded_until
        if self._profile.self_excluded and until is not None and until <= workflow.now():
            self._profile.end_self_exclusion()
            self._changed()

    def _index_for_staff(self) -> None:
        """Keep the search attributes staff filter on in the Web UI current."""
        wanted = [CRM_BRAND.value_set(self._player.brand)]
        if self._journeys_on:
            wanted += self._lifecycle.search_attributes(self._profile)
        else:
            wanted.append(CRM_STAGE.value_set(self._profile.account_status))
        if self._profile.country:
            wanted.append(CRM_COUNTRY.value_set(self._profile.country))
        current = workflow.info().typed_search_attributes
        changed = [u for u in wanted if current.get(u.key) != u.value]
        if changed:
            workflow.upsert_search_attributes(changed)
        if self._journeys_on and self._patches.has("player-memo"):
            summary = self._lifecycle.summary(self._profile)
            if workflow.memo_value("summary", default=None, type_hint=str) != summary:
                workflow.upsert_memo({"summary": summary})

    def _carry(self) -> dict[str, Any]:
        return CarriedState(
            profile=self._profile,
            revision=self._revision,
            recent_event_ids=list(self._recent_ids),
            unflushed=self._unflushed,
            unflushed_rejections=self._unflushed_rejections,
            recent_rejections=list(self._recent_rejections),
            profile_dirty=self._profile_dirty,
            lifecycle=self._lifecycle.state,
        ).model_dump(mode="json")


async def _wait_until(condition: Callable[[], bool], timeout: timedelta | None) -> None:
    """Wait for the condition or the timeout, whichever comes first."""
    try:
        await workflow.wait_condition(condition, timeout=timeout)
    except TimeoutError:
        pass
