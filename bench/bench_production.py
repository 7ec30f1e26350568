"""The production-shape benchmark (issue 13), run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_production.py [--database postgres|sqlite|both]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/7]
        [--duration 10] [--rounds 2] [--connections 32] [--threads 2]

``--database postgres`` (the default) is the production shape: a fresh PostgreSQL database
(``sono_bench_<random>``, created on the server of ``--postgres-url``, whose role must be allowed to
create databases, and dropped at the end), media on S3 (a moto server on loopback, in this process),
Redis (``--redis-url``; with rate limits off nothing is written there, it is only pinged).
``--database sqlite`` runs the same on SQLite and local storage, without S3 or Redis; ``both`` runs
one after the other. Each starts one uvicorn worker of ``bench_app:create`` (the app and, beside it,
one bare route per measured endpoint answering the same bytes from memory), rate limits off, and
seeds it through the JSON API alone:

- 50 users, each with 20 audio files (1 s silent WAVs, 16 KB); the even-numbered ten of each user are
  public, the odd-numbered ten private (500 public files, 500 private);
- 4 public playlists (of the first four users) of 10 tracks each: 8 public files of other users and
  2 of the owner's private files (a private file in a collection is shared with its audience).

Then, with ``wrk -t2 -c32`` (``bench/bench_load.py`` when wrk is missing), ``--rounds`` rounds of,
for each endpoint, the endpoint and its bare route one after the other (the bare route first in
odd rounds, last in even ones, so a drifting machine favours neither):

- ``GET /api/v1/audio/public?limit=20`` (anonymous),
- ``GET /api/v1/collections/?public_only=true&limit=20`` (anonymous),
- ``GET /api/v1/users/me`` (the bearer token of the first user, sent to the bare route too).

It reports requests/s, p99 and the ratio to the bare route per round; whether two requests of each
endpoint answered the same bytes (a sanity check: nothing in them should change between requests);
and the SQL statements one request of each runs, counted in this process on the same database, on
a container built from the same settings (its engine's ``before_cursor_execute`` and the fast reads'
listener), for the first request and a repeated one; the maintenance switch's reads (at most one a
second per process, they come and go with time, not with the request) are left out, as the tests
count. The report is printed and written to ``bench/results/production.txt``, one section per
database (a run replaces its own section). Everything runs on 127.0.0.1, ends by itself, and stops
its processes and drops its database on failure or interruption too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_audio import small_wav
from run import BENCH_DIR, clean_env, free_port, measure_get, running, wrk_available
from sqlalchemy import event

RESULTS = BENCH_DIR / "results" / "production.txt"
PASSWORD = "B3nch!Passw0rd"
USERS, FILES_PER_USER = 50, 20
PLAYLISTS, PUBLIC_TRACKS, PRIVATE_TRACKS = 4, 8, 2
SEED_CONCURRENCY = 8
LIMITS = (1, 5, 100)  # page sizes besides 20 whose statements are counted too
BUCKET = "sono-bench"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Endpoint:
    name: str  # also the bare route's: /bench/bare/<name>
    path: str
    signed_in: bool
    goal: float  # the ratio to the bare route issue 13 asks for (on PostgreSQL + S3)


ENDPOINTS = (
    Endpoint("audio-public", "/api/v1/audio/public?limit=20", False, 0.25),
    Endpoint("collections-public", "/api/v1/collections/?public_only=true&limit=20", False, 0.25),
    Endpoint("users-me", "/api/v1/users/me", True, 0.5),
)


@dataclass
class Measured:
    endpoint: Endpoint
    body: bytes = b""
    identical: bool = False
    difference: str = ""
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (route, bare)
    statements: tuple[list[str], list[str]] = ([], [])  # (first request, repeated request)
    by_page_size: dict[int, int] = field(default_factory=dict)  # a repeated request's statements


# --------------------------------------------------------------------------- services


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """``postgresql://...`` for asyncpg, on ``database`` instead of the URL's own when given."""
    _, _, rest = url.partition("://")
    if database is not None:
        rest, _, query = rest.partition("?")
        rest = rest.rsplit("/", 1)[0] + "/" + database + (f"?{query}" if query else "")
    return f"postgresql://{rest}"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of ``server_url``, dropped afterwards; its URL."""
    import asyncpg

    name = f"sono_bench_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(server_url), timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield asyncpg_dsn(server_url, name)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def moto_s3() -> Iterator[str]:
    """An S3 service on loopback (moto, in threads of this process); its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    finally:
        client.close()


def loopback_only(url: str, what: str) -> None:
    host = httpx.URL(url.replace("postgresql://", "http://", 1).replace("redis://", "http://", 1)).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"error: {what} must be on loopback, not {host}")


# --------------------------------------------------------------------------- seeding


async def seed(url: str) -> dict[str, Any]:
    """Users, files and playlists through the JSON API; the first user's bearer header and counts."""
    limits = httpx.Limits(max_connections=SEED_CONCURRENCY, max_keepalive_connections=SEED_CONCURRENCY)
    wav = small_wav()
    gate = asyncio.Semaphore(SEED_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False) as client:

        async def expect(response: httpx.Response, status: int) -> Any:
            if response.status_code != status:
                raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                                   f"{response.status_code} {response.text[:300]}")  # fmt: skip
            return response.json()

        async def user(n: int) -> dict[str, str]:
            name = f"user{n:02d}"
            async with gate:
                await expect(
                    await client.post(
                        "/api/v1/users/",
                        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD,
                              "display_name": f"User {n}"},
                    ),
                    201,
                )  # fmt: skip
                tokens = await expect(
                    await client.post("/api/v1/users/token", data={"username": name, "password": PASSWORD}), 200
                )
            return {"Authorization": f"Bearer {tokens['access_token']}"}

        auths = await asyncio.gather(*(user(n) for n in range(USERS)))

        async def upload(n: int, i: int) -> tuple[int, int, bool]:
            public = i % 2 == 0
            form = {"title": f"Song {n}-{i}", "is_public": "true" if public else "false"}
            if i % 4 < 2:  # half of them with the tags a release carries
                form |= {"artist": f"Artist {n % 10}", "album": f"Album {n}", "track_number": str(i + 1),
                         "year": str(2000 + n % 25), "genre": ("Rock", "Jazz", "Pop")[n % 3]}  # fmt: skip
            async with gate:
                made = await expect(
                    await client.post(
                        "/api/v1/audio/upload",
                        headers=auths[n],
                        files={"file": (f"song-{n}-{i}.wav", wav, "audio/wav")},
                        data=form,
                    ),
                    201,
                )
            return n, made["id"], public

        files = await asyncio.gather(*(upload(n, i) for n in range(USERS) for i in range(FILES_PER_USER)))
        public_files = [(owner, id_) for owner, id_, public in files if public]
        for k in range(PLAYLISTS):
            collection = await expect(
                await client.post(
                    "/api/v1/collections/",
                    headers=auths[k],
                    json={"title": f"Playlist {k}", "collection_type": "playlist", "is_public": True,
                          "description": f"Seeded playlist {k}"},
                ),
                201,
            )  # fmt: skip
            others = [id_ for owner, id_ in public_files if owner != k][k * PUBLIC_TRACKS : (k + 1) * PUBLIC_TRACKS]
            own_private = [id_ for owner, id_, public in files if owner == k and not public][:PRIVATE_TRACKS]
            await expect(
                await client.post(
                    f"/api/v1/collections/{collection['id']}/tracks/bulk-add",
                    headers=auths[k],
                    json={"audio_file_ids": others + own_private},
                ),
                201,
            )
    return {"auth": auths[0], "files": len(files), "public": len(public_files)}


# --------------------------------------------------------------------------- statements


def page_sizes(endpoint: Endpoint) -> dict[int, str]:
    """The paths of a list endpoint at other page sizes (none for the others)."""
    if "limit=20" not in endpoint.path:
        return {}
    return {limit: endpoint.path.replace("limit=20", f"limit={limit}") for limit in LIMITS}


async def count_statements(env: dict[str, str], auth: dict[str, str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each endpoint, and each list at other page sizes, requested twice in this process (ASGI) on
    a container built from the server's settings: the statements of each request by path, on the
    app's engine and on the fast reads."""
    from sono.bootstrap import build_container
    from sono.config import load_settings
    from sono.entrypoints.http.app import create_app

    settings = load_settings({k: v for k, v in env.items() if k.startswith("SONO_")})
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container, run_jobs=False)
        engine = container.ports.uow.engine.sync_engine  # type: ignore[attr-defined]
        statements: list[str] = []
        begun: dict[int, str] = {}  # a BEGIN per connection, held until what it begins is known

        def record(statement: str) -> None:
            if "maintenance_state" not in statement:
                statements.append(statement)

        def record_cursor(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("BEGIN"):
                begun[id(conn)] = statement
                return
            begin = begun.pop(id(conn), None)
            if begin is not None and "maintenance_state" not in statement:
                statements.append(begin)
            record(statement)

        # The fast reads (session lookups, the lists) run outside the engine; the catalogs listen
        # on them. One listener per reads object, or a shared one would count each statement twice.
        catalogs = [c for c in (container.ports.audio_catalog, container.ports.collection_catalog) if c is not None]
        readers = {id(getattr(c, "_reads", c)): c for c in catalogs}
        counts: dict[str, tuple[list[str], list[str]]] = {}
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get("/health")
            paths = [(e, path) for e in ENDPOINTS for path in (e.path, *page_sizes(e).values())]
            for endpoint, path in paths:
                headers = auth if endpoint.signed_in else {}
                seen: list[list[str]] = []
                for _ in range(2):
                    statements.clear()
                    event.listen(engine, "before_cursor_execute", record_cursor)
                    stops = [c.listen(record) for c in readers.values()]  # type: ignore[attr-defined]
                    try:
                        response = await client.get(path, headers=headers)
                    finally:
                        event.remove(engine, "before_cursor_execute", record_cursor)
                        for stop in stops:
                            stop()
                        statements.extend(begun.values())
                        begun.clear()
                    if response.status_code != 200:
                        raise RuntimeError(f"in-process {path}: {response.status_code} {response.text[:300]}")
                    seen.append(list(statements))
                counts[path] = (seen[0], seen[1])
        return counts
    finally:
        await container.aclose()


# --------------------------------------------------------------------------- one database


def first_difference(a: bytes, b: bytes) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    near = slice(max(0, at - 40), at + 40)
    return f"sizes {len(a)} and {len(b)}, first difference at byte {at}: {a[near]!r} / {b[near]!r}"


def bench_database(args: argparse.Namespace, database: str) -> list[Measured]:
    work = Path(tempfile.mkdtemp(prefix=f"sono-bench-production-{database}-"))
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    bare_dir = work / "bare"
    bare_dir.mkdir()
    extra = {
        "SONO_DATA_DIR": str(work / "data"),
        "SONO_PUBLIC_URL": url,
        "BENCH_BARE_DIR": str(bare_dir),
        "BENCH_BARE_NAMES": ",".join(e.name for e in ENDPOINTS),
        # botocore and httpx honour proxy variables: keep every connection on loopback direct
        "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), LOOPBACK, "localhost"])),
        "no_proxy": ",".join(filter(None, [os.environ.get("no_proxy"), LOOPBACK, "localhost"])),
    }
    failed = True
    with ExitStack() as stack:
        try:
            if database == "postgres":
                check_redis(args.redis_url)
                extra["SONO_DATABASE_URL"] = stack.enter_context(postgres_database(args.postgres_url))
                extra["SONO_REDIS_URL"] = args.redis_url
                endpoint_url = stack.enter_context(moto_s3())
                extra |= {
                    "SONO_STORAGE": "s3",
                    "SONO_S3_ENDPOINT_URL": endpoint_url,
                    "SONO_S3_BUCKET": BUCKET,
                    "SONO_S3_ACCESS_KEY": "bench",
                    "SONO_S3_SECRET_KEY": "bench-secret",
                    "SONO_S3_REGION": "us-east-1",
                }
            env = clean_env(**extra)
            for name in ("NO_PROXY", "no_proxy"):
                os.environ[name] = extra[name]  # for this process's S3 client (moto, the statement count)
            migrated = subprocess.run(
                [sys.executable, "-m", "sono", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300
            )
            if migrated.returncode != 0:
                raise RuntimeError(f"sono db upgrade failed: {migrated.stderr[-2000:]}")
            server = [
                sys.executable, "-m", "uvicorn", "bench_app:create", "--factory", "--app-dir", str(BENCH_DIR),
                "--host", LOOPBACK, "--port", str(port), "--workers", "1", "--lifespan", "on",
                "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
            ]  # fmt: skip
            results = measure_server(args, server, env, port, work, bare_dir)
            counts = asyncio.run(count_statements(env, results["auth"]))
            measured: list[Measured] = results["measured"]
            for m in measured:
                m.statements = counts[m.endpoint.path]
                m.by_page_size = {limit: len(counts[path][1]) for limit, path in page_sizes(m.endpoint).items()}
                if m.by_page_size:
                    m.by_page_size[20] = len(m.statements[1])
            failed = False
            return measured
        finally:
            if failed:
                log = work / "server.log"
                if log.exists():
                    tail = log.read_text(errors="replace")[-4000:]
                    print(f"--- server log (last 4000 characters) ---\n{tail}", file=sys.stderr)
            shutil.rmtree(work, ignore_errors=True)


def measure_server(
    args: argparse.Namespace,
    server: list[str],
    env: dict[str, str],
    port: int,
    work: Path,
    bare_dir: Path,
) -> dict[str, Any]:
    with (
        running(server, env, port, work / "server.log") as (url, _),
        httpx.Client(base_url=url, timeout=60, trust_env=False) as client,
    ):
        started = time.monotonic()
        seeded = asyncio.run(seed(url))
        print(
            f"  seeded in {time.monotonic() - started:.0f} s through the API: {USERS} users, {seeded['files']} files "
            f"({seeded['public']} public), {PLAYLISTS} public playlists of {PUBLIC_TRACKS + PRIVATE_TRACKS} tracks"
        )
        auth = seeded["auth"]
        measured = []
        for endpoint in ENDPOINTS:
            headers = auth if endpoint.signed_in else {}
            first, second = (client.get(endpoint.path, headers=headers) for _ in range(2))
            for response in (first, second):
                if response.status_code != 200:
                    raise RuntimeError(f"{endpoint.path}: {response.status_code} {response.text[:300]}")
            m = Measured(endpoint, body=first.content, identical=first.content == second.content)
            if not m.identical:
                m.difference = first_difference(first.content, second.content)
            (bare_dir / f"{endpoint.name}.json").write_bytes(first.content)
            bare = client.get(f"/bench/bare/{endpoint.name}", headers=headers)
            if bare.content != first.content:
                raise RuntimeError(f"the bare route of {endpoint.name} does not answer the endpoint's bytes")
            measured.append(m)
        shape = len(json.loads(measured[0].body)["items"]), len(json.loads(measured[1].body)["items"])
        if shape != (20, PLAYLISTS):
            raise RuntimeError(f"unexpected answers: {shape[0]} audio files, {shape[1]} collections")

        load = {"connections": args.connections, "threads": args.threads}
        for m in measured:  # warm-up: pools, prepared statements, first-use costs
            headers = auth if m.endpoint.signed_in else {}
            measure_get(f"{url}{m.endpoint.path}", duration=min(2.0, args.duration), headers=headers, **load)
        for round_ in range(args.rounds):
            for m in measured:
                headers = auth if m.endpoint.signed_in else {}
                targets = [f"{url}/bench/bare/{m.endpoint.name}", f"{url}{m.endpoint.path}"]
                if round_ % 2:
                    targets.reverse()
                done = {t: measure_get(t, duration=args.duration, headers=headers, **load) for t in targets}
                route, bare = done[f"{url}{m.endpoint.path}"], done[f"{url}/bench/bare/{m.endpoint.name}"]
                m.rounds.append((route, bare))
                print(
                    f"  round {round_ + 1} {m.endpoint.path}: {route['rps']:.0f} req/s, bare {bare['rps']:.0f} "
                    f"-> {route['rps'] / bare['rps']:.2f}"
                )
    return {"auth": auth, "measured": measured}


# --------------------------------------------------------------------------- the report


def span(values: list[float], digits: int = 0) -> str:
    low, high = min(values), max(values)
    text = f"{low:,.{digits}f}"
    return text if f"{high:,.{digits}f}" == text else f"{text}-{high:,.{digits}f}"


def table(measured: list[Measured], *, goals: bool) -> list[str]:
    lines = [
        "| Endpoint | bytes | round | req/s | p99 ms | bare req/s | bare p99 ms | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in measured:
        for n, (route, bare) in enumerate(m.rounds, 1):
            flags = "".join(
                f" [{r['non_2xx']} non-2xx{' on bare' if r is bare else ''}]" for r in (route, bare) if r["non_2xx"]
            )
            lines.append(
                f"| `GET {m.endpoint.path}` | {len(m.body):,} | {n} | {route['rps']:,.0f} | "
                f"{route['p99_ms'] or float('nan'):.1f} | {bare['rps']:,.0f} | {bare['p99_ms'] or float('nan'):.1f} | "
                f"{route['rps'] / bare['rps']:.2f}{flags} |"
            )
    lines += [
        "",
        "| Endpoint | req/s | bare req/s | ratio | " + ("goal | " if goals else "") + "p99 ms | "
        "SQL statements (first, repeated) | two answers byte-identical |",
        "| --- | ---: | ---: | ---: | " + ("---: | " if goals else "") + "---: | ---: | --- |",
    ]
    for m in measured:
        ratios = [route["rps"] / bare["rps"] for route, bare in m.rounds]
        goal = ""
        if goals:
            verdict = "met" if min(ratios) >= m.endpoint.goal else ("not met" if max(ratios) < m.endpoint.goal else "?")
            goal = f"{m.endpoint.goal:.2f}: {verdict} | "
        p99s = [route["p99_ms"] for route, _ in m.rounds if route["p99_ms"] is not None]
        lines.append(
            f"| `GET {m.endpoint.path}` | {span([r['rps'] for r, _ in m.rounds])} | "
            f"{span([b['rps'] for _, b in m.rounds])} | {span(ratios, 2)} | {goal}"
            f"{span(p99s, 1) if p99s else '-'} | {len(m.statements[0])}, {len(m.statements[1])} | "
            f"{'yes' if m.identical else 'NO: ' + m.difference} |"
        )
    return lines


def statement_lines(measured: list[Measured]) -> list[str]:
    lines = ["SQL statements of one request (maintenance switch reads left out):"]
    for m in measured:
        for label, statements in zip(("first", "repeated"), m.statements, strict=True):
            lines.append(f"  GET {m.endpoint.path}, {label} request: {len(statements)}")
            lines += [f"    {' '.join(s.split())[:150]}" for s in statements]
        if m.by_page_size:
            sizes = ", ".join(f"limit={limit}: {n}" for limit, n in sorted(m.by_page_size.items()))
            lines.append(f"  GET {m.endpoint.path.split('?')[0]}, a repeated request by page size: {sizes}")
    return lines


def commit() -> str:
    """The code measured: the last commit that changed ``src/`` or ``migrations/``, and whether
    they have changes not committed yet."""
    repo = BENCH_DIR.parent
    try:
        code = ["--", "src", "migrations"]
        last = subprocess.run(
            ["git", "log", "-1", "--format=%h", *code], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", *code], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return last + (" with uncommitted changes" if dirty else "")


def write_section(label: str, lines: list[str]) -> None:
    """Write ``lines`` (a ``## <label>: ...`` heading first) as this database's section of the
    results file, keeping the other database's section."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    sections: dict[str, list[str]] = {}
    current: str | None = None
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            if line.startswith("## "):
                current = line.removeprefix("## ").split(":", 1)[0]
                sections[current] = []
            if current is not None:
                sections[current].append(line)
    sections[label] = lines
    order = [*LABELS.values(), *sorted(set(sections) - set(LABELS.values()))]  # PostgreSQL first
    text = "\n\n".join("\n".join(sections[name]).strip() for name in order if name in sections)
    RESULTS.write_text(text + "\n")


LABELS = {"postgres": "PostgreSQL + S3 (moto) + Redis", "sqlite": "SQLite + local storage"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="postgres")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every measurement (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    args = parser.parse_args()
    databases = ["postgres", "sqlite"] if args.database == "both" else [args.database]
    if "postgres" in databases:
        loopback_only(args.postgres_url, "--postgres-url")
        loopback_only(args.redis_url, "--redis-url")
    # SIGTERM unwinds like Ctrl-C: the server is stopped, the database dropped, the folder removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    generator = f"wrk -t{args.threads} -c{args.connections}" if wrk_available() else "bench/bench_load.py (httpx)"
    failures = 0
    for database in databases:
        lines: list[str] = []

        def report(line: str = "", lines: list[str] = lines) -> None:
            print(line, flush=True)
            lines.append(line)

        report(
            f"## {LABELS[database]}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, code of commit {commit()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, 1 uvicorn worker, {generator}, "
            f"{args.duration:g} s per measurement, {args.rounds} rounds"
        )
        try:
            measured = bench_database(args, database)
        except Exception:
            traceback.print_exc()
            print(f"error: the {database} run failed (cleaned up)", file=sys.stderr)
            failures += 1
            continue
        report(
            f"Seed: {USERS} users x {FILES_PER_USER} files (1 s WAVs; even-numbered public, odd-numbered private), "
            f"{PLAYLISTS} public playlists x {PUBLIC_TRACKS + PRIVATE_TRACKS} tracks "
            f"({PUBLIC_TRACKS} public files of others, {PRIVATE_TRACKS} private of the owner's)"
        )
        body = [*table(measured, goals=database == "postgres"), "", *statement_lines(measured)]
        for line in body:
            report(line)
        write_section(LABELS[database], lines)
        print(f"written to {RESULTS}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
