"""Reactivation: staged contacts as a player stays away; done the moment they come back."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from crm.journeys import JourneyResult, JourneyStart, Outcome, spoken

with workflow.unsafe.imports_passed_through():
    from workflows.journeys.base import Journey


@workflow.defn(name="ReactivationJourney")
class ReactivationJourney(Journey):
    watches = frozenset({"last_active_at"})

    @workflow.run
    async def run(self, start: JourneyStart) -> JourneyResult:
        return await self.run_journey(start)

    async def steps(self, start: JourneyStart) -> tuple[Outcome, str]:
        timing = start.settings.reactivation
        away_since: datetime = start.view.last_active_at or self.started_at
        returned = lambda: (self.view.last_active_at or away_since) > away_since  # noqa: E731
        self._away_since, self._returned_at = away_since, None

        trigger = "churn_risk" if start.churn_risk is not None else "inactive"
        await self.offer("start", trigger=trigger, days_inactive=(workflow.now() - away_since).days)
        for n, stage in enumerate(timing.stages, start=1):
            if away_since + stage <= workflow.now():
                continue  # this stage had passed when the journey began
            if await self.wait_until(returned, away_since + stage):
                return self._came_back()
            await self.offer("follow_up", f"-{n}", days_inactive=stage.days)
        if await self.wait_until(returned, away_since + timing.give_up_after):
            return self._came_back()
        return "expired", f"still away after {spoken(timing.give_up_after)}"

    def _came_back(self) -> tuple[Outcome, str]:
        self._returned_at = self.view.last_active_at
        return "converted", "the player came back"

    def result_details(self) -> dict:
        if self._returned_at is None:
            return {}
        return {"days_to_return": (self._returned_at - self._away_since).days}
