"""The journey side of PlayerWorkflow: which journey starts when, and keeping journeys informed.

Events only note what they call for (`note_event`); the workflow's loop then calls `act()`
after the events are stored, so a journey's first decision always sees them in Postgres.
Protection (self-exclusion, closure, a high RG flag) stops every running journey first.

PlayerWorkflow imports this module passed through the sandbox, so that it is not executed
again for every player's run (that cost a quarter of the worker's CPU and 40 KB per open
workflow). It must therefore keep no module-level state and read time only as `workflow.now()`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from crm.events import (
    AccountClosed,
    DepositSucceeded,
    Event,
    LimitChanged,
    Registered,
    RgFlagged,
    SelfExcluded,
    SessionEnded,
)
from crm.journeys import JourneyResult, JourneySettings, JourneyStart, PlayerView, journey_id, journey_task_queue
from crm.player_facts import AT_RISK_FROM
from crm.player_state import Due, LifecycleState
from crm.profile import PLAYER_ACTIVITY, PlayerProfile
from crm.segments import SegmentSettings, own_segments
from crm.stages import is_protected, stage_of

with workflow.unsafe.imports_passed_through():
    from activities.journeys import GROUP_COPY, BrandJourneys, JourneyActivities
    from workflows.journeys.base import BOOKKEEPING
    from workflows.journeys.first_deposit import FirstDepositJourney
    from workflows.journeys.loss_recovery import LossRecoveryJourney
    from workflows.journeys.reactivation import ReactivationJourney
    from workflows.journeys.vip_upgrade import VipUpgradeJourney
    from workflows.journeys.welcome import WelcomeJourney
    from workflows.patches import Patches

JOURNEY_WORKFLOWS = {
    "welcome": WelcomeJourney, "first_deposit": FirstDepositJourney, "loss_recovery": LossRecoveryJourney,
    "reactivation": ReactivationJourney, "vip_upgrade": VipUpgradeJourney,
}
CRM_SEGMENTS = SearchAttributeKey.for_keyword_list("CrmSegments")
CRM_VIP_TIER = SearchAttributeKey.for_keyword("CrmVipTier")
CRM_CHURN_RISK = SearchAttributeKey.for_float("CrmChurnRisk")
CRM_JOURNEY = SearchAttributeKey.for_keyword_list("CrmJourney")
KEPT_HISTORY = 20


class Lifecycle:
    def __init__(self, brand: str, player_id: str, state: LifecycleState, patches: Patches) -> None:
        self.brand, self.player_id, self.state, self.patches = brand, player_id, state, patches
        self.brand_journeys: BrandJourneys | None = None

    # ---- what events call for (signal handlers: no awaiting here) ----------------------------

    def note_event(self, event: Event, profile: PlayerProfile) -> None:
        s = self.state
        if isinstance(event, PLAYER_ACTIVITY):
            s.seen_active_at = workflow.now()
            s.view_changed = True
        match event:
            case Registered():
                s.due.append(Due(kind="welcome"))
            case DepositSucceeded():
                if profile.deposit_count == 1:
                    s.due.append(Due(kind="first_deposit", amount=event.amount))
                s.due.append(Due(kind="vip_check"))
            case SessionEnded():
                day = event.occurred_at.date().isoformat()
                s.day_losses = {d: v for d, v in s.day_losses.items() if d >= day} | {
                    day: s.day_losses.get(day, Decimal(0)) + event.stake - event.win}
                s.due.append(Due(kind="loss_recovery", amount=max(event.stake - event.win, s.day_losses[day])))
            case SelfExcluded():
                s.stop_reason = f"self-excluded ({event.scope})"
                if event.scope == "group" and not event.event_id.startswith(GROUP_COPY):
                    s.due.append(Due(kind="group_exclusion", exclusion=event))
            case AccountClosed():
                s.stop_reason = "account closed"
            case LimitChanged():
                s.limit_changed_at = workflow.now()
            case RgFlagged() if event.severity == "high":
                s.stop_reason = f"high responsible-gambling flag: {event.marker}"
        if event.type in ("kyc_updated",):
            s.view_changed = True

    def note_churn_risk(self, risk: Decimal) -> None:
        threshold = self.brand_journeys.churn_threshold if self.brand_journeys else AT_RISK_FROM
        if risk >= threshold:
            self.state.due.append(Due(kind="reactivation", churn_risk=risk))

    def journey_ended(self, result: JourneyResult) -> None:
        s = self.state
        if s.running.get(result.kind) == result.journey_id:
            del s.running[result.kind]
        s.history = [*s.history, result][-KEPT_HISTORY:]

    def has_work(self) -> bool:
        s = self.state
        return bool(s.due or s.stop_reason or s.view_changed or s.pause_changed)

    # ---- the loop's part ----------------------------------------------------------------------

    async def load_settings(self, in_task: bool = False) -> None:
        """The brand's journey settings; `in_task` reads them inside the current workflow task."""
        run = workflow.execute_local_activity_method if in_task else workflow.execute_activity_method
        self.brand_journeys = await run(JourneyActivities.brand_journeys, self.brand, **BOOKKEEPING)

    @property
    def settings(self) -> JourneySettings:
        assert self.brand_journeys is not None
        return self.brand_journeys.settings

    async def protect(self) -> None:
        """Stop every running journey of a player who needs protection."""
        if self.state.stop_reason:
            await self._signal_all("stop", self.state.stop_reason)
            self.state.stop_reason = None

    async def act(self, profile: PlayerProfile) -> None:
        s = self.state
        if s.pause_changed:
            s.pause_changed = False
            await self._signal_all("marketing_paused", s.pause.reason if s.pause else None)
        if s.view_changed:
            s.view_changed = False
            if self.patches.has("view-to-watchers"):
                await self._tell_watchers(self.view(profile))
            else:
                await self._signal_all("player_changed", self.view(profile))
        due, s.due = s.due, []
        for item in due:
            await self._start(item, profile)
        if self._inactive_due(profile):
            s.reactivated_for = s.seen_active_at
            await self._start(Due(kind="reactivation"), profile)

    def next_wake(self) -> datetime | None:
        """When the loop must look again without an event: inactivity stages, a pause's end."""
        s, times = self.state, []
        if self.brand_journeys and s.seen_active_at:
            stages = self.settings.reactivation.stages
            times += [s.seen_active_at + stages[0], s.seen_active_at + stages[-1]]
        if s.pause and s.pause.until:
            times.append(s.pause.until)
        return min((t for t in times if t > workflow.now()), default=None)

    def end_expired_pause(self) -> None:
        s = self.state
        if s.pause and s.pause.until and s.pause.until <= workflow.now():
            s.pause, s.pause_changed = None, True

    def view(self, profile: PlayerProfile) -> PlayerView:
        return PlayerView(deposit_count=profile.deposit_count, kyc_status=profile.kyc_status,
                          session_count=profile.session_count, last_active_at=self.state.seen_active_at,
                          vip_tier=profile.vip_tier)

    def own_segments(self, profile: PlayerProfile) -> list[str]:
        journeys = self.brand_journeys
        settings, threshold = (journeys.segments, journeys.churn_threshold) if journeys else (SegmentSettings(), AT_RISK_FROM)
        return own_segments(profile, workflow.now(), settings, threshold)

    def stage(self, profile: PlayerProfile) -> str:
        stages = self.settings.reactivation.stages if self.brand_journeys else [timedelta(days=7), timedelta(days=30)]
        return stage_of(profile, workflow.now(), self.state.seen_active_at, stages[0], stages[-1],
                        self.own_segments(profile))

    def summary(self, profile: PlayerProfile) -> str:
        """One line for the Web UI's memo: where the player stands and what runs for them."""
        s = self.state
        parts = [f"{self.brand} player {self.player_id}: {self.stage(profile)}, VIP {profile.vip_tier}",
                 f"journeys: {', '.join(sorted(s.running)) or 'none'}"]
        if s.pause:
            parts.append(f"marketing paused by {s.pause.by}: {s.pause.reason}")
        return "; ".join(parts)

    def search_attributes(self, profile: PlayerProfile) -> list[SearchAttributeUpdate]:
        updates: list[SearchAttributeUpdate] = [
            SearchAttributeKey.for_keyword("CrmStage").value_set(self.stage(profile)),
            CRM_SEGMENTS.value_set(self.own_segments(profile) + self.state.population),
            CRM_VIP_TIER.value_set(profile.vip_tier),
            CRM_JOURNEY.value_set(sorted(self.state.running)),
        ]
        if profile.churn_risk is not None:
            updates.append(CRM_CHURN_RISK.value_set(float(profile.churn_risk)))
        return updates

    # ---- starting journeys ---------------------------------------------------------------------

    async def _start(self, due: Due, profile: PlayerProfile) -> None:
        s = self.state
        if due.kind == "group_exclusion":
            assert due.exclusion is not None and self.brand_journeys is not None
            if self.brand_journeys.group_brands:
                await workflow.execute_activity_method(
                    JourneyActivities.exclude_across_group, args=[due.exclusion, self.brand_journeys.group_brands],
                    **BOOKKEEPING)
            return
        if due.kind == "loss_recovery" and due.amount < self.settings.loss_recovery.threshold:
            return  # an ordinary session, not a loss to recover from
        why_not = self._why_not(due, profile)
        if why_not:
            s.skipped = [*s.skipped, f"{workflow.now().isoformat()} {due.kind}: {why_not}"][-KEPT_HISTORY:]
            return
        proposed_tier = None
        if due.kind == "vip_check":
            # After every deposit: inside the task, not one more task and five history events each time.
            check = (workflow.execute_local_activity_method if self.patches.has("vip-check-in-task")
                     else workflow.execute_activity_method)
            proposed_tier = await check(JourneyActivities.vip_tier_due, args=[self.brand, self.player_id],
                                        **BOOKKEEPING)
            if proposed_tier is None:
                return
        kind = "vip_upgrade" if due.kind == "vip_check" else due.kind
        n = s.counts.get(kind, 0) + 1
        child_id = journey_id(kind, self.brand, self.player_id, n)
        away = workflow.now() - s.seen_active_at if s.seen_active_at else timedelta(0)
        start = JourneyStart(
            brand=self.brand, player_id=self.player_id, kind=kind, n=n, parent_id=workflow.info().workflow_id,
            settings=self.settings, view=self.view(profile), trigger_amount=due.amount, days_inactive=away.days,
            churn_risk=due.churn_risk, marketing_paused=s.pause.reason if s.pause else None,
            proposed_tier=proposed_tier,
        )
        queue = workflow.info().task_queue
        if self.patches.current:
            queue = journey_task_queue(queue)
        await workflow.start_child_workflow(
            JOURNEY_WORKFLOWS[kind].run, start, id=child_id, task_queue=queue,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            memo={"summary": f"{kind.replace('_', ' ')} journey #{n} for player {self.player_id} of {self.brand}"},
        )
        s.counts[kind], s.running[kind] = n, child_id
        if kind == "loss_recovery":
            s.last_loss_recovery_at = workflow.now()

    def _why_not(self, due: Due, profile: PlayerProfile) -> str | None:
        kind = "vip_upgrade" if due.kind == "vip_check" else due.kind
        if is_protected(profile):
            return "the player is protected"
        if kind in self.state.running:
            return "already running"
        if kind == "welcome" and self.state.counts.get("welcome"):
            return "welcomed before"
        if kind == "loss_recovery":
            return self._loss_recovery_blocked(due, profile)
        return None

    def _loss_recovery_blocked(self, due: Due, profile: PlayerProfile) -> str | None:
        rules, now = self.settings.loss_recovery, workflow.now()
        last = self.state.last_loss_recovery_at
        if last and now - last < rules.cooldown:
            return f"cooldown: last one {last.isoformat()}"
        if profile.rg_flags:
            return f"RG markers on the account ({', '.join(f.marker for f in profile.rg_flags)})"
        changed = self.state.limit_changed_at
        if changed and now - changed < rules.suppress_after_limit_change:
            kinds = ", ".join(sorted(profile.limits))
            return f"recent limit change ({kinds}): the player may be in trouble"
        return None

    def _inactive_due_at(self) -> datetime | None:
        s = self.state
        if not self.brand_journeys or s.seen_active_at is None or s.reactivated_for == s.seen_active_at:
            return None
        return s.seen_active_at + self.settings.reactivation.stages[0]

    def _inactive_due(self, profile: PlayerProfile) -> bool:
        at = self._inactive_due_at()
        return at is not None and at <= workflow.now() and profile.registered_at is not None

    async def _tell_watchers(self, view: PlayerView) -> None:
        """A journey hears of a change only in what it waits on, and all of them in one workflow task:
        most events (a session, for a player in welcome) then cost no journey any work."""
        before, self.state.sent_view = self.state.sent_view, view
        changed = {f for f in PlayerView.model_fields if before is None or getattr(before, f) != getattr(view, f)}
        watching = [(kind, child) for kind, child in self.state.running.items()
                    if JOURNEY_WORKFLOWS[kind].watches & changed]
        await asyncio.gather(*(self._signal(kind, child, "player_changed", view) for kind, child in watching))

    async def _signal(self, kind: str, child_id: str, signal: str, arg: Any) -> None:
        try:
            await workflow.get_external_workflow_handle(child_id).signal(signal, arg)
        except Exception:  # noqa: BLE001 - the journey has ended meanwhile
            workflow.logger.info("journey %s gone before signal %s", child_id, signal)
            if self.state.running.get(kind) == child_id:
                del self.state.running[kind]

    async def _signal_all(self, signal: str, arg: Any) -> None:
        for kind, child_id in list(self.state.running.items()):
            await self._signal(kind, child_id, signal, arg)
