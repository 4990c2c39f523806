"""The risk system: bonus abuse, responsible-gambling markers, affordability before VIP."""

from __future__ import annotations

from adapters.platform.http import PlatformHttp
from adapters.platform_api import AffordabilityCheck, AffordabilityResult, RiskProfile


class Risk:
    def __init__(self, http: PlatformHttp) -> None:
        self._http = http

    async def profile(self, brand: str, player_id: str) -> RiskProfile:
        return await self._http.call("GET", f"/risk/players/{brand}/{player_id}", RiskProfile)

    async def affordability(self, check: AffordabilityCheck) -> AffordabilityResult:
        return await self._http.call("POST", "/risk/affordability", AffordabilityResult, check)
