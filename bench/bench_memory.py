"""Memory benchmark, run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_memory.py [--settle 3] [--logins 40]

In one run, on ``sono serve`` (one worker, SQLite, embedded defaults, rate limits and jobs off):

(a) Idle: the server's RSS before its first request (the port accepts connections, nothing sent).
(b) After a burst of logins (``--logins`` password logins, 8 at once, real Argon2id defaults), once
    it settles (``--settle`` seconds later).
(c) Eight concurrent uploads of the largest image Sono accepts (a PNG of ``IMAGE_MAX_PIXELS``
    RGBA pixels, as a profile picture): peak RSS growth over the idle server (``VmHWM`` reset
    through ``clear_refs`` just before) and the growth left ``--settle`` seconds later.
(d) One 50 MB audio upload (after a small warm-up upload) on local storage and on S3 (a moto server
    on loopback, in this process): the server's peak RSS growth during the upload.

The report is printed and written to ``bench/results/memory.txt``. Everything runs on 127.0.0.1
and ends by itself.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_audio import reset_peak, rss_kib, server_pid, small_wav, write_wav
from run import BENCH_DIR, clean_env, free_port

RESULTS = BENCH_DIR / "results" / "memory.txt"
USERNAME, EMAIL, PASSWORD = "bench", "bench@example.com", "B3nch!Passw0rd"
MiB = 1024  # KiB per MiB (RSS figures are in KiB)


def largest_png() -> tuple[bytes, tuple[int, int]]:
    """A cheap-to-send PNG of the largest size the server accepts (RGBA: the most bytes per pixel)."""
    from PIL import Image, ImageDraw

    from sono.domain.media import IMAGE_MAX_PIXELS

    side = math.isqrt(IMAGE_MAX_PIXELS)
    image = Image.new("RGBA", (side, side), (30, 120, 200, 255))
    draw = ImageDraw.Draw(image)
    for offset in range(0, side, 97):
        draw.line([(offset, 0), (side - offset, side)], fill=(250, 200, 10, 180), width=5)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue(), image.size


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    """Until the port accepts a connection (no HTTP request is sent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} within {timeout} s")


@contextmanager
def serving(env: dict[str, str], work: Path, name: str) -> Iterator[tuple[str, int]]:
    """``sono serve`` (the real command) on a free port; yields its URL and the worker's pid."""
    port = free_port()
    env = {**env, "SONO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "sono", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with (work / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    try:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}", server_pid(port)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in(client: httpx.Client) -> dict[str, str]:
    client.post("/api/v1/users/", json={"username": USERNAME, "email": EMAIL, "password": PASSWORD})
    login = client.post("/api/v1/users/token", data={"username": USERNAME, "password": PASSWORD})
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def upload_audio(client: httpx.Client, auth: dict[str, str], path: Path) -> None:
    with path.open("rb") as body:
        response = client.post(
            "/api/v1/audio/upload", headers=auth, files={"file": (path.name, body, "audio/wav")}, data={}
        )
    response.raise_for_status()
    client.delete(f"/api/v1/audio/{response.json()['id']}", headers=auth).raise_for_status()


def upload_peak(url: str, pid: int, auth: dict[str, str], big: Path, small: Path, runs: int) -> int:
    """The largest peak RSS growth (KiB) over ``runs`` uploads of ``big``, after a warm-up."""
    growths = []
    with httpx.Client(base_url=url, timeout=300) as client:
        upload_audio(client, auth, small)  # first-use costs: imports, clients, pools
        for _ in range(runs):
            time.sleep(0.5)
            before = rss_kib(pid, "VmRSS")
            reset_peak(pid)
            upload_audio(client, auth, big)
            growths.append(rss_kib(pid, "VmHWM") - before)
    return max(growths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait before a settled figure")
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--runs", type=int, default=2, help="50 MB uploads per storage (the largest growth counts)")
    args = parser.parse_args()
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=BENCH_DIR)
    report(
        f"Sono memory benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit.stdout.strip() or '?'}: "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, `sono serve` (1 worker, SQLite)"
    )
    png, size = largest_png()
    with tempfile.TemporaryDirectory(prefix="sono-bench-memory-") as tmp:
        work = Path(tmp)
        big = work / "fifty.wav"
        write_wav(big, 50 * 1000 * 1000)
        small = work / "small.wav"
        small.write_bytes(small_wav())

        env = clean_env(SONO_DATA_DIR=str(work / "local"))
        subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], env=env, check=True, capture_output=True)
        with serving(env, work, "local") as (url, pid):
            time.sleep(args.settle)
            idle = rss_kib(pid, "VmRSS")
            report(f"(a) idle, before the first request: {idle / MiB:.1f} MiB")

            with httpx.Client(base_url=url, timeout=120) as client:
                auth = sign_in(client)

            def login(_: int) -> int:
                form = {"username": USERNAME, "password": PASSWORD}
                with httpx.Client(base_url=url, timeout=120) as one:
                    return one.post("/api/v1/users/token", data=form).status_code

            reset_peak(pid)
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(login, range(args.logins)))
            assert set(statuses) == {200}, statuses
            login_peak = rss_kib(pid, "VmHWM")
            time.sleep(args.settle)
            after_logins = rss_kib(pid, "VmRSS")
            report(
                f"(b) after {args.logins} logins (8 at once): peak {login_peak / MiB:.1f} MiB, "
                f"{after_logins / MiB:.1f} MiB {args.settle:g} s later"
            )

            def picture(_: int) -> int:
                with httpx.Client(base_url=url, timeout=300) as one:
                    files = {"file": ("big.png", png, "image/png")}
                    return one.post("/api/v1/users/me/upload-profile-picture", headers=auth, files=files).status_code

            base = rss_kib(pid, "VmRSS")
            reset_peak(pid)
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(picture, range(8)))
            took = time.perf_counter() - started
            peak = rss_kib(pid, "VmHWM")
            time.sleep(args.settle)
            settled = rss_kib(pid, "VmRSS")
            report(
                f"(c) 8 concurrent {size[0]}x{size[1]} PNG uploads ({len(png) / 1024:.0f} KiB each, statuses "
                f"{sorted(set(statuses))}, {took:.1f} s): peak {peak / MiB:.1f} MiB (+{(peak - idle) / MiB:.1f} over "
                f"idle, +{(peak - base) / MiB:.1f} over the start), {settled / MiB:.1f} MiB {args.settle:g} s later "
                f"(+{(settled - idle) / MiB:.1f} over idle, +{(settled - base) / MiB:.1f} over the start)"
            )
            local = upload_peak(url, pid, auth, big, small, args.runs)
            report(f"(d) one 50 MB upload, local storage: peak growth {local / MiB:.1f} MiB")

        from moto.server import ThreadedMotoServer

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        try:
            host, port = moto.get_host_and_port()
            s3_env = clean_env(
                SONO_DATA_DIR=str(work / "s3"),
                SONO_STORAGE="s3",
                SONO_S3_ENDPOINT_URL=f"http://{host}:{port}",
                SONO_S3_BUCKET="bench-memory",
                SONO_S3_ACCESS_KEY="bench",
                SONO_S3_SECRET_KEY="bench-secret",
                NO_PROXY="127.0.0.1,localhost",
                no_proxy="127.0.0.1,localhost",
            )
            subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], env=s3_env, check=True, capture_output=True)
            with serving(s3_env, work, "s3") as (url, pid), httpx.Client(base_url=url, timeout=120) as client:
                auth = sign_in(client)
                s3 = upload_peak(url, pid, auth, big, small, args.runs)
                report(f"    one 50 MB upload, S3 storage (moto on loopback): peak growth {s3 / MiB:.1f} MiB")
        finally:
            moto.stop()

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
