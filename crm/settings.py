"""Configuration: every knob is a ``CRM_`` environment variable, typed and checked at start."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Registered on the Temporal server by the dev stack and by the worker at start: a workflow
# that upserts an unregistered attribute fails its tasks in a loop.
SEARCH_ATTRIBUTES = {
    "CrmBrand": "Keyword", "CrmStage": "Keyword", "CrmCountry": "Keyword", "CrmSegments": "KeywordList",
    "CrmVipTier": "Keyword", "CrmChurnRisk": "Double", "CrmJourney": "KeywordList",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "crm"

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL DSN; without it `crm dev` runs an embedded PostgreSQL.",
    )
    db_pool_max: int = Field(default=10, ge=1)
    max_cached_workflows: int = Field(
        default=5000, ge=0,
        description="Workflows a worker keeps in memory between tasks (about 0.25 MB each); past it, a "
        "workflow's next task first replays its whole history.",
    )

    workflow_sandbox: bool = Field(
        default=False,
        description="Run workflows in the Temporal SDK's sandbox, which fails workflow code that reaches for "
        "I/O, the wall clock or randomness. The tests run with it on; a worker without it spends a sixth "
        "less CPU on each event.",
    )

    state_dir: Path = Path(".crm")
    ui_port: int = 8233
    http_port: int = 7243

    rules_dir: Path | None = Field(
        default=None, description="Rules folder; default: the rules shipped with the package."
    )

    platform_url: str = Field(default="http://127.0.0.1:8090", description="The platform API (docs/platform-api.yaml).")
    platform_timeout_seconds: float = Field(default=5.0, gt=0, description="Longest wait for one platform call.")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    email_from: str = "crm@casino.example"

    metrics_port: int | None = Field(
        default=9464, description="Prometheus metrics on this port; unset or 0 to turn off."
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @property
    def rules_path(self) -> Path:
        if self.rules_dir:
            return self.rules_dir
        from rules.registry import SHIPPED_RULES  # the rules package ships the default files

        return SHIPPED_RULES
