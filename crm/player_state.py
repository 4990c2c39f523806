"""What a PlayerWorkflow keeps between events and carries across continue-as-new, and the
payloads of the signals staff and the scoring run send it.

These models live outside `workflows/` because the sandbox re-imports a workflow's own module
for every run: defined there, each model's validator was rebuilt for every new player.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from crm.batch import Rejection
from crm.events import Event, SelfExcluded
from crm.facts import ChurnSignal
from crm.journeys import JourneyResult, PlayerView
from crm.profile import PlayerProfile
from crm.segments import POPULATION


class Due(BaseModel):
    kind: Literal["welcome", "first_deposit", "loss_recovery", "reactivation", "vip_check", "group_exclusion"]
    amount: Decimal = Decimal(0)
    churn_risk: Decimal | None = None
    exclusion: SelfExcluded | None = None


class Pause(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    until: datetime | None = None
    by: str = Field(default="staff", max_length=128)


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    author: str = Field(default="staff", max_length=128)
    at: datetime | None = None


class LifecycleState(BaseModel):
    """Carried across continue-as-new with the profile."""

    counts: dict[str, int] = {}
    running: dict[str, str] = {}  # kind -> journey workflow id
    history: list[JourneyResult] = []
    skipped: list[str] = []  # journeys not started, and why
    due: list[Due] = []
    stop_reason: str | None = None
    seen_active_at: datetime | None = None
    reactivated_for: datetime | None = None  # the absence a reactivation was started for
    last_loss_recovery_at: datetime | None = None
    limit_changed_at: datetime | None = None  # when this workflow learnt of the latest limit change
    day_losses: dict[str, Decimal] = {}
    pause: Pause | None = None
    pause_changed: bool = False
    notes: list[Note] = []
    view_changed: bool = False
    sent_view: PlayerView | None = None  # the view running journeys were last told of
    population: list[str] = []  # segments only the daily run can tell (high_value, prefers_*)


class CarriedState(BaseModel):
    """Everything a run hands to the next one at continue-as-new."""

    profile: PlayerProfile
    revision: int = 0
    recent_event_ids: list[str] = []
    unflushed: list[Event] = []
    unflushed_rejections: list[Rejection] = []
    recent_rejections: list[Rejection] = []
    profile_dirty: bool = False
    lifecycle: LifecycleState = LifecycleState()


class PopulationSegments(BaseModel):
    population: list[Literal[POPULATION]] = Field(max_length=len(POPULATION))  # type: ignore[valid-type]


class ChurnRisk(BaseModel):
    risk: Decimal = Field(ge=0, le=1)
    top_signal: ChurnSignal = "none"
