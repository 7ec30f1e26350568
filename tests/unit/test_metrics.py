"""Metrics without I/O: use cases counted by name through the container, nothing wrapped when
metrics are off, the maintenance cache's hits and misses on an injected clock, bounded labels, and
the settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sono.adapters.media.image_cache import MemoryImageCache
from sono.adapters.metrics.prometheus import PrometheusMetrics, forget_dead_processes, prepare_multiprocess_dir
from sono.adapters.stores.maintenance import DatabaseMaintenanceStore
from sono.application.accounts.messages import Login, Register
from sono.application.common import PasswordInput
from sono.application.maintenance.gate import MaintenanceGate
from sono.application.messages import ANONYMOUS
from sono.application.metrics import NoMetrics
from sono.bootstrap import Container
from sono.config import ConfigError, load_settings
from sono.domain.errors import (
    BadRequest,
    Conflict,
    NotAuthenticated,
    PayloadTooLarge,
    UnsupportedMedia,
    ValidationFailed,
)
from sono.domain.maintenance import MaintenanceState
from sono.domain.media import FILE_EMPTY, ProcessedImage
from sono.entrypoints.http.uploads import refusal_reason
from tests.fakes.metrics import RecordingMetrics
from tests.fakes.security import FakeClock
from tests.fakes.uow import FakeUnitOfWorkFactory
from tests.unit.conftest import World, make_world


def with_metrics(world: World, metrics: NoMetrics) -> Container:
    return Container(world.app.settings, replace(world.app.ports, metrics=metrics))


async def test_use_cases_are_counted_by_name_with_the_error_they_raised(clock: FakeClock) -> None:
    world = make_world(clock)
    metrics = RecordingMetrics()
    app = with_metrics(world, metrics)
    await app.bus(Register("alice", "alice@example.com", PasswordInput("Str0ng!Passw0rd")), ANONYMOUS)
    await app.bus(Login("alice", PasswordInput("Str0ng!Passw0rd")), ANONYMOUS)
    with pytest.raises(NotAuthenticated):
        await app.bus(Login("alice", PasswordInput("Wr0ng!Passw0rd")), ANONYMOUS)

    assert ("accounts.Register", None) in metrics.use_cases
    assert metrics.use_cases.count(("accounts.Login", None)) == 1
    assert metrics.use_cases.count(("accounts.Login", "NotAuthenticated")) == 1
    assert metrics.use_cases.count(("maintenance.enforce", None)) == 2  # a service the login calls, wrapped
    assert all(name.split(".")[0] in {"accounts", "maintenance", "media"} for name, _ in metrics.use_cases)


async def test_without_metrics_the_services_are_handed_out_as_they_are(world: World) -> None:
    assert type(world.app.maintenance) is MaintenanceGate
    counted = with_metrics(world, RecordingMetrics())
    assert type(counted.maintenance) is not MaintenanceGate
    assert counted.maintenance.enforce.__name__ == "enforce"
    assert counted.maintenance.enforce is counted.maintenance.enforce  # wrapped once


async def test_the_maintenance_cache_reports_hits_and_misses() -> None:
    clock = FakeClock()
    metrics = RecordingMetrics()
    store = DatabaseMaintenanceStore(
        FakeUnitOfWorkFactory(), cache_seconds=1.0, monotonic=clock.monotonic, metrics=metrics
    )
    assert await store.get() == MaintenanceState()
    await store.get()
    await store.get()
    clock.advance(1.0)
    await store.get()
    assert metrics.lookups == [
        ("maintenance", False),
        ("maintenance", True),
        ("maintenance", True),
        ("maintenance", False),
    ]


def test_upload_refusals_have_bounded_reasons() -> None:
    assert refusal_reason(PayloadTooLarge("too big")) == "too_large"
    assert refusal_reason(UnsupportedMedia("what is this")) == "unsupported_type"
    assert refusal_reason(ValidationFailed([])) == "invalid_form"
    assert refusal_reason(BadRequest(FILE_EMPTY)) == "empty"
    assert refusal_reason(BadRequest("Invalid multipart body")) == "malformed"
    assert refusal_reason(Conflict("taken")) == "conflict"


def _samples(metrics: PrometheusMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name
    }


def test_prometheus_labels_stay_bounded() -> None:
    metrics = PrometheusMetrics()
    metrics.http_started()
    metrics.http_finished("/api/v1/audio/{audio_id}", "BREW", 418, 0.01, 0, 0)
    metrics.http_started()
    metrics.http_finished("/api/v1/audio/{audio_id}", "GET", 200, 0.01, 0, 5)
    requests = _samples(metrics, "sono_http_requests_total")
    assert requests == {
        (("method", "OTHER"), ("route", "/api/v1/audio/{audio_id}"), ("status", "418")): 1,
        (("method", "GET"), ("route", "/api/v1/audio/{audio_id}"), ("status", "200")): 1,
    }
    assert _samples(metrics, "sono_http_requests_in_flight") == {(): 0}
    assert _samples(metrics, "sono_http_response_bytes_total") == {
        (("method", "GET"), ("route", "/api/v1/audio/{audio_id}")): 5
    }


def test_two_instances_in_one_process_count_apart() -> None:
    a, b = PrometheusMetrics(), PrometheusMetrics()
    a.rate_limited("/api/v1/users/token")
    assert _samples(a, "sono_rate_limit_rejections_total") == {(("route", "/api/v1/users/token"),): 1}
    assert _samples(b, "sono_rate_limit_rejections_total") == {}


def test_metrics_settings() -> None:
    settings = load_settings({"SONO_DATA_DIR": "/srv/sono"})
    assert settings.metrics_token is None
    assert not settings.metrics_enabled
    assert str(settings.metrics_multiprocess_dir) == "/srv/sono/metrics"
    settings = load_settings({"SONO_METRICS_TOKEN": "t" * 16, "SONO_METRICS_DIR": "/run/sono-metrics"})
    assert settings.metrics_enabled
    assert str(settings.metrics_multiprocess_dir) == "/run/sono-metrics"
    with pytest.raises(ConfigError, match="SONO_METRICS_TOKEN must be at least 16 characters"):
        load_settings({"SONO_METRICS_TOKEN": "short"})
    with pytest.raises(ConfigError, match="SONO_METRICS_DIR must be a folder of its own"):
        load_settings({"SONO_DATA_DIR": "/srv/sono", "SONO_METRICS_DIR": "/srv/sono/"})


def test_a_new_run_empties_the_metrics_folder_of_metrics_only(tmp_path: Path) -> None:
    names = ["counter_12.db", "gauge_livesum_12.db", "histogram_7.db", "summary_3.db", "sono.db", "notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    prepare_multiprocess_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "sono.db"]
    prepare_multiprocess_dir(tmp_path / "new")
    assert (tmp_path / "new").is_dir()


def test_the_grafana_dashboard_names_only_metrics_that_exist() -> None:
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json").read_text())
    named = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bsono_[a-z_]+", target["expr"])
    }
    exposed = {
        name
        for family in PrometheusMetrics().registry.collect()
        for name in {family.name, f"{family.name}_total", f"{family.name}_bucket"}
    }
    assert named
    assert sorted(named - exposed) == []


def test_live_gauges_of_processes_that_no_longer_run_are_forgotten(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = int(finished.stdout)
    for name in (f"gauge_livesum_{dead}.db", f"gauge_livesum_{os.getpid()}.db", f"counter_{dead}.db"):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_processes(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{dead}.db", f"gauge_livesum_{os.getpid()}.db"]


async def test_the_cover_art_cache_reports_hits_misses_and_size() -> None:
    metrics = RecordingMetrics()
    cache = MemoryImageCache(max_bytes=10, metrics=metrics)

    assert await cache.get("cv-1@300") is None
    await cache.put("cv-1@300", ProcessedImage(b"123456", "image/jpeg", "jpg", 3, 3))
    assert (await cache.get("cv-1@300")) is not None
    await cache.put("cv-2@300", ProcessedImage(b"abcdef", "image/jpeg", "jpg", 3, 3))  # the first makes room

    assert metrics.lookups == [("cover_art", False), ("cover_art", True)]
    assert metrics.sizes == [("cover_art", 1, 6), ("cover_art", 1, 6)]
    assert await cache.get("cv-1@300") is None and (cache.hits, cache.misses) == (1, 2)
