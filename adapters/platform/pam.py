"""Player account management: the account's KYC state and VIP tier."""

from __future__ import annotations

from adapters.platform.http import PlatformHttp
from adapters.platform_api import PlayerAccount, VipTierChange


class Pam:
    def __init__(self, http: PlatformHttp) -> None:
        self._http = http

    async def player(self, brand: str, player_id: str) -> PlayerAccount:
        return await self._http.call("GET", f"/pam/players/{brand}/{player_id}", PlayerAccount)

    async def set_vip_tier(self, brand: str, player_id: str, change: VipTierChange, key: str) -> PlayerAccount:
        return await self._http.call("PUT", f"/pam/players/{brand}/{player_id}/vip-tier", PlayerAccount, change, key)
