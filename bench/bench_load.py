"""A small HTTP load generator (asyncio + httpx), used by ``bench/run.py`` when ``wrk`` is missing
and to probe latency while another load runs. Run it in its own process; it prints one JSON object.

    python bench/bench_load.py URL [--method POST] [--form k=v ...] [--header 'K: V' ...]
                               [--concurrency 50] [--duration 10] [--interval-ms 0]

Each of ``--concurrency`` workers sends requests back to back (or every ``--interval-ms``) on its
own keep-alive connection until ``--duration`` seconds have passed; the run always ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def load(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    concurrency: int = 50,
    duration: float = 10.0,
    interval: float = 0.0,
    timeout: float = 60.0,
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    deadline = started + duration

    async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=headers) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    response = await client.request(method, url, data=form)
                    statuses[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if interval:
                    await asyncio.sleep(interval)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    elapsed = time.perf_counter() - started
    latencies.sort()
    ok = sum(n for status, n in statuses.items() if status.startswith("2"))
    return {
        "requests": sum(statuses.values()),
        "ok": ok,
        "statuses": dict(statuses),
        "seconds": elapsed,
        "rps": ok / elapsed if elapsed else 0.0,
        "latency_ms": {
            "p50": percentile(latencies, 0.50) * 1000,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "max": (latencies[-1] if latencies else float("nan")) * 1000,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--form", action="append", default=[], help="key=value (form body)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--interval-ms", type=float, default=0.0)
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    form = dict(f.split("=", 1) for f in args.form) or None
    result = asyncio.run(
        load(
            args.url,
            method=args.method,
            headers=headers,
            form=form,
            concurrency=args.concurrency,
            duration=args.duration,
            interval=args.interval_ms / 1000,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
