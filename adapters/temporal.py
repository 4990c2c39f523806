"""Connecting to Temporal the way every part of the CRM must: pydantic payloads, our namespace."""

from __future__ import annotations

import re

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

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
