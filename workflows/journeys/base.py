"""What every journey does the same way: its control group, its decisions, its actions, its end.

A journey subclass writes only its business process in `steps()`, using `offer()` at each
decision point and `wait_until()` between them. The base makes sure that:
- a holdout player is decided for (so we know what they would have got) but never acted on;
- every action carries the key `{workflow id}:{step}:{index}`, so nothing lands twice;
- a `stop` from the player's workflow (protection) or staff ends it before the next step;
- the end is recorded (converted, expired, cancelled + reason) and reported to the player.

The journeys import this module passed through the sandbox (it is not executed again for each
journey's run), so it keeps no module-level state and reads time only as `workflow.now()`.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError

from crm.journeys import JOURNEY_TRIGGERS, Group, JourneyResult, JourneyStart, Outcome, PlayerView, control_group

with workflow.unsafe.imports_passed_through():
    from activities.acting import ActingActivities, Order
    from activities.decisions import DecisionActivities, PlayerDecisionRequest
    from activities.journeys import JourneyActivities, JourneyStarted
    from adapters.platform.http import NON_RETRYABLE
    from rules.decide import Decision

CRM_BRAND = SearchAttributeKey.for_keyword("CrmBrand")
CRM_JOURNEY = SearchAttributeKey.for_keyword_list("CrmJourney")

PLATFORM_CALL: dict[str, Any] = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=NON_RETRYABLE),
)
BOOKKEEPING: dict[str, Any] = dict(start_to_close_timeout=timedelta(seconds=30))


class Stopped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Journey(abc.ABC):
    """Base of the five journeys; not a workflow itself."""

    # What of the player's view the journey's waits depend on: the player's workflow signals a
    # change only to the journeys that watch it.
    watches: ClassVar[frozenset[str]] = frozenset(PlayerView.model_fields)

    def __init__(self) -> None:
        self.view = PlayerView()
        self.group: Group = "treatment"
        self.step = "entering"
        self.done: list[dict[str, Any]] = []
        self._stop_reason: str | None = None
        self._paused: str | None = None
        self._waiting_until: datetime | None = None
        self._bookkeeping_in_task = False

    @workflow.signal(name="player_changed", description="The player's workflow sends what changed (internal).")
    def player_changed(self, view: PlayerView) -> None:
        self.view = view

    @workflow.signal(name="marketing_paused", description="Internal: staff paused (reason) or resumed (null) marketing.")
    def marketing_paused(self, reason: str | None) -> None:
        self._paused = reason

    @workflow.signal(name="stop", description='End this journey now (outcome cancelled): {"reason": "..."} or a string.')
    def stop(self, reason: Any) -> None:
        text = reason.get("reason") if isinstance(reason, dict) else reason
        self._stop_reason = str(text or "stopped by staff")[:500]

    @workflow.query(name="journey", description="Where the journey stands: group, current step, what it did, "
                    "and until when it waits before its next step.")
    def journey(self) -> dict[str, Any]:
        waiting = self._waiting_until and self._waiting_until.isoformat()
        return {"group": self.group, "step": self.step, "waiting_until": waiting, "done": self.done,
                "stopping": self._stop_reason}

    @abc.abstractmethod
    async def steps(self, start: JourneyStart) -> tuple[Outcome, str]:
        """The journey's business process: decide, act and wait; how it ended and why."""

    async def run_journey(self, start: JourneyStart) -> JourneyResult:
        self.start, self.view, self.started_at = start, start.view, workflow.now()
        self._paused = start.marketing_paused
        self.group = control_group(start.brand, start.player_id, start.kind, start.settings.share(start.kind))
        workflow.upsert_search_attributes([CRM_BRAND.value_set(start.brand), CRM_JOURNEY.value_set([start.kind])])
        started = JourneyStarted(journey_id=workflow.info().workflow_id, brand=start.brand, player_id=start.player_id,
                                 kind=start.kind, group=self.group, started_at=self.started_at)
        recorded = None
        # Our own bookkeeping rows (PostgreSQL only) are written inside the journey's workflow
        # tasks: as activities of their own they cost every journey two workflow tasks more.
        self._bookkeeping_in_task = workflow.patched("bookkeeping-in-task")
        if self._bookkeeping_in_task:
            await workflow.execute_local_activity_method(JourneyActivities.journey_started, started, **BOOKKEEPING)
        elif workflow.patched("first-step-beside-bookkeeping"):
            # The player's first offer need not wait for our own bookkeeping row: one round trip less.
            recorded = workflow.start_activity_method(JourneyActivities.journey_started, started, **BOOKKEEPING)
        else:
            await workflow.execute_activity_method(JourneyActivities.journey_started, started, **BOOKKEEPING)
        extra: dict[str, Any] = {}
        try:
            outcome, reason = await self.steps(start)
            extra = self.result_details()
        except Stopped as stopped:
            outcome, reason = "cancelled", stopped.reason
        except asyncio.CancelledError:
            outcome, reason = "cancelled", "cancelled from Temporal"
        self.step = "ended"
        if recorded is not None:
            await recorded  # the start is written before the end
        result = JourneyResult(journey_id=workflow.info().workflow_id, kind=start.kind, group=self.group,
                               outcome=outcome, reason=reason, started_at=self.started_at, ended_at=workflow.now(),
                               **extra)
        write = (workflow.execute_local_activity_method if self._bookkeeping_in_task
                 else workflow.execute_activity_method)
        await write(JourneyActivities.journey_ended, result, **BOOKKEEPING)
        await workflow.get_external_workflow_handle(start.parent_id).signal("journey_ended", result)
        return result

    def result_details(self) -> dict[str, Any]:
        return {}

    # ---- the building blocks of steps() -----------------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], deadline: datetime) -> bool:
        """Wait for the condition until the deadline; a stop ends the journey instead."""
        timeout = max(deadline - workflow.now(), timedelta(0))
        self._waiting_until = deadline
        try:
            await workflow.wait_condition(lambda: condition() or self._stop_reason is not None, timeout=timeout)
        except TimeoutError:
            pass
        finally:
            self._waiting_until = None
        self.check_stop()
        return condition()

    def check_stop(self) -> None:
        if self._stop_reason is not None:
            raise Stopped(self._stop_reason)

    async def decide(self, step: str, occasion: str = "", **question: Any) -> Decision:
        """Ask the rules at a step; `occasion` tells apart repeated visits to one step."""
        self.check_stop()
        self.step = step
        return await workflow.execute_activity_method(
            DecisionActivities.decide_for_player,
            PlayerDecisionRequest(decision_key=f"{workflow.info().workflow_id}:{step}{occasion}", brand=self.start.brand,
                                  player_id=self.start.player_id, step=step, marketing_paused=self._paused,
                                  trigger=question.pop("trigger", JOURNEY_TRIGGERS[self.start.kind]), **question),
            **PLATFORM_CALL,
        )

    async def offer(self, step: str, occasion: str = "", **question: Any) -> Decision:
        """Decide at this step and carry out what the guards allowed (nothing, for a holdout)."""
        decision = await self.decide(step, occasion, **question)
        await self.carry_out(f"{step}{occasion}", decision)
        return decision

    async def carry_out(self, step: str, decision: Decision) -> None:
        if self.group == "holdout":
            self.done.append({"step": step, "held_out": len(decision.actions)})
            return
        kept = [o for o in decision.outcomes if o.action is not None and "none" not in o.action]
        for index, outcome in enumerate(kept):
            if outcome.hold_until is not None:  # quiet hours: send when they end
                await self.wait_until(lambda: False, outcome.hold_until)
            self.check_stop()
            assert outcome.action is not None
            order = Order(key=f"{workflow.info().workflow_id}:{step}:{index}", brand=self.start.brand,
                          player_id=self.start.player_id, journey=self.start.kind, rule=outcome.rule,
                          action=outcome.action, value=outcome.value)
            activity = _ACTIVITY[next(iter(outcome.action))]
            try:
                ref = await workflow.execute_activity_method(activity, order, **PLATFORM_CALL)
            except ActivityError as refused:
                # The platform refused (a 4xx): record it and go on; money did not move.
                self.done.append({"step": step, "action": outcome.action, "refused": str(refused.cause)})
                continue
            self.done.append({"step": step, "action": outcome.action, "ref": ref})


_ACTIVITY = {
    "bonus": ActingActivities.grant_incentive,
    "message": ActingActivities.send_message,
    "vip_tier": ActingActivities.set_vip_tier,
    "task": ActingActivities.create_task,
}
