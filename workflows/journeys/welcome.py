"""Welcome: greet at registration, nudge to verify and to deposit, done at the first deposit."""

from __future__ import annotations

from temporalio import workflow

from crm.journeys import JourneyResult, JourneyStart, Outcome, spoken

with workflow.unsafe.imports_passed_through():
    from workflows.journeys.base import Journey


@workflow.defn(name="WelcomeJourney")
class WelcomeJourney(Journey):
    watches = frozenset({"deposit_count", "kyc_status"})

    @workflow.run
    async def run(self, start: JourneyStart) -> JourneyResult:
        return await self.run_journey(start)

    async def steps(self, start: JourneyStart) -> tuple[Outcome, str]:
        timing = start.settings.welcome
        deposited = lambda: self.view.deposit_count > 0  # noqa: E731
        verified = lambda: self.view.kyc_status == "verified"  # noqa: E731

        await self.offer("start")
        if not await self.wait_until(lambda: deposited() or verified(), self.started_at + timing.kyc_reminder_after):
            await self.offer("kyc_reminder")
        if not await self.wait_until(deposited, self.started_at + timing.deposit_offer_after):
            await self.offer("deposit_offer")
        if await self.wait_until(deposited, self.started_at + timing.window):
            return "converted", "first deposit"
        return "expired", f"no deposit within {spoken(timing.window)}"
