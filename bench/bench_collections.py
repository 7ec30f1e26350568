"""Collections benchmarks, run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_collections.py [--duration 10] [--database-url URL]

On a seeded database (200 public collections of 10 tracks, each shared with two collaborators, and
one collection of 100 tracks), with one uvicorn worker and rate limits off (``bench/bench_app.py``):

(a) ``GET /api/v1/collections/?public_only=true&limit=20`` against ``GET /bench/bare`` answering
    the same bytes from memory in the same server (the ceiling): requests per second and the ratio
    (goal: at least 1/4), and the SQL statements one request runs (counted in-process on the app's
    engine).
(b) ``GET /api/v1/collections/{id}`` of the 100-track collection, likewise.
(c) 100 concurrent ``PUT .../tracks/{id}/reorder`` on that collection, three rounds: reorders per
    second, and whether the positions are still 1..n afterwards.

SQLite on a temporary data directory unless ``--database-url`` is given (an empty database: it is
migrated and seeded). ``wrk`` is the load generator when installed, else ``bench/bench_load.py``.
The report is printed and written to ``bench/results/collections.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from run import BENCH_DIR, clean_env, free_port, measure_get, running, wrk_available
from sqlalchemy import event

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection, CollectionType, Permission
from sono.domain.users import User
from sono.entrypoints.http.app import create_app

RESULTS = BENCH_DIR / "results" / "collections.txt"
USERNAME, EMAIL, PASSWORD = "bench", "bench@example.com", "B3nch!Passw0rd"
COLLECTIONS, TRACKS, OWNERS, FILES = 200, 10, 20, 200
BIG = 100
REORDERS, ROUNDS = 100, 3
LIST = "/api/v1/collections/?public_only=true&limit=20"


# --------------------------------------------------------------------------- seeding


async def seed(database_url: str, bench_user_id: int) -> int:
    """200 public collections of 10 tracks (20 owners, two collaborators each) and the bench
    user's collection of 100 tracks; the latter's id."""
    engine = create_engine(database_url)
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        uows = SqlUnitOfWorkFactory(engine)
        async with uows() as uow:
            owners = [
                await uow.users.add(
                    User(f"owner{i}", f"owner{i}@example.com", "x", display_name=f"Owner {i}", created_at=start)
                )
                for i in range(OWNERS)
            ]
            friends = [
                await uow.users.add(User(f"friend{i}", f"friend{i}@example.com", "x", created_at=start))
                for i in range(2)
            ]
            files = [
                await uow.audio_files.add(
                    AudioFile(
                        owners[i % OWNERS].id,  # type: ignore[arg-type]
                        f"Song {i}", f"song{i}.mp3", f"audio/{owners[i % OWNERS].id}/song{i}.mp3", "audio/mpeg",
                        4_000_000, "mp3", duration=180.0 + i, bitrate=192_000, is_public=True, upload_date=start,
                    )
                )
                for i in range(FILES)
            ]  # fmt: skip
            for i in range(COLLECTIONS):
                owner = owners[i % OWNERS]
                collection = await uow.collections.add(
                    Collection(
                        owner.id,  # type: ignore[arg-type]
                        f"Collection {i}",
                        CollectionType.PLAYLIST if i % 3 else CollectionType.ALBUM,
                        description="A seeded collection",
                        artist="Artist",
                        is_public=True,
                        is_collaborative=True,
                        created_date=start + timedelta(minutes=i),
                        updated_date=start + timedelta(minutes=i),
                    )
                )
                picked = rng.sample(files, TRACKS)
                collection.add_tracks([f.id for f in picked], now=start, added_by_id=owner.id)  # type: ignore[misc]
                for friend in friends:
                    collection.add_collaborator(friend.id, Permission.VIEW, now=start, added_by_id=owner.id)  # type: ignore[arg-type]
                await uow.collections.save(collection)
            big = await uow.collections.add(
                Collection(
                    bench_user_id,
                    "Big",
                    CollectionType.PLAYLIST,
                    is_public=True,
                    created_date=start,
                    updated_date=start,
                )
            )
            big.add_tracks([f.id for f in files[:BIG]], now=start, added_by_id=bench_user_id)  # type: ignore[misc]
            await uow.collections.save(big)
            await uow.commit()
        assert big.id is not None
        return big.id
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- statements per request


async def statements_per_request(env: dict[str, str], paths: list[str], headers: dict[str, str]) -> dict[str, int]:
    """Each path requested twice in-process (ASGI); the statements of the second request (on the
    app's engine and on the fast reads' connection: the caller's session, the lists)."""
    settings = load_settings({k: v for k, v in env.items() if k.startswith("SONO_")})
    container = await build_container(settings)
    counts: dict[str, int] = {}
    try:
        app = create_app(settings, container=container, run_jobs=False)
        engine = container.ports.uow.engine.sync_engine  # type: ignore[attr-defined]
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for path in paths:
                (await client.get(path, headers=headers)).raise_for_status()
                event.listen(engine, "before_cursor_execute", record)
                stop = container.ports.collection_catalog.listen(statements.append)  # type: ignore[attr-defined]
                statements.clear()
                (await client.get(path, headers=headers)).raise_for_status()
                event.remove(engine, "before_cursor_execute", record)
                stop()
                counts[path] = len([s for s in statements if "maintenance_state" not in s])
    finally:
        await container.aclose()
    return counts


# --------------------------------------------------------------------------- reorders


async def concurrent_reorders(url: str, collection_id: int, auth: dict[str, str]) -> dict[str, Any]:
    # Idle connections are dropped by the client before uvicorn's 5 s keep-alive ends them: a request
    # sent on a connection the server is closing at that moment fails with a reset (ReadError).
    limits = httpx.Limits(max_connections=REORDERS, max_keepalive_connections=REORDERS, keepalive_expiry=2.0)
    rng = random.Random(3)
    async with httpx.AsyncClient(base_url=url, headers=auth, limits=limits, timeout=120) as client:
        detail = (await client.get(f"/api/v1/collections/{collection_id}")).json()
        track_ids = [t["id"] for t in detail["tracks"]]
        statuses: dict[int, int] = {}
        rates = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            responses = await asyncio.gather(
                *(
                    client.put(
                        f"/api/v1/collections/{collection_id}/tracks/{rng.choice(track_ids)}/reorder",
                        json={"new_order": rng.randint(1, BIG)},
                    )
                    for _ in range(REORDERS)
                )
            )
            rates.append(REORDERS / (time.perf_counter() - started))
            for response in responses:
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        after = (await client.get(f"/api/v1/collections/{collection_id}")).json()["tracks"]
    positions = [t["track_order"] for t in after]
    return {
        "rates": rates,
        "statuses": statuses,
        "contiguous": positions == list(range(1, len(after) + 1)),
        "same_tracks": sorted(t["id"] for t in after) == sorted(track_ids),
    }


# --------------------------------------------------------------------------- the benchmark


@asynccontextmanager
async def server(env: dict[str, str], work: Path, name: str) -> AsyncIterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "bench_app:create", "--factory", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--lifespan", "on",
        "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    with running(command, env, port, work / f"{name}.log") as (url, _):
        yield url


def bracketed(
    url: str, path: str, bare_file: Path, body: bytes, *, duration: float, connections: int, headers: dict[str, str]
) -> dict[str, Any]:
    """The route's req/s between two runs of the bare route serving the same bytes."""
    bare_file.write_bytes(body)
    with httpx.Client(base_url=url) as client:
        assert client.get("/bench/bare").content == body
    load = {"connections": connections, "headers": headers}
    measure_get(f"{url}{path}", duration=min(2.0, duration), **load)  # warm-up
    before = measure_get(f"{url}/bench/bare", duration=duration, **load)
    route = measure_get(f"{url}{path}", duration=duration, **load)
    after = measure_get(f"{url}/bench/bare", duration=duration, **load)
    bare = (before["rps"] + after["rps"]) / 2
    return {"route": route, "bare": bare, "before": before["rps"], "after": after["rps"], "ratio": route["rps"] / bare}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="connections for (a) and (b) (default 50)")
    parser.add_argument("--database-url", help="an empty database; default: SQLite in a temporary data directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sono-bench-collections-"))
    lines: list[str] = []

    def report(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    extra = {"SONO_DATA_DIR": str(work / "data"), "SONO_PUBLIC_URL": "http://127.0.0.1"}
    if args.database_url:
        extra["SONO_DATABASE_URL"] = args.database_url
    env = clean_env(**extra)
    subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], env=env, check=True, capture_output=True)
    database_url = load_settings({k: v for k, v in env.items() if k.startswith("SONO_")}).database_url
    generator = "wrk" if wrk_available() else "bench/bench_load.py (httpx)"
    report(
        f"Sono collections benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, 1 uvicorn worker, "
        f"load generator {generator}, database {'SQLite' if not args.database_url else 'PostgreSQL'}, "
        f"{args.connections} connections, {args.duration:g} s per measurement"
    )

    bare_file = work / "bare.json"
    env["BENCH_BARE_JSON_FILE"] = str(bare_file)
    results: dict[str, Any] = {}
    for name in ("list", "detail"):
        async with server(env, work, name) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                if name == "list":
                    made = await client.post(
                        "/api/v1/users/", json={"username": USERNAME, "email": EMAIL, "password": PASSWORD}
                    )
                    made.raise_for_status()
                    big = await seed(database_url, made.json()["id"])
                login = await client.post("/api/v1/users/token", data={"username": USERNAME, "password": PASSWORD})
                auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
                path = LIST if name == "list" else f"/api/v1/collections/{big}"
                body = (await client.get(path, headers=auth)).content
            results[name] = await asyncio.to_thread(
                bracketed,
                url,
                path,
                bare_file,
                body,
                duration=args.duration,
                connections=args.connections,
                headers=auth,
            )
            results[name]["bytes"] = len(body)
            results[name]["path"] = path
            if name == "detail":
                results["reorders"] = await concurrent_reorders(url, big, auth)
    results["statements"] = await statements_per_request(
        env, [results["list"]["path"], results["detail"]["path"]], auth
    )

    def describe(result: dict[str, Any]) -> str:
        text = f"{result['rps']:8.1f} req/s"
        if result.get("p99_ms") is not None:
            text += f"  (p99 {result['p99_ms']:.1f} ms)"
        if result["non_2xx"]:
            text += f"  [{result['non_2xx']} non-2xx]"
        return text

    for label, name in (("(a)", "list"), ("(b)", "detail")):
        r = results[name]
        report(f"{label} GET {r['path']} ({r['bytes']} bytes): {describe(r['route'])}")
        report(
            f"    GET /bench/bare, the same bytes: {r['bare']:8.1f} req/s"
            f"  (mean of {r['before']:.1f} before and {r['after']:.1f} after)"
        )
        report(
            f"    ratio: {r['ratio']:.2f} (goal: at least 0.25);"
            f" SQL statements per request: {results['statements'][r['path']]}"
        )
    reorders = results["reorders"]
    rates = ", ".join(f"{rate:.1f}" for rate in reorders["rates"])
    report(
        f"(c) {REORDERS} concurrent reorders on the {BIG}-track collection, {ROUNDS} rounds: {rates} reorders/s; "
        f"statuses {reorders['statuses']}; positions 1..n afterwards: {reorders['contiguous']}, "
        f"same tracks: {reorders['same_tracks']}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
