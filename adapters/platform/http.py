"""The one way the CRM talks HTTP to the platform: timeouts, idempotency keys, error classes.

Temporal's retry policies act on the class of error: `PlatformUnavailable` (timeouts, 5xx,
429, connection failures) is retried with the same idempotency key; `PlatformRejected` (any
other 4xx) is named non-retryable, because asking again will not change the answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import httpx
from pydantic import BaseModel

from adapters.platform_api import IDEMPOTENCY_HEADER

Response = TypeVar("Response", bound=BaseModel)


class PlatformUnavailable(Exception):
    """The platform did not answer, or failed: worth trying again with the same key."""


class PlatformRejected(Exception):
    """The platform refused the request: trying again gets the same answer."""


NON_RETRYABLE = [PlatformRejected.__name__]


class PlatformHttp:
    def __init__(self, base_url: str, timeout: timedelta = timedelta(seconds=5),
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout.total_seconds(), transport=transport,
            headers={"User-Agent": "casino-crm"},
        )

    async def call(self, method: str, path: str, response: type[Response], body: BaseModel | None = None,
                   idempotency_key: str | None = None) -> Response:
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        content = body.model_dump_json().encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            answer = await self._client.request(method, path, content=content, headers=headers)
        except httpx.TimeoutException as slow:
            raise PlatformUnavailable(f"{method} {path}: no answer in time ({type(slow).__name__})") from slow
        except httpx.TransportError as broken:
            raise PlatformUnavailable(f"{method} {path}: {type(broken).__name__}: {broken}") from broken
        if answer.status_code >= 500 or answer.status_code == 429:
            raise PlatformUnavailable(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
        if answer.status_code >= 400:
            raise PlatformRejected(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        try:
            return response.model_validate_json(answer.content)
        except ValueError as garbled:
            raise PlatformUnavailable(f"{method} {path}: unreadable answer: {garbled}") from garbled

    async def close(self) -> None:
        await self._client.aclose()
