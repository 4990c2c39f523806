"""The game catalogue: which category a game belongs to, for game-preference segments."""

from __future__ import annotations

from adapters.platform.http import PlatformHttp
from adapters.platform_api import Game


class Games:
    def __init__(self, http: PlatformHttp) -> None:
        self._http = http
        self._known: dict[str, Game] = {}

    async def game(self, game_id: str) -> Game:
        """Categories do not change under a game: each is asked once per process."""
        if game_id not in self._known:
            self._known[game_id] = await self._http.call("GET", f"/games/{game_id}", Game)
        return self._known[game_id]
