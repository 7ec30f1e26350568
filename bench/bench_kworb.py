"""The Kworb artist search under load, run by hand (never by pytest):

    . .venv/bin/activate && python bench/bench_kworb.py [--duration 10] [--rows 10000]
                                                        [--layout sono|scraper] [--database-url URL]

Generates a charts database whose three charts have ``--rows`` rows each (SQLite in a temporary
directory unless ``--database-url`` names an empty database), in Sono's schema or the scraper's
layout, then serves the real application (``bench_app``: one uvicorn worker, rate limits off) with
``KWORB_DATABASE_URL`` pointing at it and measures, in requests per second:

- ``GET /api/v1/kworb/artist/drake``: an exact match ranked far down, eleven partial matches;
- ``GET /api/v1/kworb/artist/zzz``: no match at all (every row of the three charts is looked at);
- ``GET /bench/bare``: the same JSON as the first, from memory, through the same app and server.

The bare route is measured before and after (the machine's speed drifts). ``wrk`` is the load
generator when installed, else ``bench/bench_load.py``. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from run import BENCH_DIR, clean_env, free_port, measure_get, running, wrk_available

from sono.adapters.charts.engines import writer_engine
from sono.adapters.charts.writer import SqlChartsWriter
from sono.application.charts import ChartSnapshot
from sono.config import load_settings
from sono.domain.charts import MonthlyListeners, Song, StreamedArtist

SEARCHED = "drake"
MISSING = "zzz"
WORDS = [
    "Lil", "Big", "Young", "Old", "Saint", "DJ", "MC", "The", "Los", "Las", "Black", "White",
    "Blue", "Red", "Golden", "Silver", "North", "South", "Royal", "Wild", "Lost", "Echo", "Nova", "Luna",
    "Sol", "Rio", "Bay", "City", "Kings", "Queens", "Boys", "Girls", "Band", "Crew", "Club", "Gang",
    "Project", "Sound", "Beats", "Waves",
]  # fmt: skip


def artist_names(count: int) -> list[str]:
    """``count`` distinct made-up names, with "Drake" at rank 4000 (or the last) and eleven names
    containing it spread over the chart."""
    rng = random.Random(7)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = " ".join(rng.sample(WORDS, rng.randint(1, 3))) + f" {rng.randint(1, 999)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    for i, rank in enumerate(range(150, count, max(1, count // 11))):
        names[rank - 1] = f"Drake Cover Band {i}" if i % 2 else f"Drakeo {i}"
    names[min(count, 4000) - 1] = "Drake"
    return names


def snapshot(rows: int) -> ChartSnapshot:
    names = artist_names(rows)
    streams = sorted((random.Random(1).randint(10**6, 10**11) for _ in range(rows)), reverse=True)
    return ChartSnapshot(
        scraped_at=datetime.now(UTC).replace(microsecond=0),
        top_streamed=[
            StreamedArtist(rank, name, streams[rank - 1], streams[rank - 1] // 3000, streams[rank - 1] // 2, 0, 0)
            for rank, name in enumerate(names, start=1)
        ],
        monthly_listeners=[
            MonthlyListeners(rank, name, streams[rank - 1] // 1000, streams[rank - 1] // 900, None)
            for rank, name in enumerate(names, start=1)
        ],
        top_songs=[
            Song(rank, f"Song {rank}", name, streams[rank - 1], streams[rank - 1] // 3000)
            for rank, name in enumerate(reversed(names), start=1)
        ],
    )


async def write_charts(url: str, rows: int, layout: str) -> None:
    data = snapshot(rows)
    if layout == "sono":
        writer = SqlChartsWriter.from_url(url)
        try:
            await writer.replace(data)
        finally:
            await writer.aclose()
        return
    from sqlalchemy import text

    engine = writer_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    'CREATE TABLE spotify_top_streamed_artists ("Rank" BIGINT, "Artist" TEXT, "Streams" TEXT,'
                    ' "Daily" TEXT, "As lead" TEXT, "Solo" TEXT, "As feature" TEXT)'
                )
            )
            await connection.execute(
                text("INSERT INTO spotify_top_streamed_artists VALUES (:r, :a, :s, :d, :l, :o, :f)"),
                [
                    {
                        "r": x.rank,
                        "a": x.artist,
                        "s": f"{x.streams:,}",
                        "d": f"{x.daily:,}",
                        "l": "1",
                        "o": "0",
                        "f": "0",
                    }
                    for x in data.top_streamed
                ],
            )
            await connection.execute(
                text(
                    'CREATE TABLE spotify_artist_monthly_listeners ("Rank" BIGINT, "Artist" TEXT, "Listeners" TEXT,'
                    ' "Peak" BIGINT, "PkListeners" TEXT)'
                )
            )
            await connection.execute(
                text("INSERT INTO spotify_artist_monthly_listeners VALUES (:r, :a, :l, 1, :p)"),
                [
                    {"r": x.rank, "a": x.artist, "l": f"{x.listeners:,}", "p": f"{x.peak:,}"}
                    for x in data.monthly_listeners
                ],
            )
            await connection.execute(
                text(
                    'CREATE TABLE spotify_top_song_streams ("Rank" BIGINT, "Artist and Title" TEXT, "Streams" TEXT,'
                    ' "Daily" TEXT)'
                )
            )
            await connection.execute(
                text("INSERT INTO spotify_top_song_streams VALUES (:r, :t, :s, :d)"),
                [
                    {"r": x.rank, "t": f"{x.artist} - {x.title}", "s": f"{x.streams:,}", "d": f"{x.daily:,}"}
                    for x in data.top_songs
                ],
            )
    finally:
        await engine.dispose()


def describe(result: dict[str, Any]) -> str:
    text = f"{result['rps']:8.1f} req/s"
    if result.get("p99_ms") is not None:
        text += f"  (p99 {result['p99_ms']:.1f} ms)"
    if result["non_2xx"]:
        text += f"  [{result['non_2xx']} non-2xx]"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per chart (default 10000)")
    parser.add_argument("--layout", choices=("sono", "scraper"), default="sono")
    parser.add_argument("--database-url", help="an empty charts database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sono-bench-kworb-"))
    charts_url = args.database_url or f"sqlite:///{work / 'kworb.db'}"
    settings = load_settings({"SONO_DATA_DIR": str(work / "data"), "KWORB_DATABASE_URL": charts_url})
    assert settings.kworb_database_url is not None
    asyncio.run(write_charts(settings.kworb_database_url, args.rows, args.layout))

    bare_file = work / "bare.json"
    env = clean_env(
        SONO_DATA_DIR=str(work / "data"), BENCH_BARE_JSON_FILE=str(bare_file), KWORB_DATABASE_URL=charts_url
    )
    subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    server = [
        sys.executable, "-m", "uvicorn", "bench_app:create", "--factory", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--lifespan", "on",
        "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    with running(server, env, port, work / "server.log") as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        found = client.get(f"/api/v1/kworb/artist/{SEARCHED}")
        found.raise_for_status()
        body = found.json()
        assert body["monthly_listeners"][0]["artist"] == "Drake", body["monthly_listeners"][:1]
        bare_file.write_bytes(found.content)
        assert client.get("/bench/bare").content == found.content
        assert client.get(f"/api/v1/kworb/artist/{MISSING}").json() == {
            "top_streamed": [],
            "monthly_listeners": [],
            "top_songs": [],
        }

        load = {"connections": args.connections, "headers": {}}
        measure_get(f"{url}/api/v1/kworb/artist/{SEARCHED}", duration=min(2.0, args.duration), **load)  # warm-up
        bare_before = measure_get(f"{url}/bench/bare", duration=args.duration, **load)
        search = measure_get(f"{url}/api/v1/kworb/artist/{SEARCHED}", duration=args.duration, **load)
        miss = measure_get(f"{url}/api/v1/kworb/artist/{MISSING}", duration=args.duration, **load)
        bare_after = measure_get(f"{url}/bench/bare", duration=args.duration, **load)
    bare = bare_before | {"rps": (bare_before["rps"] + bare_after["rps"]) / 2}

    generator = "wrk" if wrk_available() else "bench/bench_load.py (httpx)"
    backend = "SQLite" if charts_url.startswith("sqlite") else charts_url.split(":", 1)[0]
    print(
        f"Kworb benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, 1 uvicorn worker, load generator {generator}, charts database {backend}"
        f" ({args.layout} layout, {args.rows} rows per chart), {args.connections} connections"
    )
    print(f"GET /api/v1/kworb/artist/{SEARCHED} ({len(found.content)} bytes): {describe(search)}")
    print(f"GET /api/v1/kworb/artist/{MISSING} (no match):      {describe(miss)}")
    print(
        f"GET /bench/bare (same {len(found.content)} bytes):      {describe(bare)}"
        f"  (mean of {bare_before['rps']:.1f} before and {bare_after['rps']:.1f} after)"
    )
    print(f"search / bare: {search['rps'] / bare['rps']:.2f}; no match / bare: {miss['rps'] / bare['rps']:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
