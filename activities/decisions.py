"""Deciding for a player: rules, then guards, then the audit record, in one activity."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel
from temporalio import activity

from crm.facts import Facts, Trigger
from rules.decide import Decision, decide
from rules.guards import PlayerStatus
from rules.registry import RuleRegistry


class DecisionRequest(BaseModel):
    decision_key: str  # workflow id + step: the same step asks once, however often it is retried
    player_id: str
    facts: Facts
    status: PlayerStatus


class PlayerDecisionRequest(BaseModel):
    """A journey's question at one of its steps; the facts are gathered when it is asked."""

    decision_key: str
    brand: str
    player_id: str
    trigger: Trigger
    step: str = "start"
    trigger_amount: Decimal = Decimal(0)
    days_inactive: int = 0
    marketing_paused: str | None = None  # staff's reason, while a pause holds


class DecisionRecorder(Protocol):
    async def record(self, decision: Decision) -> Decision: ...


class FactSource(Protocol):
    async def facts(self, brand: str, player_id: str, *, trigger: Trigger, step: str, trigger_amount: Decimal,
                    days_inactive: int, now: datetime) -> Facts: ...

    async def gather(self, brand: str, player_id: str, *, trigger: Trigger, step: str, trigger_amount: Decimal,
                     days_inactive: int, now: datetime) -> tuple[Facts, PlayerStatus]: ...


class DecisionActivities:
    def __init__(self, registry: RuleRegistry, log: DecisionRecorder, facts: FactSource | None = None) -> None:
        self._registry = registry
        self._log = log
        self._facts = facts

    @activity.defn(name="decide_for_player")
    async def decide_for_player(self, request: PlayerDecisionRequest) -> Decision:
        """Facts as they are now, then rules and guards; a retry returns the first recorded answer."""
        assert self._facts is not None, "the worker wires a fact source"
        now = datetime.now(timezone.utc)
        facts, status = await self._facts.gather(
            request.brand, request.player_id, trigger=request.trigger, step=request.step,
            trigger_amount=request.trigger_amount, days_inactive=request.days_inactive, now=now)
        status = status.model_copy(update={"marketing_paused": request.marketing_paused})
        decision = decide(self._registry.current(), facts, status, player_id=request.player_id,
                          key=request.decision_key, now=now)
        return await self._log.record(decision)

    @activity.defn(name="decide")
    async def decide(self, request: DecisionRequest) -> Decision:
        """Nothing is decided without a record: the decision is stored before it is returned."""
        decision = decide(
            self._registry.current(), request.facts, request.status,
            player_id=request.player_id, key=request.decision_key, now=datetime.now(timezone.utc),
        )
        return await self._log.record(decision)
