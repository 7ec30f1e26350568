"""Library import benchmark, run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_import.py [--files 2000] [--seconds 2.0]

Generates ``--files`` short WAV files (16-bit mono 22.05 kHz silence of ``--seconds`` plus a few
varied frames, so no two are alike) with varied ID3 tags (title, artist, album, track, year, genre;
about one artist per 40 files and one album per 10) in ``Artist/Album/NN - Title.wav`` folders,
then, in the same run:

(a) ``shutil.copytree`` of the folder (the yardstick: the same bytes copied, no fsync);
(b) ``sono library import FOLDER --owner bench`` into a fresh embedded data directory (SQLite,
    local storage), as a separate process: wall time, files/s, the ratio to (a), and that process's
    peak RSS (``wait4``'s ``ru_maxrss``);
(c) the same command again: every file is skipped by its content hash (files/s, peak RSS);
(d) an import of a tenth of the files into another fresh data directory: its peak RSS against (b)'s
    shows that memory does not grow with the number of files;
(e) the command's fixed cost: an import of an empty folder.

The report is printed and written to ``bench/results/import.txt``. Everything runs in a temporary
directory and ends by itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path

from mutagen.id3 import TALB, TCON, TDRC, TIT2, TPE1, TRCK
from mutagen.wave import WAVE

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "import.txt"
USERNAME, EMAIL, PASSWORD = "bench", "bench@example.com", "B3nch!Passw0rd"
GENRES = ("Rock", "Jazz", "Pop", "Folk", "Electronic", "Classical", "Hip-Hop", "Ambient", "Blues", "Soul")
WORDS = ("blue", "night", "river", "echo", "paper", "glass", "summer", "north", "velvet", "static", "orbit")


def generate(folder: Path, count: int, seconds: float, seed: int = 14) -> int:
    """``count`` tagged WAV files under ``folder``; returns their total size in bytes."""
    rng = random.Random(seed)
    rate = 22050
    silence = b"\x00\x00" * int(rate * seconds)
    total = 0
    for index in range(count):
        artist = f"Artist {index // 40:03d} {WORDS[index // 40 % len(WORDS)].title()}"
        album = f"Album {index // 10:04d}"
        track = index % 10 + 1
        title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {index}"
        path = folder / artist / album / f"{track:02d} - {title}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(silence + struct.pack("<I", index) * (1 + index % 7))  # unique content
        audio = WAVE(str(path))
        audio.add_tags()
        assert audio.tags is not None
        audio.tags.add(TIT2(encoding=3, text=title))
        audio.tags.add(TPE1(encoding=3, text=artist))
        audio.tags.add(TALB(encoding=3, text=album))
        audio.tags.add(TRCK(encoding=3, text=str(track)))
        audio.tags.add(TDRC(encoding=3, text=str(1960 + index % 60)))
        audio.tags.add(TCON(encoding=3, text=GENRES[index % len(GENRES)]))
        audio.save()
        total += path.stat().st_size
    return total


def sono_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONO_", "KWORB_"))}
    env.update(SONO_DATA_DIR=str(data_dir), SONO_LOG_LEVEL="warning")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def run_and_measure(data_dir: Path, *args: str) -> tuple[float, int, int, str]:
    """Run ``sono ARGS`` as a process, reaped here so that its own peak RSS is known: (wall seconds,
    exit code, peak RSS in KiB, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "sono", *args], env=sono_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"sono {' '.join(args)} exited {process.returncode}:\n{out.decode()}\n{err.decode()}")
    return elapsed, process.returncode, usage.ru_maxrss, out.decode()


def fresh_data_dir(work: Path, name: str, files: int) -> Path:
    data = work / name
    run_and_measure(data, "db", "upgrade")
    run_and_measure(data, "users", "create-admin", "--username", USERNAME, "--email", EMAIL, "--password", PASSWORD)
    run_and_measure(data, "users", "set-upload-limit", USERNAME, str(files + 10))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0, help="audio length of each file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sono-bench-import-") as temp:
        work = Path(temp)
        library = work / "library"
        started = time.perf_counter()
        size = generate(library, args.files, args.seconds)
        generated = time.perf_counter() - started
        print(f"generated {args.files} files ({size / 1e6:.1f} MB) in {generated:.1f} s", flush=True)

        started = time.perf_counter()
        shutil.copytree(library, work / "copy")
        copy_seconds = time.perf_counter() - started
        print(f"copytree: {copy_seconds:.2f} s", flush=True)

        data = fresh_data_dir(work, "data", args.files)
        import_seconds, _, import_rss, out = run_and_measure(
            data, "library", "import", str(library), "--owner", USERNAME
        )
        assert f"imported: {args.files}" in out, out
        print(f"import: {import_seconds:.2f} s, peak RSS {import_rss / 1024:.1f} MiB", flush=True)
        rerun_seconds, _, rerun_rss, out = run_and_measure(data, "library", "import", str(library), "--owner", USERNAME)
        assert f"skipped: {args.files}" in out, out
        print(f"re-run (all skipped): {rerun_seconds:.2f} s, peak RSS {rerun_rss / 1024:.1f} MiB", flush=True)

        tenth = work / "tenth"
        shutil.copytree(library / sorted(os.listdir(library))[0], tenth / "a")  # one artist: 40 files
        count_tenth = max(1, args.files // 10)
        for index, artist in enumerate(sorted(os.listdir(library))[1:]):
            if sum(1 for _ in tenth.rglob("*.wav")) >= count_tenth:
                break
            shutil.copytree(library / artist, tenth / f"{index}")
        tenth_files = sum(1 for _ in tenth.rglob("*.wav"))
        small = fresh_data_dir(work, "small", tenth_files)
        small_seconds, _, small_rss, _ = run_and_measure(small, "library", "import", str(tenth), "--owner", USERNAME)

        empty = work / "empty"
        empty.mkdir()
        fixed_seconds, _, _, _ = run_and_measure(data, "library", "import", str(empty), "--owner", USERNAME)
        imported_media = sum(p.stat().st_size for p in (data / "media").rglob("*") if p.is_file())

    files = args.files
    load = os.getloadavg()
    lines = [
        f"Library import benchmark ({datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')})",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work was running)",
        f"files: {files} tagged WAV ({args.seconds:g} s of 22.05 kHz mono each), {size / 1e6:.1f} MB,"
        f" in Artist/Album folders; embedded defaults (SQLite, local storage with fsync)",
        "",
        f"(a) shutil.copytree:          {copy_seconds:8.2f} s  {files / copy_seconds:9.1f} files/s",
        f"(b) sono library import:      {import_seconds:8.2f} s  {files / import_seconds:9.1f} files/s"
        f"  peak RSS {import_rss / 1024:.1f} MiB",
        f"    ratio import/copy:        {import_seconds / copy_seconds:8.1f}x the copy's time",
        f"    without the fixed cost:   {files / max(import_seconds - fixed_seconds, 1e-9):9.1f} files/s",
        f"(c) re-run, all skipped:      {rerun_seconds:8.2f} s  {files / rerun_seconds:9.1f} files/s"
        f"  peak RSS {rerun_rss / 1024:.1f} MiB",
        f"(d) import of {tenth_files} files:      {small_seconds:8.2f} s  {tenth_files / small_seconds:9.1f} files/s"
        f"  peak RSS {small_rss / 1024:.1f} MiB (vs {import_rss / 1024:.1f} MiB for {files})",
        f"(e) fixed cost (empty folder): {fixed_seconds:7.2f} s (start-up, settings, database, user lookup)",
        f"stored: {imported_media / 1e6:.1f} MB of media (audio objects and their metadata sidecars)",
    ]
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
