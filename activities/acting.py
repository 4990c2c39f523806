"""Carrying out what a decision allowed: grants, messages, VIP tiers and staff tasks.

Each order carries the idempotency key `{journey workflow id}:{step}:{action index}`: the
ledger row and the platform call both use it, so a retried or replayed step lands once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from adapters.ledger import Ledger
from adapters.platform.backoffice import BackOffice
from adapters.platform.http import PlatformRejected
from adapters.platform.messaging import Messaging
from adapters.platform.pam import Pam
from adapters.platform.wallet import Wallet
from adapters.platform_api import Grant, OutboundMessage, StaffTask, VipTierChange


class Order(BaseModel):
    key: str
    brand: str
    player_id: str
    journey: str
    rule: str
    action: dict[str, Any]  # as the decision allowed it: {"bonus": {...}}, {"message": {...}}, ...
    value: Decimal | None = None  # a bonus's worth, as decided


class ActingActivities:
    def __init__(self, ledger: Ledger, wallet: Wallet, messaging: Messaging, pam: Pam, backoffice: BackOffice) -> None:
        self._ledger = ledger
        self._wallet = wallet
        self._messaging = messaging
        self._pam = pam
        self._backoffice = backoffice

    @activity.defn(name="grant_incentive")
    async def grant_incentive(self, order: Order) -> str:
        bonus = order.action["bonus"]
        amount = order.value if order.value is not None else Decimal(str(bonus["amount"]))
        wagering = Decimal(str(bonus.get("wagering", 0)))
        kind = "cash" if bonus["kind"] == "cashback" and wagering == 0 else bonus["kind"]
        expires = datetime.now(UTC) + timedelta(days=int(bonus.get("expires_in_days", 7)))
        await self._ledger.incentive_pending(order.key, order.brand, order.player_id, order.journey, kind,
                                             amount, wagering, {"rule": order.rule, "bonus": bonus})
        try:
            receipt = await self._wallet.grant(Grant(
                brand=order.brand, player_id=order.player_id, kind=kind, amount=amount, wagering=wagering,
                expires_at=expires, reason=f"{order.journey}: {order.rule}"), order.key)
        except PlatformRejected:
            await self._ledger.incentive_done(order.key, "refused", None)  # nothing was paid
            raise
        await self._ledger.incentive_done(order.key, "granted", receipt.grant_id)
        return receipt.grant_id

    @activity.defn(name="send_message")
    async def send_message(self, order: Order) -> str:
        message = order.action["message"]
        channel, template = message["channel"], message["template"]
        await self._ledger.message_pending(order.key, order.brand, order.player_id, order.journey, channel,
                                           template, {"rule": order.rule})
        try:
            ref = await self._deliver(order, channel, template)
        except PlatformRejected:
            await self._ledger.message_done(order.key, "refused", None)
            raise
        await self._ledger.message_done(order.key, "sent" if ref else "no_address", ref)
        return ref or "no email address on the account"

    async def _deliver(self, order: Order, channel: str, template: str) -> str | None:
        """Send by the channel's route; None when the account has no address for it."""
        variables = {"player_id": order.player_id, "brand": order.brand}
        if channel == "email":
            account = await self._pam.player(order.brand, order.player_id)
            if not account.email:
                return None
            return await self._messaging.email(account.email, template, variables, order.key)
        if channel == "phone":
            return (await self._backoffice.create_task(StaffTask(
                brand=order.brand, player_id=order.player_id, queue="outbound_calls",
                note=f"Call the player: {template}"), order.key)).task_id
        return (await self._messaging.send(OutboundMessage(
            brand=order.brand, player_id=order.player_id, channel=channel, template=template,
            variables=variables), order.key)).message_id

    @activity.defn(name="set_vip_tier")
    async def set_vip_tier(self, order: Order) -> str:
        tier = order.action["vip_tier"]["tier"]
        account = await self._pam.set_vip_tier(order.brand, order.player_id,
                                               VipTierChange(tier=tier, reason=f"{order.journey}: {order.rule}"), order.key)
        return account.vip_tier

    @activity.defn(name="create_task")
    async def create_task(self, order: Order) -> str:
        task = order.action["task"]
        receipt = await self._backoffice.create_task(StaffTask(
            brand=order.brand, player_id=order.player_id, queue=task["queue"], note=task["note"]), order.key)
        return receipt.task_id
