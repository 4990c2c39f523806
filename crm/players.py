"""Who a PlayerWorkflow is about: the workflow id is the player's address."""

from __future__ import annotations

from typing import NamedTuple

WORKFLOW_TYPE = "PlayerWorkflow"
_PREFIX = "player:"


class PlayerRef(NamedTuple):
    brand: str
    player_id: str

    @property
    def workflow_id(self) -> str:
        return f"{_PREFIX}{self.brand}:{self.player_id}"

    @classmethod
    def from_workflow_id(cls, workflow_id: str) -> PlayerRef:
        """The brand never holds a colon, so the player id may."""
        if not workflow_id.startswith(_PREFIX):
            raise ValueError(f"workflow id {workflow_id!r} does not start with {_PREFIX!r}")
        brand, sep, player_id = workflow_id[len(_PREFIX):].partition(":")
        if not (brand and sep and player_id):
            raise ValueError(f"workflow id {workflow_id!r} is not player:{{brand}}:{{player_id}}")
        return cls(brand, player_id)
