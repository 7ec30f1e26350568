"""``sono serve`` with metrics: a scrape of any worker sums what every worker counted, a worker that
stops leaves no live gauge behind, and a new run starts from zero (one worker or several)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_serve import CLEAN_EXIT, Server, base_env, servers, start_server

__all__ = ["servers"]  # the fixture

pytestmark = pytest.mark.slow

TOKEN = "serve-metrics-token-0123456789"
ROUTE = "/api/v1/users/public-key"


def requests_counted(server: Server, route: str = ROUTE) -> float:
    response = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "sono_http_requests_total" and sample.labels.get("route") == route
    )


def fetch(server: Server) -> None:
    # a new connection each time, so the requests spread over the workers
    response = httpx.get(f"{server.url}{ROUTE}", headers={"Connection": "close"}, timeout=10)
    assert response.status_code == 200


def test_the_workers_counts_are_summed_in_one_scrape(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    env = base_env(data, SONO_METRICS_TOKEN=TOKEN, SONO_JOBS_ENABLED="false")
    folder = data / "metrics"
    server = start_server(env, "--workers", "2", log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 401

    sent = 0
    while len(list(folder.glob("counter_*.db"))) < 2:  # until both workers have answered one
        assert sent < 500, "the requests never reached the second worker"
        fetch(server)
        sent += 1
    for _ in range(10):
        fetch(server)
        sent += 1
    assert requests_counted(server) == sent  # whichever worker answers the scrape

    assert server.stop() in CLEAN_EXIT
    assert "Traceback" not in server.output()
    assert list(folder.glob("gauge_live*.db")) == []  # each worker marked itself dead

    # a new run (one worker: uvicorn serves in the parent process) starts from zero
    server = start_server(env, log_dir=tmp_path / "again")
    servers.append(server)
    server.wait_healthy()
    assert requests_counted(server) == 0
    for _ in range(3):
        fetch(server)
    assert requests_counted(server) == 3
    assert server.stop() in CLEAN_EXIT
    assert "Traceback" not in server.output()


def test_without_a_token_there_is_no_metrics_folder_and_no_endpoint(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    server = start_server(base_env(data, SONO_JOBS_ENABLED="false"), log_dir=tmp_path)
    servers.append(server)
    server.wait_healthy()
    response = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 404
    assert not (data / "metrics").exists()
    assert server.stop() in CLEAN_EXIT
