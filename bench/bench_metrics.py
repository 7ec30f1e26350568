"""What metrics cost per request, run by hand (never by pytest):

    . .venv/bin/activate && python bench/bench_metrics.py [--requests 2000] [--rounds 5]

The same app on SQLite in a temporary data dir, with and without ``SONO_METRICS_TOKEN``, called in
process (httpx's ASGI transport, no sockets): CPU time per request of ``GET /api/v1/users/me`` (a
signed-in read: authentication, the maintenance check, one use case) and of the cheapest route
(``GET /api/v1/users/public-key``), rounds alternating between the two apps, medians reported; then
the CPU time of one scrape of ``/metrics`` once every route has been called.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.application.accounts.messages import Register
from sono.application.common import PasswordInput
from sono.application.messages import ANONYMOUS
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app

TOKEN = "bench-metrics-token-0123456789"
PASSWORD = "B3nch!Passw0rd"


async def make(data_dir: Path, metrics: bool) -> tuple[httpx.AsyncClient, dict[str, str], object]:
    env = {
        "SONO_DATA_DIR": str(data_dir),
        "SONO_JOBS_ENABLED": "false",
        "SONO_RATE_LIMITS_ENABLED": "false",
        "SONO_ARGON2_MEMORY_KIB": "1024",
        "SONO_ARGON2_TIME_COST": "1",
    }
    if metrics:
        env["SONO_METRICS_TOKEN"] = TOKEN
    settings = load_settings(env)
    await upgrade(settings.database_url)
    container = await build_container(settings)
    await container.bus(Register("bench", "bench@example.com", PasswordInput(PASSWORD)), ANONYMOUS)
    app = create_app(settings, container=container)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bench.local")  # type: ignore[arg-type]
    tokens = (await client.post("/api/v1/users/token", data={"username": "bench", "password": PASSWORD})).json()
    return client, {"Authorization": f"Bearer {tokens['access_token']}"}, container


async def per_request(client: httpx.AsyncClient, path: str, headers: dict[str, str], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
    return (time.process_time() - started) / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, plain_auth, plain_container = await make(Path(tmp) / "plain", metrics=False)
        counted, counted_auth, counted_container = await make(Path(tmp) / "counted", metrics=True)
        results: dict[tuple[str, bool], list[float]] = {}
        for path in ("/api/v1/users/me", "/api/v1/users/public-key"):
            for client, headers in ((plain, plain_auth), (counted, counted_auth)):
                await per_request(client, path, headers, 100)  # warm up
            for _ in range(args.rounds):
                for on, client, headers in ((False, plain, plain_auth), (True, counted, counted_auth)):
                    results.setdefault((path, on), []).append(await per_request(client, path, headers, args.requests))
        scrape_started = time.process_time()
        body = (await counted.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).content
        scrape_us = (time.process_time() - scrape_started) * 1e6
        for path in ("/api/v1/users/me", "/api/v1/users/public-key"):
            off = statistics.median(results[(path, False)])
            on = statistics.median(results[(path, True)])
            print(f"GET {path}: {off:.0f} us CPU without metrics, {on:.0f} us with (+{on - off:.0f} us)")
        print(f"one scrape: {scrape_us:.0f} us CPU, {len(body)} bytes")
        for client in (plain, counted):
            await client.aclose()
        for container in (plain_container, counted_container):
            await container.aclose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(main())
