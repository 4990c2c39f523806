"""The wallet and bonus engine: where incentives become money or spins in the account."""

from __future__ import annotations

from adapters.platform.http import PlatformHttp
from adapters.platform_api import Grant, GrantReceipt


class Wallet:
    def __init__(self, http: PlatformHttp) -> None:
        self._http = http

    async def grant(self, grant: Grant, key: str) -> GrantReceipt:
        return await self._http.call("POST", "/wallet/grants", GrantReceipt, grant, key)
