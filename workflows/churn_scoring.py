"""ChurnScoringWorkflow: a brand's daily churn scoring, run by a Temporal Schedule.

It scores every active player of the brand with the model in use, then tells each player's
workflow whose risk crossed the brand's threshold upward — once — which starts or advances
their reactivation journey through the rules. Protected players are never told.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.churn import ChurnActivities, ChurnSignalling, CrossingsRequest, ScoreRequest
    from activities.segments import SegmentActivities, SegmentRefresh

NOTHING_TO_SCORE_WITH = ["NoModel"]


class ScoringRun(BaseModel):
    brand: str
    as_of: date | None = None  # default: the day the run starts (UTC)
    scored: int | None = None  # carried across continue-as-new once scoring is done
    at_risk: int = 0
    signalled: int = 0
    without_workflow: int = 0
    segments_refreshed: bool = False
    segment_sizes: list[dict[str, Any]] = []
    told_segments: int = 0


class ScoringOutcome(BaseModel):
    brand: str
    as_of: date
    scored: int
    at_risk: int
    signalled: int
    without_workflow: int
    segment_sizes: list[dict[str, Any]] = []  # segment, players, joined, left_ since the run before
    told_segments: int = 0  # workflows told that their population segments changed
    note: str = ""


@workflow.defn(name="ChurnScoringWorkflow")
class ChurnScoringWorkflow:
    @workflow.run
    async def run(self, run: ScoringRun) -> ScoringOutcome:
        as_of = run.as_of or workflow.now().date()
        if run.scored is None:
            try:
                summary = await workflow.execute_activity_method(
                    ChurnActivities.score, ScoreRequest(as_of=as_of, brand=run.brand),
                    start_to_close_timeout=timedelta(minutes=30),
                    retry_policy=RetryPolicy(non_retryable_error_types=NOTHING_TO_SCORE_WITH))
            except ActivityError as failed:
                if isinstance(failed.cause, ApplicationError) and failed.cause.type in NOTHING_TO_SCORE_WITH:
                    return ScoringOutcome(brand=run.brand, as_of=as_of, scored=0, at_risk=0, signalled=0,
                                          without_workflow=0, note=failed.cause.message)
                raise
            run = run.model_copy(update={"as_of": as_of, "scored": summary.players, "at_risk": summary.at_risk})
        while True:
            page = await workflow.execute_activity_method(
                ChurnSignalling.signal_crossings, CrossingsRequest(brand=run.brand, as_of=as_of),
                start_to_close_timeout=timedelta(minutes=5), heartbeat_timeout=timedelta(minutes=1))
            run = run.model_copy(update={"signalled": run.signalled + page.signalled,
                                         "without_workflow": run.without_workflow + page.without_workflow})
            if not page.more:
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(run)
        if not run.segments_refreshed:  # after the scores: at_risk and value follow them
            refreshed = await workflow.execute_activity_method(
                SegmentActivities.refresh, SegmentRefresh(brand=run.brand, as_of=as_of),
                start_to_close_timeout=timedelta(minutes=30))
            run = run.model_copy(update={"segments_refreshed": True, "segment_sizes": refreshed.sizes})
        while True:
            told = await workflow.execute_activity_method(
                SegmentActivities.notify, args=[run.brand, 500],
                start_to_close_timeout=timedelta(minutes=5), heartbeat_timeout=timedelta(minutes=1))
            run = run.model_copy(update={"told_segments": run.told_segments + told.told})
            if not told.more:
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(run)
        return ScoringOutcome(brand=run.brand, as_of=as_of, scored=run.scored or 0, at_risk=run.at_risk,
                              signalled=run.signalled, without_workflow=run.without_workflow,
                              segment_sizes=run.segment_sizes, told_segments=run.told_segments)
