"""Compliance guards: code, applied after the rules, that no rule file can get around.

Each guard looks at one proposed action and either lets it pass, vetoes it (saying which guard
and why), adjusts it (cashback paid as cash), or holds it (a message due in quiet hours).
The first veto wins. Guards run in the order of GUARDS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from crm.facts import Facts
from rules.format import Action
from rules.policy import BrandConfig

_SEVERITY = {"low": 1, "medium": 2, "high": 3}


class PlayerStatus(BaseModel):
    """What the guards know beyond the rules' facts: protection status and what was already sent."""

    model_config = ConfigDict(extra="forbid")
    self_excluded: bool = False
    account_closed: bool = False
    rg_severity: Literal["low", "medium", "high"] | None = None
    bonus_abuse: bool = False
    marketing_paused: str | None = Field(default=None, description="Staff paused marketing, for this reason.")
    timezone: str = "UTC"
    messages_today: dict[str, int] = Field(default_factory=dict, description="Messages sent today, per channel.")
    messages_week: dict[str, int] = Field(default_factory=dict, description="Messages sent in the last 7 days.")
    incentives_30d: Decimal = Field(default=Decimal(0), description="Incentive value given in the last 30 days.")
    brand_incentives_today: Decimal = Field(default=Decimal(0), description="The brand's incentive value today.")


Verdict = Literal["allowed", "vetoed", "adjusted", "held"]


@dataclass
class Ruling:
    verdict: Verdict
    guard: str | None = None
    reason: str | None = None
    action: Action | None = None  # the adjusted action
    hold_until: datetime | None = None


@dataclass
class Context:
    """One decision's view: facts, status, the brand's config, and what this decision already spends."""

    facts: Facts
    status: PlayerStatus
    config: BrandConfig
    now: datetime
    value: Decimal = Decimal(0)  # of the action under review, for bonuses
    spent: Decimal = Decimal(0)
    sent: dict[str, int] = field(default_factory=dict)


Guard = Callable[[Action, Context], Ruling | None]


def protected_player(action: Action, ctx: Context) -> Ruling | None:
    """Self-excluded, closed or harmed players get no marketing and no incentive, ever."""
    if action.kind == "none" or (action.task and action.task.care):
        return None
    status, pack = ctx.status, ctx.config.pack
    if status.self_excluded:
        return _veto("protected_player", "the player is self-excluded")
    if status.account_closed:
        return _veto("protected_player", "the account is closed")
    if status.rg_severity and _SEVERITY[status.rg_severity] >= _SEVERITY[pack.blocking_rg_severity]:
        return _veto("protected_player", f"{status.rg_severity} responsible-gambling flag "
                     f"(the {pack.name} pack blocks from {pack.blocking_rg_severity})")
    return None


def staff_pause(action: Action, ctx: Context) -> Ruling | None:
    """Staff can stop marketing to a player for a while (signal pause_marketing)."""
    if (action.bonus or action.message) and ctx.status.marketing_paused:
        return _veto("staff_pause", f"staff paused marketing: {ctx.status.marketing_paused}")
    return None


def bonus_abuse(action: Action, ctx: Context) -> Ruling | None:
    if action.bonus and ctx.status.bonus_abuse:
        return _veto("bonus_abuse", "the player is flagged for bonus abuse")
    return None


def consent(action: Action, ctx: Context) -> Ruling | None:
    if action.message and not getattr(ctx.facts, f"consent_{action.message.channel}"):
        return _veto("consent", f"no marketing consent for {action.message.channel}")
    return None


def loss_framing(action: Action, ctx: Context) -> Ruling | None:
    """UKGC: marketing must not encourage chasing losses, so no message framed around them."""
    if not action.message:
        return None
    template = action.message.template.lower()
    words = [w for w in ctx.config.pack.loss_framing_words if w in template]
    if words:
        return _veto("loss_framing", f"the {ctx.config.pack.name} pack forbids framing a message around "
                     f"losses (template {action.message.template!r} says {words[0]!r})")
    return None


def vip_eligibility(action: Action, ctx: Context) -> Ruling | None:
    if not action.vip_tier:
        return None
    minimum = ctx.config.pack.vip_min_age
    if ctx.facts.kyc_status != "verified":
        return _veto("vip_eligibility", f"KYC is {ctx.facts.kyc_status}, VIP needs verified")
    if ctx.facts.age is None or ctx.facts.age < minimum:
        age = "unknown" if ctx.facts.age is None else str(ctx.facts.age)
        return _veto("vip_eligibility", f"age {age}: the {ctx.config.pack.name} pack allows VIP from {minimum}")
    return None


def cashback_as_cash(action: Action, ctx: Context) -> Ruling | None:
    bonus = action.bonus
    if bonus and bonus.kind == "cashback" and ctx.config.pack.cashback_as_cash and bonus.wagering > 0:
        cash = action.model_copy(update={"bonus": bonus.model_copy(update={"wagering": Decimal(0)})})
        return Ruling("adjusted", "cashback_as_cash", f"the {ctx.config.pack.name} pack pays cashback as cash: "
                      f"wagering {bonus.wagering} removed", action=cash)
    return None


def wagering_limit(action: Action, ctx: Context) -> Ruling | None:
    limit = ctx.config.pack.max_wagering
    if action.bonus and limit is not None and action.bonus.wagering > limit:
        return _veto("wagering_limit", f"wagering {action.bonus.wagering}x is over the "
                     f"{ctx.config.pack.name} limit of {limit}x")
    return None


def first_occasion_only(action: Action, ctx: Context) -> Ruling | None:
    if not action.bonus or not ctx.config.pack.bonus_only_before_first_deposit:
        return None
    deposits, trigger = ctx.facts.deposit_count, ctx.facts.trigger
    if deposits > 1 or (deposits == 1 and trigger != "first_deposit"):
        return _veto("first_occasion_only", f"the {ctx.config.pack.name} pack allows a bonus only "
                     "at the first deposit")
    return None


def incentive_budget(action: Action, ctx: Context) -> Ruling | None:
    if not action.bonus:
        return None
    budgets = ctx.config.budgets
    player_total = ctx.status.incentives_30d + ctx.spent + ctx.value
    if player_total > budgets.player_30d:
        return _veto("incentive_budget", f"{player_total} would exceed the player's 30-day budget of {budgets.player_30d}")
    brand_total = ctx.status.brand_incentives_today + ctx.spent + ctx.value
    if brand_total > budgets.brand_day:
        return _veto("incentive_budget", f"{brand_total} would exceed the brand's daily budget of {budgets.brand_day}")
    return None


def frequency_cap(action: Action, ctx: Context) -> Ruling | None:
    if not action.message:
        return None
    channel = action.message.channel
    cap = ctx.config.pack.message_caps[channel]
    planned = ctx.sent.get(channel, 0) + 1
    if ctx.status.messages_today.get(channel, 0) + planned > cap.per_day:
        return _veto("frequency_cap", f"{channel} cap of {cap.per_day} a day reached")
    if ctx.status.messages_week.get(channel, 0) + planned > cap.per_week:
        return _veto("frequency_cap", f"{channel} cap of {cap.per_week} a week reached")
    return None


def quiet_hours(action: Action, ctx: Context) -> Ruling | None:
    if not action.message:
        return None
    pack = ctx.config.pack
    local = ctx.now.astimezone(ZoneInfo(ctx.status.timezone))
    start, end, at = pack.quiet_from, pack.quiet_until, local.time()
    quiet = (start <= at or at < end) if start > end else (start <= at < end)
    if not quiet:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    if pack.hold_in_quiet_hours:
        return Ruling("held", "quiet_hours", f"quiet hours in {ctx.status.timezone}: held until "
                      f"{until.isoformat()}", hold_until=until)
    return _veto("quiet_hours", f"quiet hours in {ctx.status.timezone}")


GUARDS: tuple[Guard, ...] = (
    protected_player, staff_pause, bonus_abuse, consent, loss_framing, vip_eligibility, cashback_as_cash, wagering_limit,
    first_occasion_only, incentive_budget, frequency_cap, quiet_hours,
)


def review(action: Action, ctx: Context) -> Ruling:
    """Run every guard over one action; return the final ruling (and the action as adjusted)."""
    adjusted: Ruling | None = None
    held: Ruling | None = None
    for guard in GUARDS:
        ruling = guard(action, ctx)
        if ruling is None:
            continue
        if ruling.verdict == "vetoed":
            return ruling
        if ruling.verdict == "adjusted":
            action, adjusted = ruling.action or action, ruling
        elif ruling.verdict == "held":
            held = ruling
    if held:
        held.action = action
        return held
    return adjusted or Ruling("allowed", action=action)


def _veto(guard: str, reason: str) -> Ruling:
    return Ruling("vetoed", guard, reason)
