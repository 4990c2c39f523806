"""First-deposit follow-up: thank (and match) the first deposit, then ask for a second."""

from __future__ import annotations

from temporalio import workflow

from crm.journeys import JourneyResult, JourneyStart, Outcome, spoken

with workflow.unsafe.imports_passed_through():
    from workflows.journeys.base import Journey


@workflow.defn(name="FirstDepositJourney")
class FirstDepositJourney(Journey):
    watches = frozenset({"deposit_count"})

    @workflow.run
    async def run(self, start: JourneyStart) -> JourneyResult:
        return await self.run_journey(start)

    async def steps(self, start: JourneyStart) -> tuple[Outcome, str]:
        timing = start.settings.first_deposit
        second = lambda: self.view.deposit_count >= 2  # noqa: E731

        await self.offer("start", trigger_amount=start.trigger_amount)
        if not await self.wait_until(second, self.started_at + timing.second_deposit_offer_after):
            await self.offer("second_deposit_offer")
        if await self.wait_until(second, self.started_at + timing.window):
            return "converted", "second deposit"
        return "expired", f"no second deposit within {spoken(timing.window)}"
