"""The log context outside HTTP requests: each run of the API's periodic jobs gets a request id of
its own on every line it causes (a command's is tested with the CLI as a real process)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from sono.application.delivery.messages import ClaimDeliveries
from sono.application.jobs import RunDueJobs
from sono.application.messages import Actor, Message
from sono.entrypoints.logs import install_log_context
from sono.entrypoints.worker import Worker


async def test_each_periodic_job_run_has_its_own_request_id(caplog: pytest.LogCaptureFixture) -> None:
    install_log_context()
    runs = 0
    job_log = logging.getLogger("sono.application.jobs.test")

    async def bus(message: Message[Any], actor: Actor) -> Any:
        nonlocal runs
        if isinstance(message, ClaimDeliveries):
            return []
        assert isinstance(message, RunDueJobs) and actor == Actor.worker()
        runs += 1
        job_log.info("purging, run %d", runs)
        job_log.info("purged, run %d", runs)
        return "report"

    async def sleep(seconds: float) -> None:
        if runs == 2:
            worker.stop()

    container: Any = SimpleNamespace(
        bus=bus, ports=SimpleNamespace(clock=SimpleNamespace(sleep=sleep), metrics=SimpleNamespace(enabled=False))
    )
    worker = Worker(container, poll_seconds=0.01, jobs_interval_seconds=60)
    caplog.set_level(logging.INFO, logger="sono.application.jobs.test")
    await worker.run()

    records = [r for r in caplog.records if r.name == "sono.application.jobs.test"]
    assert len(records) == 4
    first, second = {r.request_id for r in records[:2]}, {r.request_id for r in records[2:]}  # type: ignore[attr-defined]
    assert len(first) == 1 and len(second) == 1 and first != second
    assert "-" not in first | second
    assert {r.route for r in records} == {"jobs run-due"}  # type: ignore[attr-defined]
