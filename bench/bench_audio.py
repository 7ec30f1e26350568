"""Audio benchmarks, run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_audio.py [--duration 10] [--database-url URL] [--runs 3]

(a) One 50 MB upload (a WAV file, streamed from disk by the client) to a server on local storage:
    the server's peak RSS growth during the upload (``VmHWM`` reset through ``clear_refs`` just
    before it) and the wall time, against copying the same bytes into the store with the same
    storage adapter directly (``LocalStorage.put`` of a reader: chunked copy and fsync; a plain
    ``shutil.copyfile`` is shown too). Best of ``--runs``.
(b) ``GET /api/v1/audio/public?limit=20`` (anonymous, 20 public files, owners joined) against
    ``GET /bench/bare`` answering the same bytes from memory in the same server: requests per
    second and the ratio, with the unchanged page kept (SQLite) and with every page read
    (``bench_audio_app``'s switch); then, in this process on the same database, the SQL statements
    one request runs for page sizes 1, 5, 20 and 100.
(c) Streaming the 50 MB file through the signed media route: MB/s against reading the stored file
    in the same chunk size directly. Best of ``--runs``.

One uvicorn worker, rate limits off, SQLite in a temporary data directory unless ``--database-url``
is given. ``wrk`` is the load generator when installed, else ``bench/bench_load.py``. The report is
printed and written to ``bench/results/audio.txt``. Everything runs on 127.0.0.1 and ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from run import BENCH_DIR, clean_env, free_port, measure_get, running, wrk_available
from sqlalchemy import event

RESULTS = BENCH_DIR / "results" / "audio.txt"
MB = 1024 * 1024
USERNAME, EMAIL, PASSWORD = "bench", "bench@example.com", "B3nch!Passw0rd"
CHUNK = 256 * 1024


def write_wav(path: Path, size: int) -> None:
    """A silent 16-bit stereo WAV of exactly ``size`` bytes, written in chunks."""
    frames = (size - 44) // 4
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44100)
        silence = b"\x00" * (CHUNK - CHUNK % 4)
        left = frames * 4
        while left:
            piece = silence[: min(len(silence), left)]
            out.writeframesraw(piece)
            left -= len(piece)
    assert path.stat().st_size == size, path.stat().st_size


def small_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x00" * 16000)
    return out.getvalue()


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def server_pid(port: int) -> int:
    """The process listening on ``port`` (the uvicorn worker)."""
    inode_hex = f"{port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{inode_hex}") and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"nobody listens on {port}")


def upload_file(client: httpx.Client, auth: dict[str, str], path: Path, **fields: str) -> dict[str, Any]:
    with path.open("rb") as body:
        response = client.post(
            "/api/v1/audio/upload", headers=auth, files={"file": (path.name, body, "audio/wav")}, data=fields
        )
    response.raise_for_status()
    return response.json()


def curl_upload(
    url: str, auth: dict[str, str], path: Path, route: str = "/api/v1/audio/upload", expect: int = 201
) -> tuple[float, dict[str, Any]] | None:
    """Seconds to upload ``path`` with curl (a C client, so the client's own cost stays small) and
    the answer, when curl is installed."""
    if shutil.which("curl") is None:
        return None
    command = [
        "curl", "-s", "--noproxy", "*", "-H", f"Authorization: {auth['Authorization']}",
        "-F", f"file=@{path};type=audio/wav", "-w", "\\n%{http_code} %{time_total}", f"{url}{route}",
    ]  # fmt: skip
    body, status_and_time = subprocess.run(command, capture_output=True, text=True, check=True).stdout.rsplit("\n", 1)
    status, took = status_and_time.split()
    if int(status) != expect:
        raise RuntimeError(f"curl upload answered {status}: {body[:200]}")
    return float(took), json.loads(body)


async def direct_store(data_dir: Path, source: Path) -> float:
    """Seconds to store ``source`` with the storage adapter the server uses."""
    from sono.adapters.storage.local import LocalStorage
    from sono.adapters.storage.signing import HmacUrlSigner

    storage = LocalStorage(data_dir / "media", base_url="", signer=HmacUrlSigner(b"k" * 32))

    class Reader:  # only ``read``: the adapter copies the bytes (a spooled file would be linked)
        def __init__(self, file: Any) -> None:
            self.read = file.read

    started = time.perf_counter()
    with source.open("rb") as data:
        await storage.put("bench/direct.wav", Reader(data), "audio/wav")  # type: ignore[arg-type]
    took = time.perf_counter() - started
    await storage.delete("bench/direct.wav")
    return took


def plain_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(source, target)
    took = time.perf_counter() - started
    target.unlink()
    return took


def raw_read(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as file:
        while file.read(CHUNK):
            pass
    return time.perf_counter() - started


def streamed(client: httpx.Client, url: str) -> tuple[float, int]:
    """Seconds to download ``url`` with httpx (a Python client, itself a bottleneck)."""
    started = time.perf_counter()
    size = 0
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(CHUNK):
            size += len(chunk)
    return time.perf_counter() - started, size


def curled(url: str) -> tuple[float, int] | None:
    """Seconds to download ``url`` with curl (a C client), when curl is installed."""
    if shutil.which("curl") is None:
        return None
    command = ["curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url]
    seconds, size = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return float(seconds), int(float(size))


async def statements_per_page(settings_env: dict[str, str]) -> dict[int, int]:
    """The SQL statements ``GET /audio/public?limit=N`` runs, counted on the app's engine."""
    from sono.bootstrap import build_container
    from sono.config import load_settings
    from sono.entrypoints.http.app import create_app

    settings = load_settings(settings_env)
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container, run_jobs=False)
        engine = container.ports.uow.engine.sync_engine  # type: ignore[attr-defined]
        catalog: Any = container.ports.audio_catalog  # the public list's reads, on a connection of their own
        counts = {}
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get("/api/v1/audio/public?limit=1")  # warm the pool
            for limit in (1, 5, 20, 100):
                seen: list[str] = []

                def record(*args: Any, seen: list[str] = seen) -> None:
                    seen.append(args[2])

                event.listen(engine, "before_cursor_execute", record)
                stop = catalog.listen(lambda sql, seen=seen: seen.append(sql)) if catalog else None
                response = await client.get(f"/api/v1/audio/public?limit={limit}")
                event.remove(engine, "before_cursor_execute", record)
                if stop:
                    stop()
                response.raise_for_status()
                counts[limit] = len(seen)
        return counts
    finally:
        await container.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load measurement (default 10)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="repetitions of (a) and (c), best kept (default 3)")
    parser.add_argument("--database-url", help="default: SQLite in a temporary data directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sono-bench-audio-"))
    lines: list[str] = []

    def report(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    generator = "wrk" if wrk_available() else "bench/bench_load.py (httpx)"
    report(
        f"Sono audio benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, 1 uvicorn worker, load generator {generator}, local storage, "
        f"database {'SQLite' if not args.database_url else args.database_url.split(':', 1)[0]}"
    )
    data_dir = work / "data"
    bare_file = work / "bare.json"
    extra = {"SONO_DATA_DIR": str(data_dir), "BENCH_BARE_JSON_FILE": str(bare_file)}
    if args.database_url:
        extra["SONO_DATABASE_URL"] = args.database_url
    port = free_port()
    extra["SONO_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env = clean_env(**extra)
    subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], env=env, check=True, capture_output=True)
    big = work / "fifty.wav"
    write_wav(big, 50 * MB)
    small = work / "small.wav"
    small.write_bytes(small_wav())
    server = [
        sys.executable, "-m", "uvicorn", "bench_audio_app:create", "--factory", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--lifespan", "on",
        "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    with running(server, env, port, work / "server.log") as (url, _), httpx.Client(base_url=url, timeout=120) as client:
        pid = server_pid(port)
        client.post("/api/v1/users/", json={"username": USERNAME, "email": EMAIL, "password": PASSWORD})
        login = client.post("/api/v1/users/token", data={"username": USERNAME, "password": PASSWORD})
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

        # (a) the 50 MB upload: warm-up with a small file first (imports, pools, first-use costs)
        upload_file(client, auth, small)
        uploads: list[tuple[float, int, int]] = []
        curl_uploads: list[float] = []
        drains: list[float] = []
        uploaded: dict[str, Any] = {}
        for _ in range(args.runs):
            if uploaded:
                client.delete(f"/api/v1/audio/{uploaded['id']}", headers=auth).raise_for_status()
            before = rss_kib(pid, "VmRSS")
            reset_peak(pid)
            started = time.perf_counter()
            uploaded = upload_file(client, auth, big)
            took = time.perf_counter() - started
            uploads.append((took, before, rss_kib(pid, "VmHWM")))
            client.delete(f"/api/v1/audio/{uploaded['id']}", headers=auth).raise_for_status()
            by_curl = curl_upload(url, auth, big)
            if by_curl is not None:
                curl_uploads.append(by_curl[0])
                uploaded = by_curl[1]
                drains.append(curl_upload(url, auth, big, "/bench/drain", 200)[0])  # type: ignore[index]
        directs = [asyncio.run(direct_store(data_dir, big)) for _ in range(args.runs)]
        copies = [plain_copy(big, data_dir / "media" / "copy.wav") for _ in range(args.runs)]
        upload_time = min(took for took, _, _ in uploads)
        growth = max(peak - before for _, before, peak in uploads)

        # (b) the public list against the bare route: 20 public files of 4 users
        owners = []
        for n in range(4):
            name = f"owner{n}"
            client.post("/api/v1/users/", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD})
            token = client.post("/api/v1/users/token", data={"username": name, "password": PASSWORD}).json()
            owners.append({"Authorization": f"Bearer {token['access_token']}"})
        for i in range(20):
            upload_file(client, owners[i % 4], small, title=f"Track {i}", is_public="true")
        page = client.get("/api/v1/audio/public?limit=20")
        page.raise_for_status()
        assert len(page.json()["items"]) == 20
        bare_file.write_bytes(page.content)
        assert client.get("/bench/bare").content == page.content
        load: dict[str, Any] = {"connections": args.connections, "headers": {}}
        measure_get(f"{url}/api/v1/audio/public?limit=20", duration=min(2.0, args.duration), **load)  # warm-up
        bare_before = measure_get(f"{url}/bench/bare", duration=args.duration, **load)
        public = measure_get(f"{url}/api/v1/audio/public?limit=20", duration=args.duration, **load)
        client.post("/bench/keep-pages/0").raise_for_status()  # as if the list changed between requests
        fresh = measure_get(f"{url}/api/v1/audio/public?limit=20", duration=args.duration, **load)
        client.post("/bench/keep-pages/1").raise_for_status()
        bare_after = measure_get(f"{url}/bench/bare", duration=args.duration, **load)
        bare_rps = (bare_before["rps"] + bare_after["rps"]) / 2

        # (c) streaming the 50 MB file through the media route
        file_url = client.get(f"/api/v1/audio/{uploaded['id']}", headers=auth).json()["file_url"]
        stored = data_dir / "media" / httpx.URL(file_url).path.removeprefix("/api/v1/media/")
        streams, curls, reads, curl_reads, bare_streams = [], [], [], [], []
        for _ in range(args.runs):
            took, size = streamed(client, file_url)
            assert size == 50 * MB
            streams.append(took)
            by_curl = curled(file_url)
            if by_curl is not None:
                assert by_curl[1] == 50 * MB
                curls.append(by_curl[0])
                curl_reads.append(curled(f"file://{stored}")[0])  # type: ignore[index]
                bare_streams.append(curled(f"{url}/bench/stream/50")[0])  # type: ignore[index]
            reads.append(raw_read(stored))
    counts = asyncio.run(statements_per_page(env))

    direct, copy = min(directs), min(copies)
    stream, read = min(streams), min(reads)
    report(
        f"(a) 50 MB upload (httpx client): {upload_time:.3f} s (best of {args.runs}: "
        f"{', '.join(f'{t:.3f}' for t, _, _ in uploads)}); server peak RSS growth "
        f"{growth / 1024:.1f} MiB (runs: {', '.join(f'{(p - b) / 1024:.1f}' for _, b, p in uploads)})"
    )
    if curl_uploads:
        report(
            f"    with curl as the client: {min(curl_uploads):.3f} s (best of {args.runs}: "
            f"{', '.join(f'{t:.3f}' for t in curl_uploads)})"
        )
        upload_time = min(upload_time, *curl_uploads)
        report(
            f"    the same form posted by curl to a route that only reads the body: {min(drains):.3f} s"
            " (receiving alone: no parsing, no disk)"
        )
    report(
        f"    LocalStorage.put of the same file: {direct:.3f} s -> best upload / direct store: "
        f"{upload_time / direct:.2f}  (plain copyfile, no fsync: {copy:.3f} s -> {upload_time / copy:.2f})"
    )
    report(
        f"(b) GET /api/v1/audio/public?limit=20, {args.connections} conns: {public['rps']:8.1f} req/s"
        f"  (p99 {public['p99_ms']:.1f} ms){'  [' + str(public['non_2xx']) + ' non-2xx]' if public['non_2xx'] else ''}"
    )
    report(
        f"    GET /bench/bare, same {len(page.content)}-byte JSON: {bare_rps:8.1f} req/s"
        f"  (mean of {bare_before['rps']:.1f} before and {bare_after['rps']:.1f} after)"
    )
    report(f"    public list / bare: {public['rps'] / bare_rps:.2f}  (an unchanged list: its page is kept)")
    report(
        f"    every page read (as when the list changes between requests): {fresh['rps']:8.1f} req/s"
        f"  (p99 {fresh['p99_ms']:.1f} ms) -> / bare: {fresh['rps'] / bare_rps:.2f}"
    )
    report(
        "    SQL statements per request by page size: "
        + ", ".join(f"limit={limit}: {count}" for limit, count in counts.items())
    )
    best = min(curls) if curls else stream
    report(
        f"(c) 50 MB through the media route: {50 / best:.0f} MB/s ({best:.3f} s, "
        f"{'curl' if curls else 'httpx'}; httpx client {50 / stream:.0f} MB/s), raw file read "
        f"{50 / read:.0f} MB/s ({read:.3f} s, Python, page cache) -> {read / best:.2f} of raw"
    )
    if curl_reads:
        curl_read = min(curl_reads)
        report(
            f"    the same curl reading the stored file (file://): {50 / curl_read:.0f} MB/s ({curl_read:.3f} s)"
            f" -> media route / curl file read: {curl_read / best:.2f}"
        )
        bare_stream = min(bare_streams)
        report(
            "    a route streaming 50 MB from memory in 1 MiB chunks, same server and curl: "
            f"{50 / bare_stream:.0f} MB/s ({bare_stream:.3f} s) -> media route / that ceiling: {bare_stream / best:.2f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
