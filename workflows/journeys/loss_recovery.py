"""Loss recovery: after a hard session or day, the rules decide whether anything is offered.

Whether it starts at all (cooldown, RG markers, a recent limit change) is PlayerWorkflow's
call; what is offered, and how it is framed and paid, is the rules' and the guards'.
"""

from __future__ import annotations

from temporalio import workflow

from crm.journeys import JourneyResult, JourneyStart, Outcome, spoken

with workflow.unsafe.imports_passed_through():
    from workflows.journeys.base import Journey


@workflow.defn(name="LossRecoveryJourney")
class LossRecoveryJourney(Journey):
    watches = frozenset({"session_count"})

    @workflow.run
    async def run(self, start: JourneyStart) -> JourneyResult:
        return await self.run_journey(start)

    async def steps(self, start: JourneyStart) -> tuple[Outcome, str]:
        timing = start.settings.loss_recovery
        sessions = start.view.session_count
        await self.offer("start", trigger_amount=start.trigger_amount)
        if await self.wait_until(lambda: self.view.session_count > sessions, self.started_at + timing.window):
            return "converted", "played again"
        return "expired", f"no play within {spoken(timing.window)}"
