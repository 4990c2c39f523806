"""docker-compose.yml and the Dockerfile agree with the code they deploy.

No Docker engine runs in CI, so these checks catch the drift that would otherwise show only
on an operator's first `docker compose up`.
"""

from __future__ import annotations

import re
import tomllib

import yaml
from support import REPO

from crm.settings import SEARCH_ATTRIBUTES, Settings


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_worker_service_is_configured_only_through_known_crm_settings() -> None:
    env = _compose()["services"]["worker"]["environment"]
    known = {f"CRM_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, f"unknown settings: {set(env) - known}"
    assert env["CRM_DATABASE_URL"].startswith("postgresql://")
    Settings(**{k.removeprefix("CRM_").lower(): v for k, v in env.items()})  # values parse


def test_compose_registers_every_search_attribute_the_workflows_use() -> None:
    setup = "".join(_compose()["services"]["temporal-setup"]["command"])
    pairs = re.search(r"for attribute in ([\w: ]+);", setup)[1].split()
    assert dict(p.split(":") for p in pairs) == SEARCH_ATTRIBUTES


def test_the_image_contains_every_package_the_distribution_ships() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", (REPO / "Dockerfile").read_text(), re.M))
    assert packages == copied
    assert "COPY worker.py" in (REPO / "Dockerfile").read_text()
