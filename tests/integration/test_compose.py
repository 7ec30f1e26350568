"""``docker-compose.yml`` (no Docker engine here: its structure is checked as YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

OUR_IMAGE = "sono:"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    return compose["services"]


def test_third_party_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        if image.startswith(OUR_IMAGE):
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and any(c.isdigit() for c in tag), f"{name}: {image} is not a version"


def test_auxiliary_ports_are_published_on_loopback_only(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "api":
            continue
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_jobs_has_no_health_check_to_fail(services: dict[str, Any]) -> None:
    assert services["jobs"]["healthcheck"] == {"disable": True}
    assert "healthcheck" in services["api"]
