"""Deciding for a player: rules, then guards, then the audit record, in one activity."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol

from pydantic import BaseModel
from temporalio import activity

from crm.facts import Facts
from rules.decide import Decision, decide
from rules.guards import PlayerStatus
from rules.registry import RuleRegistry


class DecisionRequest(BaseModel):
    decision_key: str  # workflow id + step: the same step asks once, however often it is retried
    player_id: str
    facts: Facts
    status: PlayerStatus


class DecisionRecorder(Protocol):
    async def record(self, decision: Decision) -> Decision: ...


class DecisionActivities:
    def __init__(self, registry: RuleRegistry, log: DecisionRecorder) -> None:
        self._registry = registry
        self._log = log

    @activity.defn(name="decide")
    async def decide(self, request: DecisionRequest) -> Decision:
        """Nothing is decided without a record: the decision is stored before it is returned."""
        decision = decide(
            self._registry.current(), request.facts, request.status,
            player_id=request.player_id, key=request.decision_key, now=datetime.now(timezone.utc),
        )
        return await self._log.record(decision)
