"""What journeys and PlayerWorkflow ask beyond deciding and acting: settings, records, checks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from adapters.ledger import Ledger
from adapters.platform.risk import Risk
from adapters.platform_api import AffordabilityCheck, AffordabilityResult
from activities.decisions import FactSource
from crm.events import SelfExcluded
from crm.facts import VIP_TIERS
from crm.journeys import JourneyResult, JourneySettings
from crm.player_facts import AT_RISK_FROM
from crm.players import WORKFLOW_TYPE, PlayerRef
from crm.segments import SegmentSettings
from rules.registry import RuleRegistry

# Copies of a group self-exclusion carry this prefix so that they are not passed on again.
GROUP_COPY = "group:"


class BrandJourneys(BaseModel):
    settings: JourneySettings
    group_brands: list[str]  # the other brands sharing player ids with this one
    segments: SegmentSettings = SegmentSettings()
    churn_threshold: Decimal = AT_RISK_FROM


class JourneyStarted(BaseModel):
    journey_id: str
    brand: str
    player_id: str
    kind: str
    group: str
    started_at: datetime


class VipCheck(BaseModel):
    brand: str
    player_id: str
    tier: str


class JourneyActivities:
    def __init__(self, registry: RuleRegistry, ledger: Ledger, risk: Risk, client: Client, task_queue: str,
                 facts: FactSource | None = None) -> None:
        self._registry = registry
        self._facts = facts
        self._ledger = ledger
        self._risk = risk
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name="brand_journeys")
    async def brand_journeys(self, brand: str) -> BrandJourneys:
        book = self._registry.current().book
        config = book.for_brand(brand).config
        siblings = [] if config.group is None else sorted(
            name for name, rules in book.brands.items()
            if name not in (brand, "default") and rules.config.group == config.group)
        return BrandJourneys(settings=config.journeys, group_brands=siblings, segments=config.segments,
                             churn_threshold=config.churn.threshold)

    @activity.defn(name="vip_tier_due")
    async def vip_tier_due(self, brand: str, player_id: str) -> str | None:
        """The highest tier the brand's VIP rules would propose now, if above the current one.

        Asked after every deposit, inside the player's workflow task: PostgreSQL only, no platform call."""
        assert self._facts is not None, "the worker wires a fact source"
        facts = await self._facts.facts(brand, player_id, trigger="vip_review", step="start",
                                        trigger_amount=Decimal(0), days_inactive=0, now=datetime.now(UTC))
        compiled = self._registry.current()
        rules = {r.id: r for r in compiled.book.for_brand(brand).rules}
        proposed = [a.vip_tier.tier for rule_id in compiled.matching(brand, "vip_review", facts.model_dump())
                    for a in rules[rule_id].then if a.vip_tier]
        best = max(proposed, key=VIP_TIERS.index, default=None)
        return best if best and VIP_TIERS.index(best) > VIP_TIERS.index(facts.vip_tier) else None

    @activity.defn(name="journey_started")
    async def journey_started(self, started: JourneyStarted) -> None:
        await self._ledger.journey_started(started.journey_id, started.brand, started.player_id, started.kind,
                                           started.group, started.started_at)

    @activity.defn(name="journey_ended")
    async def journey_ended(self, result: JourneyResult) -> None:
        details = result.model_dump(mode="json", include={"vip_tier", "days_to_return"}, exclude_none=True)
        await self._ledger.journey_ended(result.journey_id, result.outcome, result.reason, result.ended_at, details)

    @activity.defn(name="check_affordability")
    async def check_affordability(self, check: VipCheck) -> AffordabilityResult:
        return await self._risk.affordability(AffordabilityCheck(brand=check.brand, player_id=check.player_id,
                                                                 tier=check.tier))

    @activity.defn(name="exclude_across_group")
    async def exclude_across_group(self, exclusion: SelfExcluded, brands: list[str]) -> int:
        """Tell each brand of the group that this player excluded themself, as their platform would."""
        for brand in brands:
            copy = exclusion.model_copy(update={
                "brand": brand, "event_id": f"{GROUP_COPY}{exclusion.brand}:{exclusion.event_id}"[:128]})
            await self._client.start_workflow(
                WORKFLOW_TYPE, {"brand": brand, "player_id": exclusion.player_id},
                id=PlayerRef(brand, exclusion.player_id).workflow_id, task_queue=self._task_queue,
                start_signal="event", start_signal_args=[copy.model_dump(mode="json")],
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        return len(brands)
