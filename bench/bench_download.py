"""Collection download benchmark, run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_download.py [--tracks 100] [--track-mb 5] [--runs 3]

A collection of ``--tracks`` uploaded WAV files of ``--track-mb`` MiB each (through the API, on
local storage and SQLite) is downloaded as a ZIP with curl from ``GET
/api/v1/collections/{id}/download``: the time against the web client's 300 s budget, the
throughput against streaming one file of the same total size through the media route, and the
server's peak RSS growth while the archive streams (the archive is never built in memory or on
disk). The report is printed and written to ``bench/results/download.txt``. Everything runs on
127.0.0.1 and ends by itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_audio import MB, curl_upload, reset_peak, rss_kib, server_pid, write_wav
from run import BENCH_DIR, clean_env, free_port, running

RESULTS = BENCH_DIR / "results" / "download.txt"
ADMIN, ADMIN_EMAIL, PASSWORD = "benchadmin", "benchadmin@example.com", "B3nch!Passw0rd"
CLIENT_BUDGET_SECONDS = 300


def curl_download(url: str, headers: dict[str, str], target: Path) -> tuple[float, int]:
    """Seconds and bytes of a download with curl (a C client), written to ``target``."""
    command = [
        "curl", "-s", "--noproxy", "*", "-o", str(target), "-w", "%{http_code} %{time_total} %{size_download}",
        *[part for name, value in headers.items() for part in ("-H", f"{name}: {value}")], url,
    ]  # fmt: skip
    status, took, size = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    if status != "200":
        raise RuntimeError(f"{url} answered {status}")
    return float(took), int(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100, help="tracks in the collection (default 100, at most 100)")
    parser.add_argument("--track-mb", type=float, default=5.0, help="MiB per track (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="downloads, best kept (default 3)")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is needed")
    if not 1 <= args.tracks <= 100:
        sys.exit("--tracks: 1 to 100 (one bulk add)")

    lines: list[str] = []

    def report(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    work = Path(tempfile.mkdtemp(prefix="sono-bench-download-"))
    port = free_port()
    env = clean_env(
        SONO_DATA_DIR=str(work / "data"),
        BENCH_BARE_JSON_FILE=str(work / "bare.json"),
        SONO_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    sono = [sys.executable, "-m", "sono"]
    subprocess.run([*sono, "db", "upgrade"], env=env, check=True, capture_output=True)
    create_admin = ["users", "create-admin", "--username", ADMIN, "--email", ADMIN_EMAIL, "--password", PASSWORD]
    subprocess.run([*sono, *create_admin], env=env, check=True, capture_output=True)
    track = work / "track.wav"
    write_wav(track, int(args.track_mb * MB))
    server = [
        sys.executable, "-m", "uvicorn", "bench_audio_app:create", "--factory", "--app-dir", str(BENCH_DIR),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--lifespan", "on",
        "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    report(
        f"Sono collection download benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, 1 uvicorn worker, local storage, SQLite, client curl"
    )
    try:
        with running(server, env, port, work / "server.log") as (url, _), httpx.Client(base_url=url, timeout=120) as c:
            token = c.post("/api/v1/users/token", data={"username": ADMIN, "password": PASSWORD}).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            me = c.get("/api/v1/users/me", headers=auth).json()
            limit = c.put(f"/api/v1/admin/users/{me['id']}/upload-limit", headers=auth, json={"max_audio_uploads": 100})
            limit.raise_for_status()
            ids = []
            for _ in range(args.tracks):
                answer = curl_upload(url, auth, track)
                assert answer is not None
                ids.append(answer[1]["id"])
            collection = c.post(
                "/api/v1/collections/", headers=auth, json={"title": "Bench", "collection_type": "playlist"}
            )
            collection.raise_for_status()
            collection_id = collection.json()["id"]
            added = c.post(
                f"/api/v1/collections/{collection_id}/tracks/bulk-add", headers=auth, json={"audio_file_ids": ids}
            )
            added.raise_for_status()

            pid = server_pid(port)
            archive = work / "collection.zip"
            downloads, growths = [], []
            for _ in range(args.runs):
                before = rss_kib(pid, "VmRSS")
                reset_peak(pid)
                took, size = curl_download(f"{url}/api/v1/collections/{collection_id}/download", auth, archive)
                downloads.append(took)
                growths.append(rss_kib(pid, "VmHWM") - before)
            with zipfile.ZipFile(archive) as zipped:
                members = zipped.infolist()
                assert len(members) == args.tracks, len(members)
                assert all(m.compress_type == zipfile.ZIP_STORED for m in members)
                assert zipped.testzip() is None
            archive.unlink()

            file_url = c.get(f"/api/v1/audio/{ids[0]}", headers=auth).json()["file_url"]
            one, one_size = curl_download(file_url, {}, work / "one.wav")
            assert one_size == track.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = min(downloads)
    total_mb = size / MB
    report(
        f"{args.tracks} tracks of {args.track_mb:g} MiB: ZIP of {total_mb:.0f} MiB (stored, {args.tracks} members, "
        f"verified) in {best:.2f} s (best of {args.runs}: {', '.join(f'{t:.2f}' for t in downloads)}) -> "
        f"{total_mb / best:.0f} MiB/s; {best / CLIENT_BUDGET_SECONDS:.1%} of the web client's {CLIENT_BUDGET_SECONDS} s"
    )
    report(
        f"one track through the media route: {one_size / MB / one:.0f} MiB/s -> the download streams at "
        f"{total_mb / best / (one_size / MB / one):.2f} of that"
    )
    report(
        f"server peak RSS growth during a download: {max(growths) / 1024:.1f} MiB "
        f"(runs: {', '.join(f'{g / 1024:.1f}' for g in growths)})"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
