"""Sono benchmarks, run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/run.py [--duration 10] [--database-url URL]

(a) ``GET /api/v1/users/me`` with a valid token against ``GET /bench/bare`` (the same JSON from
    memory, a route added to the same app in the same process): requests per second and the ratio.
(b) Logins per second with 50 concurrent clients and the real default Argon2id parameters, against
    raw Argon2 verifications per second on the same cores (a thread pool of ``cpu_count``), and the
    p99 latency of ``GET /health`` while those logins run.
(c) Seconds from starting ``sono serve`` on a fresh data directory until ``/health`` answers 200.

One uvicorn worker, rate limits off, SQLite on a temporary data directory unless ``--database-url``
is given. ``wrk`` is the load generator when installed, else ``bench/bench_load.py``. The report is
printed and written to ``bench/results/latest.txt``. Everything runs on 127.0.0.1 and ends by itself.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from sono.config import Settings

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.txt"
USERNAME, EMAIL, PASSWORD = "bench", "bench@example.com", "B3nch!Passw0rd"
LOGIN_CONCURRENCY = 50


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONO_", "KWORB_"))}
    env.update(SONO_LOG_LEVEL="warning", SONO_RATE_LIMITS_ENABLED="false", SONO_JOBS_ENABLED="false")
    env.update(extra)
    return env


def wait_healthy(url: str, process: subprocess.Popen[bytes], started: float, timeout: float = 60.0) -> float:
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise RuntimeError(f"{url} not healthy within {timeout} s")


@contextmanager
def running(command: Sequence[str], env: dict[str, str], port: int, log: Path) -> Iterator[tuple[str, float]]:
    """Start a server, yield its URL and the seconds it took to get healthy, stop it (SIGTERM)."""
    with running_process(command, env, port, log) as (url, took, _):
        yield url, took


@contextmanager
def running_process(
    command: Sequence[str], env: dict[str, str], port: int, log: Path
) -> Iterator[tuple[str, float, subprocess.Popen[bytes]]]:
    """``running``, also yielding the server's process (to watch its CPU time)."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(list(command), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        yield url, wait_healthy(url, process, started), process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- load generators


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    headers: dict[str, str],
    script: Path | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    command = wrk_command(url, connections=connections, duration=duration, headers=headers, threads=threads)
    if script is not None:
        command[-1:-1] = ["-s", str(script)]
    run = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration + 120)
    return parse_wrk(run.stdout)


def wrk_command(url: str, *, connections: int, duration: float, headers: dict[str, str], threads: int = 1) -> list[str]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "60s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, non-2xx answers, socket errors and p99 (ms) from the output of ``wrk --latency``."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", output, re.MULTILINE)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rps,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
    }


def python_load_command(
    url: str, *, concurrency: int, duration: float, headers: dict[str, str] | None = None
) -> list[str]:
    command = [sys.executable, str(BENCH_DIR / "bench_load.py"), url, f"--concurrency={concurrency}"]
    command += [f"--duration={duration}"]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    return command


def parse_python_load(output: str) -> dict[str, Any]:
    """The JSON that ``bench/bench_load.py`` prints, with ``non_2xx`` and ``p99_ms`` as ``parse_wrk``'s."""
    result: dict[str, Any] = json.loads(output)
    result["non_2xx"] = result["requests"] - result["ok"]
    result["p99_ms"] = result["latency_ms"]["p99"]
    return result


def run_python_load(
    url: str,
    *,
    concurrency: int,
    duration: float,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    interval_ms: float = 0.0,
) -> dict[str, Any]:
    command = python_load_command(url, concurrency=concurrency, duration=duration, headers=headers)
    command += [f"--interval-ms={interval_ms}"]
    if form:
        command += ["--method", "POST"] + [arg for k, v in form.items() for arg in ("--form", f"{k}={v}")]
    return parse_python_load(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def measure_get(
    url: str, *, connections: int, duration: float, headers: dict[str, str], threads: int = 1
) -> dict[str, Any]:
    if wrk_available():
        return run_wrk(url, connections=connections, duration=duration, headers=headers, threads=threads)
    return run_python_load(url, concurrency=connections, duration=duration, headers=headers)


def measure_logins(url: str, *, duration: float, work: Path) -> dict[str, Any]:
    form = {"username": USERNAME, "password": PASSWORD}
    if wrk_available():
        script = work / "login.lua"
        body = "&".join(f"{k}={v}" for k, v in form.items()).replace("!", "%21")
        script.write_text(
            'wrk.method = "POST"\n'
            f'wrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
        return run_wrk(
            f"{url}/api/v1/users/token", connections=LOGIN_CONCURRENCY, duration=duration, headers={}, script=script
        )
    return run_python_load(f"{url}/api/v1/users/token", concurrency=LOGIN_CONCURRENCY, duration=duration, form=form)


def raw_argon2_per_second(settings: Settings, duration: float) -> tuple[float, int]:
    """Verifications per second of one hash with Sono's default parameters, on every core."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    digest = hasher.hash(PASSWORD)
    threads = os.cpu_count() or 1
    deadline = time.perf_counter() + duration
    count = 0
    lock = threading.Lock()

    def verify_until_deadline() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            hasher.verify(digest, PASSWORD)
            with lock:
                count += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(verify_until_deadline) for _ in range(threads)]:
            future.result()
    return count / (time.perf_counter() - started), threads


# --------------------------------------------------------------------------- the benchmark


def startup_times(work: Path, runs: int) -> list[float]:
    times = []
    for run in range(runs):
        data = work / f"startup-{run}"
        port = free_port()
        command = [sys.executable, "-m", "sono", "serve", "--port", str(port)]
        with running(command, clean_env(SONO_DATA_DIR=str(data)), port, work / f"startup-{run}.log") as (_, took):
            times.append(took)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="connections for (a) (default 50)")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--database-url", help="default: SQLite in a temporary data directory")
    args = parser.parse_args()
    defaults = Settings()
    work = Path(tempfile.mkdtemp(prefix="sono-bench-"))
    lines: list[str] = []

    def report(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    generator = "wrk" if wrk_available() else "bench/bench_load.py (httpx)"
    report(
        f"Sono benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, 1 uvicorn worker, load generator {generator}, "
        f"database {'SQLite' if not args.database_url else args.database_url.split(':', 1)[0]}"
    )

    # (c) first, on an idle machine
    times = startup_times(work, args.startup_runs)
    startup = f"{statistics.median(times):.2f} s median ({', '.join(f'{t:.2f}' for t in times)})"

    bare_file = work / "bare.json"
    extra = {"SONO_DATA_DIR": str(work / "data"), "BENCH_BARE_JSON_FILE": str(bare_file)}
    if args.database_url:
        extra["SONO_DATABASE_URL"] = args.database_url
    env = clean_env(**extra)
    subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    server = [
        sys.executable, "-m", "uvicorn", "bench_app:create", "--factory", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--lifespan", "on",
        "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    with running(server, env, port, work / "server.log") as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/api/v1/users/", json={"username": USERNAME, "email": EMAIL, "password": PASSWORD})
        created.raise_for_status()
        login = client.post("/api/v1/users/token", data={"username": USERNAME, "password": PASSWORD})
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = client.get("/api/v1/users/me", headers=auth)
        me.raise_for_status()
        bare_file.write_bytes(me.content)
        assert client.get("/bench/bare").content == me.content

        # (a)
        load = {"connections": args.connections, "headers": auth}
        measure_get(f"{url}/api/v1/users/me", duration=min(2.0, args.duration), **load)  # warm-up
        # The machine's speed drifts (it is a VM): bracket each measurement by its baseline.
        bare_before = measure_get(f"{url}/bench/bare", duration=args.duration, **load)
        users_me = measure_get(f"{url}/api/v1/users/me", duration=args.duration, **load)
        bare_after = measure_get(f"{url}/bench/bare", duration=args.duration, **load)
        bare = bare_before | {"rps": (bare_before["rps"] + bare_after["rps"]) / 2}

        # (b) logins, with /health probed every 10 ms on its own connection meanwhile
        probe: dict[str, Any] = {}

        def run_probe() -> None:
            probe.update(run_python_load(f"{url}/health", concurrency=1, duration=args.duration, interval_ms=10))

        raw_before, threads = raw_argon2_per_second(defaults, args.duration)
        prober = threading.Thread(target=run_probe)
        prober.start()
        logins = measure_logins(url, duration=args.duration, work=work)
        prober.join()
        raw_after, _ = raw_argon2_per_second(defaults, args.duration)
    raw = (raw_before + raw_after) / 2

    def describe(result: dict[str, Any]) -> str:
        text = f"{result['rps']:8.1f} req/s"
        if result.get("p99_ms") is not None:
            text += f"  (p99 {result['p99_ms']:.1f} ms)"
        if result["non_2xx"]:
            text += f"  [{result['non_2xx']} non-2xx]"
        return text

    params = f"m={defaults.argon2_memory_kib} KiB t={defaults.argon2_time_cost} p={defaults.argon2_parallelism}"
    report(f"(a) GET /api/v1/users/me, valid token, {args.connections} conns: {describe(users_me)}")
    report(
        f"    GET /bench/bare, same {len(me.content)}-byte JSON:  {describe(bare)}"
        f"  (mean of {bare_before['rps']:.1f} before and {bare_after['rps']:.1f} after)"
    )
    report(f"    users/me / bare: {users_me['rps'] / bare['rps']:.2f}")
    report(f"(b) logins, {LOGIN_CONCURRENCY} concurrent, Argon2id {params}: {describe(logins)}")
    report(
        f"    raw argon2 verify, {threads} threads: {raw:8.1f} /s"
        f"  (mean of {raw_before:.1f} before and {raw_after:.1f} after)"
    )
    report(f"    logins / raw: {logins['rps'] / raw:.2f}")
    report(
        f"    GET /health during the logins: p99 {probe['latency_ms']['p99']:.1f} ms, "
        f"p50 {probe['latency_ms']['p50']:.1f} ms, max {probe['latency_ms']['max']:.1f} ms "
        f"({probe['requests']} probes, {probe['requests'] - probe['ok']} failed)"
    )
    report(f"(c) sono serve, fresh data dir, until /health is 200: {startup}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
