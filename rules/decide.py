"""A decision: the rules propose, the guards dispose, and the record says why.

    decision = decide(compiled, facts, status, player_id="p-1", key="journey:welcome:...:1", now=now)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from crm.facts import Facts
from rules.engine import CompiledRules
from rules.guards import Context, PlayerStatus, Verdict, review


class Outcome(BaseModel):
    """What became of one action a rule proposed."""

    rule: str
    proposed: dict[str, Any]
    verdict: Verdict
    guard: str | None = None
    reason: str | None = None
    action: dict[str, Any] | None = None  # as carried out: None when vetoed
    value: Decimal | None = None  # a bonus's worth for this trigger
    hold_until: datetime | None = None


class Decision(BaseModel):
    decision_key: str
    brand: str
    player_id: str
    trigger: str
    rules_version: str
    policy: str
    matched: list[str]  # rules whose conditions held, in priority order
    applied: list[str]  # those whose actions were proposed (a `stop` cuts the rest)
    outcomes: list[Outcome]
    facts: Facts
    status: PlayerStatus
    decided_at: datetime

    @property
    def actions(self) -> list[dict[str, Any]]:
        """What to carry out now or when held: everything not vetoed."""
        return [o.action for o in self.outcomes if o.action is not None and "none" not in o.action]

    @property
    def vetoes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "vetoed"]


def decide(
    compiled: CompiledRules, facts: Facts, status: PlayerStatus, *, player_id: str, key: str, now: datetime
) -> Decision:
    brand_rules = compiled.book.for_brand(facts.brand)
    by_id = {r.id: r for r in brand_rules.rules}
    matched = sorted(compiled.matching(brand_rules.brand, facts.trigger, vars(facts)),
                     key=lambda rule_id: by_id[rule_id].order)
    applied = []
    for rule_id in matched:
        applied.append(rule_id)
        if by_id[rule_id].stop:
            break

    ctx = Context(facts=facts, status=status, config=brand_rules.config, now=now)
    outcomes = []
    for rule_id in applied:
        for action in by_id[rule_id].then:
            ctx.value = action.bonus.value(facts.trigger_amount) if action.bonus else Decimal(0)
            ruling = review(action, ctx)
            kept = ruling.action if ruling.verdict != "vetoed" else None
            if kept is not None and kept.bonus:
                ctx.spent += ctx.value
            if kept is not None and kept.message:
                ctx.sent[kept.message.channel] = ctx.sent.get(kept.message.channel, 0) + 1
            outcomes.append(Outcome(
                rule=rule_id, proposed=action.describe(), verdict=ruling.verdict, guard=ruling.guard,
                reason=ruling.reason, action=kept.describe() if kept else None,
                value=ctx.value if action.bonus else None, hold_until=ruling.hold_until,
            ))
    return Decision(
        decision_key=key, brand=facts.brand, player_id=player_id, trigger=facts.trigger,
        rules_version=compiled.book.version, policy=brand_rules.config.policy, matched=matched,
        applied=applied, outcomes=outcomes, facts=facts, status=status, decided_at=now,
    )
