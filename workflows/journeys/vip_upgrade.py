"""VIP upgrade: rules propose a tier, risk checks clear it, a person approves it.

Staff answer with signal `vip_review` ({"approved": bool, "reviewer": str, "note": str}) from
the Temporal UI. Nobody answering in time escalates to a staff queue; still nobody, it expires.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio import workflow

from crm.journeys import JourneyResult, JourneyStart, Outcome, VipReview, spoken

with workflow.unsafe.imports_passed_through():
    from activities.acting import ActingActivities, Order
    from activities.journeys import JourneyActivities, VipCheck
    from workflows.journeys.base import PLATFORM_CALL, Journey


@workflow.defn(name="VipUpgradeJourney")
class VipUpgradeJourney(Journey):
    watches = frozenset[str]()

    def __init__(self) -> None:
        super().__init__()
        self._review: VipReview | None = None
        self._refused_reviews: list[str] = []
        self._tier: str | None = None

    @workflow.signal(name="vip_review", description='Staff decision: {"approved": true, "reviewer": "ana", "note": "checked"}')
    def vip_review(self, review: Any) -> None:
        try:
            self._review = VipReview.model_validate(review)
        except ValidationError as wrong:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'review'}: {e['msg']}" for e in wrong.errors())
            self._refused_reviews.append(problems)
            workflow.logger.warning("vip_review refused: %s", problems)

    @workflow.query(name="review", description="The review this journey waits for, and any refused review signals.")
    def review(self) -> dict[str, Any]:
        return {"proposed_tier": self.start.proposed_tier, "review": self._review and self._review.model_dump(),
                "refused": self._refused_reviews}

    @workflow.run
    async def run(self, start: JourneyStart) -> JourneyResult:
        return await self.run_journey(start)

    async def steps(self, start: JourneyStart) -> tuple[Outcome, str]:
        timing = start.settings.vip_upgrade
        proposal = await self.decide("start")
        changes = [o for o in proposal.outcomes if o.action and "vip_tier" in o.action]
        if not changes:
            vetoes = "; ".join(f"{o.guard}: {o.reason}" for o in proposal.vetoes) or "no VIP rule holds now"
            return "cancelled", f"not eligible: {vetoes}"
        tier = changes[0].action["vip_tier"]["tier"]  # type: ignore[index]

        self.step = "risk_checks"
        check = await workflow.execute_activity_method(
            JourneyActivities.check_affordability, VipCheck(brand=start.brand, player_id=start.player_id, tier=tier),
            **PLATFORM_CALL)
        if not check.passed or not check.enhanced_due_diligence:
            return "cancelled", f"risk checks: {check.reason or 'affordability or due diligence not clear'}"

        self.step = "staff_review"
        reviewed = lambda: self._review is not None  # noqa: E731
        if not await self.wait_until(reviewed, self.started_at + timing.review_escalate_after):
            await self._escalate(tier)
            if not await self.wait_until(reviewed, self.started_at + timing.review_expires_after):
                return "expired", f"no review within {spoken(timing.review_expires_after)}"
        assert self._review is not None
        if not self._review.approved:
            return "cancelled", f"rejected by {self._review.reviewer}: {self._review.note}".rstrip(": ")

        await self.carry_out("start", proposal)  # the tier in PAM and any task the rule asked for
        await self.offer("approved")  # the VIP welcome and the manager's task
        self._tier = tier
        return "converted", f"approved by {self._review.reviewer}"

    def result_details(self) -> dict:
        return {"vip_tier": self._tier} if self._tier else {}

    async def _escalate(self, tier: str) -> None:
        self.step = "escalated"
        order = Order(key=f"{workflow.info().workflow_id}:escalation", brand=self.start.brand,
                      player_id=self.start.player_id, journey=self.start.kind, rule="vip-review-escalation",
                      action={"task": {"queue": "vip_review_escalations",
                                       "note": f"VIP review for {tier} unanswered: decide in the Temporal UI "
                                               f"(workflow {workflow.info().workflow_id}, signal vip_review)."}})
        await workflow.execute_activity_method(ActingActivities.create_task, order, **PLATFORM_CALL)
        self.done.append({"step": "escalated", "queue": "vip_review_escalations"})
