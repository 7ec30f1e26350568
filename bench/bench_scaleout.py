"""The scale-out benchmark (issue 15, section 5), run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_scaleout.py
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/13]
        [--duration 5] [--connections 32] [--threads 2]

One PostgreSQL database (fresh, ``sono_bench_<random>``, dropped at the end), one Redis (rate limits)
and S3 (moto on loopback, in this process), set up and seeded through the JSON API exactly as
``bench/bench_production.py`` does (its helpers are imported). Then, with ``sono serve`` (rate
limits on, the job loop off as in the compose stack, ``SONO_TRUSTED_PROXIES=127.0.0.1``):

1. Requests/s and p99 of ``GET /api/v1/audio/public?limit=20`` and ``GET
   /api/v1/collections/?public_only=true&limit=20`` (anonymous), ``GET /api/v1/users/me`` (a bearer
   token) and ``GET /health`` for: one worker process (``sono serve --workers 1``), two worker
   processes (``--workers 2``), and two instances (two ``sono serve --workers 1`` on two ports)
   behind a round-robin TCP load balancer on loopback (this file run as ``--balance``, an asyncio
   proxy in its own process, so that its CPU shows on its own); also, as a control, the two
   instances loaded directly (one load generator per port, the figures added). Ratios against the
   one-worker figure of the same run.
2. Shared state across the two instances, PASS or FAIL each: a rate limit (the login limit of
   10/minute for one client address, through the load balancer with a new connection per request so
   the instances alternate: answers 1-10 are 401, 11 and 12 are 429 whichever instance serves them);
   maintenance (turned on through instance A, instance B answers 503 within the documented "about
   a second", off through B, A answers again); a revocation (logout on A, the access token refused
   on B, the refresh token too); periodic jobs (a hard deletion made due, ``sono jobs run-due`` run
   twice at once: executed exactly once).
3. Where the bottleneck is: the CPU% of each server process tree, of the load balancer, of the load
   generator (``wrk``, else ``bench/bench_load.py``) and of the PostgreSQL backends serving the bench
   database (from ``/proc/<pid>/stat``; 100 % is one core), and the PostgreSQL connections of the
   bench database (``pg_stat_activity``, sampled every 0.25 s: most seen, and most seen active),
   next to each process's pool sizes and the server's ``max_connections``.

The report is printed and written to ``bench/results/scaleout.txt``. Everything runs on 127.0.0.1,
ends by itself, and stops its processes and drops its database on failure or interruption too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_production import BUCKET, LOOPBACK, PASSWORD, check_redis, commit, loopback_only, moto_s3, postgres_database
from bench_production import seed as seed_through_api
from run import (
    BENCH_DIR,
    clean_env,
    free_port,
    parse_python_load,
    parse_wrk,
    python_load_command,
    running,
    running_process,
    wrk_available,
    wrk_command,
)

RESULTS = BENCH_DIR / "results" / "scaleout.txt"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOGIN_LIMIT = 10  # users.token: 10/minute per client address
MAINTENANCE_DELAY = 1.0  # seconds: "every process follows within about a second" (README)
MAINTENANCE_PATIENCE = 3.0  # seconds to keep polling before calling it a failure


@dataclass(frozen=True)
class Endpoint:
    path: str
    signed_in: bool


ENDPOINTS = (
    Endpoint("/api/v1/audio/public?limit=20", False),
    Endpoint("/api/v1/collections/?public_only=true&limit=20", False),
    Endpoint("/api/v1/users/me", True),
    Endpoint("/health", False),
)
CONFIGS = ("1 worker", "2 workers", "2 instances + LB", "2 instances direct")


@dataclass
class Measurement:
    rps: float
    p99_ms: float | None
    non_2xx: int
    cpu: dict[str, float]  # label -> % of one core
    generator_cpu: float
    postgres_cpu: float
    connections_max: int
    connections_active_max: int
    machine_cpu: float  # every process on the machine, % of one core (the whole machine: cores x 100)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Run:
    measurements: dict[tuple[str, str], Measurement] = field(default_factory=dict)  # (config, path)
    checks: list[Check] = field(default_factory=list)
    pools: str = ""
    balanced: dict[int, int] = field(default_factory=dict)  # backend index -> connections


# --------------------------------------------------------------------------- the load balancer


def balance(listen: int, backends: list[int], log: Path) -> None:
    """A round-robin TCP proxy on loopback: each new connection goes to the next backend. One line
    per connection (the backend's index) is appended to ``log``, so the bench knows who served."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    turn = 0
    out = log.open("a", buffering=1)

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with suppress(ConnectionError, OSError):
                writer.close()

    async def accept(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        index = turn % len(backends)
        turn += 1
        out.write(f"{index}\n")
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, backends[index])
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, upstream_writer), pump(upstream_reader, client_writer))

    async def main() -> None:
        server = await asyncio.start_server(accept, LOOPBACK, listen, backlog=1024)
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(main())


# --------------------------------------------------------------------------- CPU and connections


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # fields from the third (state) on


def cpu_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])  # utime + stime


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (uvicorn's workers and their helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def machine_ticks() -> tuple[int, int]:
    """Busy and total CPU time of the whole machine, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values[:8]) - idle, sum(values[:8])


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def measure(
    args: argparse.Namespace, targets: list[str], headers: dict[str, str], watch: dict[str, int], dsn: str, db: str
) -> Measurement:
    """Load ``targets`` (one load generator each, the connections split between them) for
    ``args.duration`` seconds, watching the CPU of the ``watch`` process trees, of the load
    generators and of the PostgreSQL backends, and the connections to ``db``."""
    import asyncpg

    trees = {label: process_tree(pid) for label, pid in watch.items()}
    monitor = await asyncpg.connect(dsn)
    backends_seen: dict[int, tuple[int, int]] = {}  # pid -> (first ticks, last ticks)
    peak = peak_active = 0
    try:
        start = {label: sum(cpu_ticks(p) or 0 for p in pids) for label, pids in trees.items()}
        generator_start = children_cpu_seconds()
        machine_start = machine_ticks()
        started = time.monotonic()
        share = max(1, args.connections // len(targets))
        loads = []
        for url in targets:
            if wrk_available():
                threads = max(1, args.threads // len(targets))
                command = wrk_command(url, connections=share, duration=args.duration, headers=headers, threads=threads)
            else:
                command = python_load_command(url, concurrency=share, duration=args.duration, headers=headers)
            loads.append(await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE))
        outputs = asyncio.gather(*(load.communicate() for load in loads))
        while not outputs.done():
            rows = await monitor.fetch(
                "SELECT pid, state FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", db
            )
            peak = max(peak, len(rows))
            peak_active = max(peak_active, sum(1 for row in rows if row["state"] == "active"))
            for row in rows:
                ticks = cpu_ticks(row["pid"])
                if ticks is not None:
                    first = backends_seen.get(row["pid"], (ticks, ticks))[0]
                    backends_seen[row["pid"]] = (first, ticks)
            await asyncio.wait([outputs], timeout=0.25)
        results = [
            parse_wrk(out.decode()) if wrk_available() else parse_python_load(out.decode())
            for out, _ in outputs.result()
        ]
        elapsed = time.monotonic() - started
        end = {label: sum(cpu_ticks(p) or 0 for p in pids) for label, pids in trees.items()}
        generator = children_cpu_seconds() - generator_start
        machine_end = machine_ticks()
    finally:
        await monitor.close()

    def percent(ticks: float) -> float:
        return 100.0 * ticks / CLOCK_TICKS / elapsed

    p99s = [r["p99_ms"] for r in results if r["p99_ms"] is not None]
    return Measurement(
        rps=sum(r["rps"] for r in results),
        p99_ms=max(p99s) if p99s else None,
        non_2xx=sum(r["non_2xx"] for r in results),
        cpu={label: percent(end[label] - start[label]) for label in trees},
        generator_cpu=100.0 * generator / elapsed,
        postgres_cpu=percent(sum(last - first for first, last in backends_seen.values())),
        connections_max=peak,
        connections_active_max=peak_active,
        machine_cpu=100.0
        * (os.cpu_count() or 1)
        * (machine_end[0] - machine_start[0])
        / max(1, machine_end[1] - machine_start[1]),
    )


def measure_all(
    args: argparse.Namespace,
    run: Run,
    config: str,
    targets: list[str],
    watch: dict[str, int],
    auth: dict[str, str],
    dsn: str,
    db: str,
    warm: list[str] | None = None,
) -> None:
    for endpoint in ENDPOINTS:
        headers = auth if endpoint.signed_in else {}
        for url in warm or targets:  # warm-up: every server's pools, prepared statements, first-use costs
            with httpx.Client(timeout=30, trust_env=False) as client:
                for _ in range(20):
                    client.get(f"{url}{endpoint.path}", headers=headers)
        m = asyncio.run(measure(args, [f"{url}{endpoint.path}" for url in targets], headers, watch, dsn, db))
        run.measurements[(config, endpoint.path)] = m
        cpu = ", ".join(f"{label} {value:.0f}%" for label, value in m.cpu.items())
        print(
            f"  {config:20} {endpoint.path:48} {m.rps:8.0f} req/s  p99 {m.p99_ms or float('nan'):6.1f} ms  "
            f"[{cpu}, load generator {m.generator_cpu:.0f}%, PostgreSQL {m.postgres_cpu:.0f}%, "
            f"connections {m.connections_max} ({m.connections_active_max} active), "
            f"machine {m.machine_cpu:.0f}%]",
            flush=True,
        )


# --------------------------------------------------------------------------- shared-state checks


class Balanced:
    """Requests through the load balancer, each on a new connection, and which instance served it."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, str]:
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        with httpx.Client(base_url=self.url, timeout=60, trust_env=False) as client:
            response = client.request(method, path, headers=headers, **kwargs)
        served = self.log.read_text().split()[-1]
        return response, "AB"[int(served)]


def sono(env: dict[str, str], *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sono", *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def login(url: str, username: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
        response = client.post(
            "/api/v1/users/token", data={"username": username, "password": PASSWORD}, headers=headers
        )
    if response.status_code != 200:
        raise RuntimeError(f"login of {username} on {url}: {response.status_code} {response.text[:200]}")
    tokens: dict[str, Any] = response.json()
    return tokens


def check_rate_limit(lb: Balanced) -> Check:
    address = f"198.51.100.{random.randint(1, 254)}"  # one client, as the trusted proxy says
    seen = []
    for _ in range(LOGIN_LIMIT + 2):
        response, instance = lb.request(
            "POST",
            "/api/v1/users/token",
            data={"username": "no-such-user", "password": "Wrong!Passw0rd"},
            headers={"X-Forwarded-For": address},
        )
        seen.append((response.status_code, instance))
    statuses = [status for status, _ in seen]
    over = {instance for status, instance in seen[LOGIN_LIMIT:]}
    passed = statuses == [401] * LOGIN_LIMIT + [429, 429] and over == {"A", "B"}
    detail = " ".join(f"{status}@{instance}" for status, instance in seen)
    return Check(f"rate limit (login, {LOGIN_LIMIT}/minute per client) across instances", passed, detail)


def wait_for(url: str, path: str, status: int, headers: dict[str, str] | None = None) -> tuple[float | None, int]:
    """Seconds until ``GET path`` on ``url`` answers ``status`` (polled every 20 ms; None: not
    within MAINTENANCE_PATIENCE), and the requests it took."""
    started = time.monotonic()
    polls = 0
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
        while (took := time.monotonic() - started) < MAINTENANCE_PATIENCE:
            polls += 1
            if client.get(path, headers=headers).status_code == status:
                return took, polls
            time.sleep(0.02)
    return None, polls


def check_maintenance(a: str, b: str, admin: dict[str, str]) -> list[Check]:
    probe = "/api/v1/audio/public?limit=1"
    checks = []
    with httpx.Client(timeout=30, trust_env=False) as client:
        before = client.get(f"{b}{probe}").status_code
        on = client.post(f"{a}/api/v1/admin/maintenance/enable", params={"message": "scale-out bench"}, headers=admin)
    took, polls = wait_for(b, probe, 503)
    with httpx.Client(timeout=30, trust_env=False) as client:
        body = client.get(f"{b}{probe}").json() if took is not None else {}
        admin_on_b = client.get(f"{b}/api/v1/users/me", headers=admin).status_code
    passed = before == 200 and on.status_code == 200 and took is not None and took <= MAINTENANCE_DELAY + 0.5
    passed = passed and body.get("status") == "maintenance" and body.get("detail") == "scale-out bench"
    checks.append(
        Check(
            "maintenance on through A: B answers 503",
            passed,
            f"B before: {before}; enable on A: {on.status_code}; B 503 after "
            + (f"{took:.2f} s ({polls} polls)" if took is not None else f"never within {MAINTENANCE_PATIENCE} s")
            + f"; body {json.dumps(body)}; admin token on B: {admin_on_b}",
        )
    )
    with httpx.Client(timeout=30, trust_env=False) as client:
        off = client.post(f"{b}/api/v1/admin/maintenance/disable", headers=admin)
    took, polls = wait_for(a, probe, 200)
    passed = off.status_code == 200 and took is not None and took <= MAINTENANCE_DELAY + 0.5 and admin_on_b == 200
    checks.append(
        Check(
            "maintenance off through B: A answers 200 again (admin served on B meanwhile)",
            passed,
            f"disable on B: {off.status_code}; A 200 after "
            + (f"{took:.2f} s ({polls} polls)" if took is not None else f"never within {MAINTENANCE_PATIENCE} s"),
        )
    )
    return checks


def check_revocation(a: str, b: str) -> Check:
    tokens = login(a, "user01")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    with httpx.Client(timeout=30, trust_env=False) as client:
        before = client.get(f"{b}/api/v1/users/me", headers=bearer).status_code
        out = client.post(f"{a}/api/v1/users/logout", headers=bearer, json={"refresh_token": tokens["refresh_token"]})
        after = client.get(f"{b}/api/v1/users/me", headers=bearer).status_code
        refresh = client.post(f"{b}/api/v1/users/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    passed = before == 200 and out.status_code == 200 and after == 401 and refresh.status_code == 401
    detail = (
        f"token on B before: {before}; logout on A: {out.status_code}; token on B after: {after}; "
        f"refresh on B after: {refresh.status_code}"
    )
    return Check("revocation: logout on A, token refused on B", passed, detail)


def check_jobs(a: str, b: str, env: dict[str, str], dsn: str) -> Check:
    import asyncpg

    with httpx.Client(base_url=a, timeout=60, trust_env=False) as client:
        made = client.post(
            "/api/v1/users/",
            json={"username": "doomed", "email": "doomed@example.com", "password": PASSWORD},
        )
        if made.status_code != 201:
            raise RuntimeError(f"register doomed: {made.status_code} {made.text[:200]}")
        doomed = int(made.json()["id"])
    bearer = {"Authorization": f"Bearer {login(b, 'doomed')['access_token']}"}
    with httpx.Client(base_url=b, timeout=60, trust_env=False) as client:
        asked = client.post("/api/v1/users/me/request-deletion", json={"deletion_type": "hard"}, headers=bearer)
    if asked.status_code != 200:
        raise RuntimeError(f"request-deletion: {asked.status_code} {asked.text[:200]}")

    async def sql(statement: str) -> Any:
        connection = await asyncpg.connect(dsn)
        try:
            return await connection.fetch(statement)
        finally:
            await connection.close()

    # The grace period is 7 days: make this one due (and nothing else is due).
    asyncio.run(
        sql(
            "UPDATE deletion_requests SET scheduled_for = now() - interval '1 minute' WHERE status = 'pending' "
            "AND user_id = (SELECT id FROM users WHERE username = 'doomed')"
        )
    )
    runs = [sono(env, "jobs", "run-due") for _ in range(2)]  # at once, as two machines' schedulers
    outputs = [run.communicate(timeout=300) for run in runs]
    executed = []
    for out, _ in outputs:
        lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        executed.append(int(lines.get("deletions_executed", "-1")))
    left = asyncio.run(sql(f"SELECT count(*) AS n FROM users WHERE id = {doomed}"))[0]["n"]
    statuses = [
        str(row["status"]) for row in asyncio.run(sql(f"SELECT status FROM deletion_requests WHERE user_id = {doomed}"))
    ]
    codes = [run.returncode for run in runs]
    with httpx.Client(base_url=a, timeout=60, trust_env=False) as client:
        after = client.post("/api/v1/users/token", data={"username": "doomed", "password": PASSWORD}).status_code
    passed = codes == [0, 0] and sorted(executed) == [0, 1] and left == 0 and after == 401
    errors = "; ".join(err.strip().splitlines()[-1] for _, err in outputs if err.strip() and any(codes))
    detail = (
        f"exit codes {codes}; deletions_executed {executed}; deletion request status {statuses or 'gone'}; "
        f"the user rows left: {left}; login afterwards: {after}" + (f"; {errors}" if errors else "")
    )
    return Check(
        "periodic jobs: `sono jobs run-due` twice at once executes a due deletion exactly once", passed, detail
    )


# --------------------------------------------------------------------------- the run


def pool_sizes(database_url: str) -> tuple[int, int, str]:
    """Connections one worker process may open (the engine's pool plus overflow, the fast reads'
    pool), and a description."""
    from sono.adapters.sqlalchemy.engine import create_engine
    from sono.adapters.sqlalchemy.reads import reads_for
    from sono.config import load_settings

    url = load_settings({"SONO_DATABASE_URL": database_url}).database_url
    engine = create_engine(url)
    pool: Any = engine.pool
    size, overflow = pool.size(), pool._max_overflow
    reads_pool: Any = reads_for(url).engine.pool
    reads_size = reads_pool.size() + reads_pool._max_overflow
    most = size + overflow + reads_size
    return (
        size + reads_size,
        most,
        f"per worker process: the engine's pool {size} + overflow {overflow}, the fast reads' engine's pool "
        f"{reads_size}: at most {most} connections",
    )


def max_connections(dsn: str) -> int:
    import asyncpg

    async def read() -> int:
        connection = await asyncpg.connect(dsn)
        try:
            return int(await connection.fetchval("SHOW max_connections"))
        finally:
            await connection.close()

    return asyncio.run(read())


def serve_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "sono", "serve", "--host", LOOPBACK, "--port", str(port), "--workers", str(workers)]


def show_logs_on_failure(work: Path) -> None:
    if sys.exc_info()[0] is None:
        return
    for log in sorted(work.glob("*.log")):
        print(f"--- {log.name} (last 2000 characters) ---\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)


def bench(args: argparse.Namespace) -> Run:
    run = Run()
    work = Path(tempfile.mkdtemp(prefix="sono-bench-scaleout-"))
    ports = [free_port() for _ in range(3)]
    lb_port = free_port()
    lb_url = f"http://{LOOPBACK}:{lb_port}"
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), LOOPBACK, "localhost"]))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        stack.callback(show_logs_on_failure, work)
        check_redis(args.redis_url)
        dsn = stack.enter_context(postgres_database(args.postgres_url))
        db = dsn.rsplit("/", 1)[1].split("?")[0]
        endpoint_url = stack.enter_context(moto_s3())
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy
        base = {
            "SONO_DATA_DIR": str(work / "data"),  # shared: one key pair and one set of secrets for all
            "SONO_PUBLIC_URL": lb_url,
            "SONO_DATABASE_URL": dsn,
            "SONO_REDIS_URL": args.redis_url,
            "SONO_STORAGE": "s3",
            "SONO_S3_ENDPOINT_URL": endpoint_url,
            "SONO_S3_BUCKET": BUCKET,
            "SONO_S3_ACCESS_KEY": "bench",
            "SONO_S3_SECRET_KEY": "bench-secret",
            "SONO_S3_REGION": "us-east-1",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }
        # Seeding registers 50 users from one address: a server with the rate limits off does it.
        seeding = clean_env(**base)
        with running(serve_command(ports[0], 1), seeding, ports[0], work / "seed.log") as (url, _):
            started = time.monotonic()
            seeded = asyncio.run(seed_through_api(url))
            print(f"  seeded in {time.monotonic() - started:.0f} s through the API ({seeded['files']} files)")
        env = clean_env(**base, SONO_RATE_LIMITS_ENABLED="true", SONO_TRUSTED_PROXIES="127.0.0.1/32")
        admin_made = sono(env, "users", "create-admin", "--username", "scaleadmin", "--email", "admin@example.com",
                          "--password", PASSWORD)  # fmt: skip
        if admin_made.wait(120) != 0:
            raise RuntimeError(f"create-admin failed: {admin_made.communicate()[1][-1000:]}")
        auth = seeded["auth"]
        per_process, most, run.pools = pool_sizes(dsn)
        run.pools += f"; PostgreSQL max_connections {max_connections(dsn)}"

        for config, workers in (("1 worker", 1), ("2 workers", 2)):
            command = serve_command(ports[0], workers)
            with running_process(command, env, ports[0], work / f"{workers}w.log") as (url, _, process):
                measure_all(args, run, config, [url], {"server": process.pid}, auth, dsn, db)

        a_port, b_port = ports[1], ports[2]
        log = work / "balancer.log"
        log.touch()
        balancer = [sys.executable, str(Path(__file__).resolve()), "--balance", str(lb_port), f"{a_port},{b_port}",
                    str(log)]  # fmt: skip
        with (
            running_process(serve_command(a_port, 1), env, a_port, work / "a.log") as (a, _, a_process),
            running_process(serve_command(b_port, 1), env, b_port, work / "b.log") as (b, _, b_process),
            running_process(balancer, env, lb_port, work / "balancer.out") as (lb, _, lb_process),
        ):
            watch = {"A": a_process.pid, "B": b_process.pid, "LB": lb_process.pid}
            measure_all(args, run, "2 instances + LB", [lb], watch, auth, dsn, db, warm=[a, b])
            measure_all(
                args, run, "2 instances direct", [a, b], {"A": a_process.pid, "B": b_process.pid}, auth, dsn, db
            )
            lines = log.read_text().split()
            run.balanced = {i: lines.count(str(i)) for i in (0, 1)}

            admin = {"Authorization": f"Bearer {login(a, 'scaleadmin')['access_token']}"}
            run.checks.append(check_rate_limit(Balanced(lb, log)))
            run.checks += check_maintenance(a, b, admin)
            run.checks.append(check_revocation(a, b))
            run.checks.append(check_jobs(a, b, env, dsn))
            for check in run.checks:
                print(f"  {'PASS' if check.passed else 'FAIL'} {check.name}: {check.detail}", flush=True)
        run.pools += f"; a warmed-up worker process keeps up to {per_process} open when idle, at most {most}"
    return run


def report(args: argparse.Namespace, run: Run) -> list[str]:
    generator = f"wrk -t{args.threads} -c{args.connections}" if wrk_available() else "bench/bench_load.py (httpx)"
    lines = [
        f"# Scale-out: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, code of commit {commit()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, PostgreSQL + Redis + S3 (moto), `sono serve`, {generator}, "
        f"{args.duration:g} s per measurement",
        "",
        "Absolute numbers are from a loaded, shared 2-core VM (other work ran beside it): the figure is the ratio",
        "within this one run. Everything (servers, load generator, load balancer, PostgreSQL, Redis, moto) shares",
        "the same 2 cores, so 2 processes cannot double anything here; on separate machines they would.",
        "",
        "## Requests/s (ratio to 1 worker, p99 ms)",
        "",
        "| Endpoint | " + " | ".join(CONFIGS) + " |",
        "| --- | " + " | ".join("---:" for _ in CONFIGS) + " |",
    ]
    for endpoint in ENDPOINTS:
        one = run.measurements[("1 worker", endpoint.path)].rps
        cells = []
        for config in CONFIGS:
            m = run.measurements[(config, endpoint.path)]
            flag = f" [{m.non_2xx} non-2xx]" if m.non_2xx else ""
            cells.append(f"{m.rps:,.0f} ({m.rps / one:.2f}, {m.p99_ms or float('nan'):.0f}){flag}")
        lines.append(f"| `GET {endpoint.path}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Where the time goes (CPU % of one core over the measurement; PostgreSQL connections of the bench database)",
        "",
        "| Configuration | Endpoint | servers | load balancer | load generator | PostgreSQL backends "
        "| connections (active) | whole machine |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for config in CONFIGS:
        for endpoint in ENDPOINTS:
            m = run.measurements[(config, endpoint.path)]
            servers = ", ".join(f"{label} {value:.0f}" for label, value in m.cpu.items() if label != "LB")
            lb = f"{m.cpu['LB']:.0f}" if "LB" in m.cpu else "-"
            lines.append(
                f"| {config} | `{endpoint.path.split('?')[0]}` | {servers} | {lb} | {m.generator_cpu:.0f} | "
                f"{m.postgres_cpu:.0f} | {m.connections_max} ({m.connections_active_max}) | {m.machine_cpu:.0f} |"
            )
    lines += [
        "",
        f"Pools: {run.pools}.",
        f"Load balancer connections per instance during the LB measurements and checks: A {run.balanced.get(0, 0)}, "
        f"B {run.balanced.get(1, 0)}.",
        "",
        "## Shared state across the two instances",
        "",
    ]
    lines += [f"- {'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail}" for c in run.checks]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="connections of the load (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--balance", nargs=3, metavar=("PORT", "BACKENDS", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.balance:
        port, backends, log = args.balance
        balance(int(port), [int(b) for b in backends.split(",")], Path(log))
        return
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows when redirected
    loopback_only(args.postgres_url, "--postgres-url")
    loopback_only(args.redis_url, "--redis-url")
    # SIGTERM unwinds like Ctrl-C: the servers are stopped, the database dropped, the folder removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = bench(args)
    lines = report(args, run)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written to {RESULTS}")
    if not all(check.passed for check in run.checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
