"""The back office's staff queues: calls and checks only a person should make."""

from __future__ import annotations

from adapters.platform.http import PlatformHttp
from adapters.platform_api import StaffTask, TaskReceipt


class BackOffice:
    def __init__(self, http: PlatformHttp) -> None:
        self._http = http

    async def create_task(self, task: StaffTask, key: str) -> TaskReceipt:
        return await self._http.call("POST", "/backoffice/tasks", TaskReceipt, task, key)
