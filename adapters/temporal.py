"""Connecting to Temporal the way every part of the CRM must: pydantic payloads, our namespace."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from crm.players import PlayerRef
from crm.settings import SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register the CRM's search attributes if the server lacks them (idempotent)."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = [name for name in SEARCH_ATTRIBUTES if name not in listed.custom_attributes]
    if missing:
        await register_search_attributes(client, missing)
        log.info("registered search attributes %s", sorted(missing))


async def register_search_attributes(client: Client, names: list[str] | None = None) -> None:
    wanted = {
        name: IndexedValueType.Value("INDEXED_VALUE_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper())
        for name, kind in SEARCH_ATTRIBUTES.items() if names is None or name in names
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted))


async def signal_player(client: Client, brand: str, player_id: str, signal: str, payload: Any) -> bool:
    """Signal a player's workflow; False when the player has none (history imported, never live)."""
    try:
        await client.get_workflow_handle(PlayerRef(brand, player_id).workflow_id).signal(signal, payload)
    except RPCError as missing:
        if missing.status != RPCStatusCode.NOT_FOUND:
            raise
        return False
    return True


async def ensure_churn_schedules(client: Client, every: dict[str, timedelta], task_queue: str) -> list[str]:
    """A Temporal Schedule per brand running ChurnScoringWorkflow at the brand's interval.

    Idempotent: a schedule that exists is updated when its interval changed, else left alone,
    so paused schedules (staff may pause one in the Web UI) stay paused. Returns the created or
    changed schedule ids.
    """
    changed = []
    for brand, interval in sorted(every.items()):
        schedule_id = f"churn-scoring:{brand}"
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                "ChurnScoringWorkflow", {"brand": brand}, id=schedule_id, task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            state=ScheduleState(note=f"Churn scoring for {brand}: every {interval} (churn.score_every in brand.yaml)"),
        )
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            handle = client.get_schedule_handle(schedule_id)
            current = (await handle.describe()).schedule.spec.intervals
            if [i.every for i in current] == [interval]:
                continue

            def update(existing: ScheduleUpdateInput, spec: ScheduleSpec = schedule.spec) -> ScheduleUpdate:
                existing.description.schedule.spec = spec
                return ScheduleUpdate(existing.description.schedule)

            await handle.update(update)
        changed.append(schedule_id)
    return changed
