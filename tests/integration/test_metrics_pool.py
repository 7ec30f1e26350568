"""The database pool in the metrics, on PostgreSQL's pool: connections in use and in overflow,
callers waiting for one, and checkouts that timed out."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sono.adapters.metrics.prometheus import PrometheusMetrics
from sono.adapters.sqlalchemy.engine import MeteredPool, create_engine, meter_pool

pytestmark = pytest.mark.postgres


def gauge(metrics: PrometheusMetrics, name: str) -> float:
    body, _ = metrics.exposition()
    values = [
        s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name and s.labels == {"pool": "main"}
    ]
    return values[0] if values else 0.0


async def until(predicate: object, guard_steps: int = 10_000) -> None:
    """Let the other tasks run until ``predicate()`` holds (a failure guard, not a clock)."""
    for _ in range(guard_steps):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    pytest.fail("the condition never held")


async def test_pool_in_use_overflow_waiting_and_timeouts(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url, poolclass=MeteredPool, pool_size=1, max_overflow=1, pool_timeout=0.2)
    metrics = PrometheusMetrics()
    meter_pool(engine, metrics)
    try:
        first = await engine.connect()
        second = await engine.connect()  # beyond the pool's size: overflow
        await second.execute(text("SELECT 1"))
        assert gauge(metrics, "sono_db_pool_in_use") == 2
        assert gauge(metrics, "sono_db_pool_overflow") == 1

        third = asyncio.create_task(engine.connect().start())
        await until(lambda: gauge(metrics, "sono_db_pool_waiting") == 1)
        await first.close()
        connection = await third
        assert gauge(metrics, "sono_db_pool_waiting") == 0
        assert gauge(metrics, "sono_db_pool_in_use") == 2

        with pytest.raises(sa_exc.TimeoutError):
            await engine.connect()  # both connections are taken: gives up after pool_timeout
        assert gauge(metrics, "sono_db_pool_timeouts_total") == 1
        assert gauge(metrics, "sono_db_pool_waiting") == 0

        await connection.close()
        await second.close()
        assert gauge(metrics, "sono_db_pool_in_use") == 0
    finally:
        await engine.dispose()


async def test_the_engine_sono_builds_is_metered(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    metrics = PrometheusMetrics()
    meter_pool(engine, metrics)
    try:
        assert isinstance(engine.sync_engine.pool, MeteredPool)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            assert gauge(metrics, "sono_db_pool_in_use") == 1
        assert gauge(metrics, "sono_db_pool_in_use") == 0
    finally:
        await engine.dispose()
