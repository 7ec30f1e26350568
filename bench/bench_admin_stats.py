"""``GET /api/v1/admin/stats`` on a big catalogue, run by hand (never by pytest):

    . .venv/bin/activate && python bench/bench_admin_stats.py \
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres] \
        [--users 100000] [--audio 1000000] [--collections 100000] [--requests 200] [--keep]

Creates a fresh PostgreSQL database (``sono_bench_admin_<random>``; the role must be allowed to
create databases), migrates it, and fills it with SQL alone (``INSERT ... SELECT`` over
``generate_series``: 100,000 users, 1,000,000 audio rows, 100,000 collections by default) with the
counting triggers off (``session_replication_role = replica``: a million row triggers updating 16
counter rows in one transaction would walk ever longer version chains), then recomputes the
counters as migration 0003 does for bulk loads and runs ``VACUUM ANALYZE``. The app is built on
that database exactly as ``sono serve`` builds it and called in-process through ASGI (no network):
an admin logs in, and ``GET /api/v1/admin/stats`` is timed over ``--requests`` sequential requests,
next to the statistics query alone and to
``GET /api/v1/users/me`` (the same authentication and serialisation around a trivial read), all in
one run, so the ratios hold even when the machine's speed drifts. The database is dropped at the
end unless ``--keep``.

``--try-index`` then adds, to the benchmark's database only, a covering index
``audio_files (owner_id) INCLUDE (file_size)`` (which the per-user usage of the admin user list could
use) and times the same requests again, to tell whether such an index would be worth a migration.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.application.accounts.messages import CreateAdmin, Login
from sono.application.common import PasswordInput
from sono.application.messages import ANONYMOUS, Actor
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.http.app import create_app

PASSWORD = "B3nch!Passw0rd"

FILL = (
    (
        "users",
        """
        INSERT INTO users (username, email, password_hash, display_name, is_active, is_superuser,
                           max_audio_uploads, token_version, created_at)
        SELECT 'user' || g, 'user' || g || '@example.com', 'not-a-hash', 'User ' || g,
               g % 10 <> 0, g % 5000 = 0, 20, 0, now() - g * interval '1 minute'
        FROM generate_series(1, $1::int) AS g
        """,
    ),
    (
        "audio_files",
        """
        INSERT INTO audio_files (owner_id, title, original_filename, storage_key, content_type, file_size,
                                 format, duration, bitrate, sample_rate, channels, is_public, upload_date)
        SELECT first.id + (g % $2::int), 'Song ' || g, 'song' || g || '.mp3', 'audio/bench/' || g || '.mp3',
               'audio/mpeg', 1000000 + (g::bigint * 7919) % 9000000, 'mp3', 180 + g % 120, 320000, 44100, 2,
               g % 3 = 0, now() - g * interval '1 second'
        FROM generate_series(1, $1::int) AS g, (SELECT min(id) AS id FROM users) AS first
        """,
    ),
    (
        "collections",
        """
        INSERT INTO collections (owner_id, title, collection_type, artist, is_public, is_collaborative,
                                 created_date)
        SELECT first.id + (g % $2::int), 'Collection ' || g,
               (ARRAY['album', 'playlist', 'compilation'])[1 + g % 3],
               CASE WHEN g % 3 = 0 THEN 'Artist ' || g END, g % 2 = 0, g % 7 = 0, now() - g * interval '1 second'
        FROM generate_series(1, $1::int) AS g, (SELECT min(id) AS id FROM users) AS first
        """,
    ),
)


def _dsn(url: str, database: str | None = None) -> str:
    _, _, rest = url.partition("://")
    if database is not None:
        rest = rest.rsplit("/", 1)[0] + "/" + database
    return f"postgresql://{rest}"


def _refresh_counters() -> str:
    """Migration 0003's statement recomputing the catalogue counters from the tables."""
    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0003_catalogue_counters.py"
    spec = importlib.util.spec_from_file_location("catalogue_counters_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.REFRESH)


async def fill(dsn: str, users: int, audio: int, collections: int) -> dict[str, float]:
    """Rows by SQL alone; the seconds each table took."""
    seconds: dict[str, float] = {}
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET session_replication_role = replica")  # no row triggers
        for table, sql in FILL:
            count = {"users": users, "audio_files": audio, "collections": collections}[table]
            started = time.perf_counter()
            if table == "users":
                await connection.execute(sql, count)
            else:
                await connection.execute(sql, count, users)
            seconds[table] = time.perf_counter() - started
        await connection.execute("RESET session_replication_role")
        started = time.perf_counter()
        await connection.execute(_refresh_counters())
        seconds["counters"] = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("VACUUM ANALYZE")
        seconds["vacuum analyze"] = time.perf_counter() - started
    finally:
        await connection.close()
    return seconds


TRY_INDEX = "CREATE INDEX bench_ix_audio_files_owner_id_file_size ON audio_files (owner_id) INCLUDE (file_size)"


async def timed(call: Callable[[], Awaitable[Any]], requests: int) -> list[float]:
    for _ in range(5):  # warm up: connections, caches, prepared statements
        await call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   min {ordered[0]:7.2f} ms"


async def run(args: argparse.Namespace) -> None:
    name = f"sono_bench_admin_{uuid.uuid4().hex[:10]}"
    server = await asyncpg.connect(_dsn(args.postgres_url))
    await server.execute(f'CREATE DATABASE "{name}"')
    await server.close()
    url = "postgresql+asyncpg://" + _dsn(args.postgres_url, name).partition("://")[2]
    try:
        await upgrade(url)
        print(f"database {name}: {args.users:,} users, {args.audio:,} audio rows, {args.collections:,} collections")
        for table, seconds in (
            await fill(_dsn(args.postgres_url, name), args.users, args.audio, args.collections)
        ).items():
            print(f"  {table:<15} {seconds:6.1f} s")
        with tempfile.TemporaryDirectory() as data_dir:
            await measure(args, url, data_dir)
        if args.try_index:
            connection = await asyncpg.connect(_dsn(args.postgres_url, name))
            try:
                await connection.execute(TRY_INDEX)
                await connection.execute("VACUUM ANALYZE audio_files")
            finally:
                await connection.close()
            print(f"\nwith {TRY_INDEX.removeprefix('CREATE INDEX ')}:")
            with tempfile.TemporaryDirectory() as data_dir:
                await measure(args, url, data_dir, admin="benchadmin2")
    finally:
        if not args.keep:
            server = await asyncpg.connect(_dsn(args.postgres_url))
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await server.close()
        else:
            print(f"kept database {name}")


async def measure(args: argparse.Namespace, url: str, data_dir: str, admin: str = "benchadmin") -> None:
    settings = load_settings(
        {
            "SONO_DATA_DIR": data_dir,
            "SONO_DATABASE_URL": url,
            "SONO_JOBS_ENABLED": "false",
            "SONO_RATE_LIMITS_ENABLED": "false",
            "SONO_LOG_LEVEL": "warning",
            "SONO_ARGON2_MEMORY_KIB": "1024",
            "SONO_ARGON2_TIME_COST": "1",
        }
    )
    container = await build_container(settings)
    try:
        await container.bus(CreateAdmin(admin, f"{admin}@example.com", PasswordInput(PASSWORD)), Actor.operator())
        tokens = await container.bus(Login(admin, PasswordInput(PASSWORD)), ANONYMOUS)
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            first = await client.get("/api/v1/admin/stats", headers=headers)
            assert first.status_code == 200, first.text
            if admin == "benchadmin":
                print("answer:", first.json())

            async def stats() -> None:
                response = await client.get("/api/v1/admin/stats", headers=headers)
                assert response.status_code == 200

            async def me() -> None:
                response = await client.get("/api/v1/users/me", headers=headers)
                assert response.status_code == 200

            async def query() -> None:
                async with container.ports.uow(read_only=True) as uow:
                    await uow.admin_queries.stats()

            over_http = await timed(stats, args.requests)
            statement = await timed(query, args.requests)
            baseline = await timed(me, args.requests)
    finally:
        await container.aclose()
    print(f"\n{args.requests} sequential requests each, one process, {os.cpu_count()} CPUs")
    print(f"GET /api/v1/admin/stats      {summary(over_http)}")
    print(f"  the statistics query      {summary(statement)}")
    print(f"GET /api/v1/users/me         {summary(baseline)}")
    ratio = statistics.median(over_http) / statistics.median(baseline)
    share = statistics.median(statement) / statistics.median(over_http)
    print(f"stats / users/me (medians): {ratio:.1f}; the statement's share of a stats request: {share:.0%}")
    print(f"goal: under 50 ms per request -> {'met' if statistics.median(over_http) < 50 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SONO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server whose role may create databases",
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--audio", type=int, default=1_000_000)
    parser.add_argument("--collections", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--try-index", action="store_true", help="measure again with a covering index on file_size")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
