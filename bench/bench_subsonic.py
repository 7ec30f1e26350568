"""The Subsonic ``/rest`` benchmark (issue 14), run by hand on the machine to measure (never by pytest):

    . .venv/bin/activate && python bench/bench_subsonic.py [--database sqlite|postgres]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--duration 5] [--rounds 1]
        [--connections 32] [--page-connections 4]

Seeds, in this process and through the core (not over HTTP, so it takes a minute, not an hour), a
fresh SQLite data dir with local storage (``--database postgres``: a fresh database on the server of
``--postgres-url``, dropped at the end; media stay local): 5 users (the last one an admin), 20,000
songs over 2,000 albums of 10 songs and 400 artists of 5 albums (artist, album, track number, year and
genre tags; the odd track numbers public, so half the songs), users' own by album; real bytes only
where the bench reads them: one 10 MB WAV (``stream``) and a 500x500 JPEG cover on 1,000 albums
(``getCoverArt``). The first user (not an admin: visibility is filtered) gets an app password through
the bus; its secret signs every request (token auth unless said otherwise).

Then one uvicorn worker of ``bench_app:create`` (the app and bare routes answering the same bytes
from memory), rate limits off, and with ``wrk`` (``bench/bench_load.py`` when wrk is missing),
``--connections`` clients (``--page-connections`` for the 500-item pages, whose requests take a
tenth of a second or more: 32 of them queued would outlast a short run), ``--duration`` seconds
each, ``--rounds`` rounds (bare route first in odd rounds, last in even ones):

1. ``getAlbumList2?type=alphabeticalByName&size=500&offset=N`` for every page of the list;
2. ``search3?query=""&songCount=500&songOffset=N`` (the sync path): every page walked once (time of
   the whole sync), first and last page loaded; ``search3?query=<a term of ~100 songs>``;
3. ``getCoverArt?size=300`` for 200 album covers with 32 clients: cold (each once; ``ping`` p99 meanwhile,
   one client pinging every 10 ms), warm (again and again) and with ``If-None-Match`` (304s counted);
4. ``stream`` of the 10 MB song, 16 clients asking random ``Range``s: MB/s against reading the same
   ranges of the stored file, and the server's RSS (VmRSS, VmHWM) before and after;
5. ``ping`` with token auth, with ``apiKey`` and the bare route.

SQL statements of one request of each (the first and a repeated one) are counted in this process on
the same database and a container built from the same settings (the engine's ``before_cursor_execute``
and the fast reads' listeners). The report is printed and written to ``bench/results/subsonic.txt``.
Everything runs on 127.0.0.1, ends by itself, and cleans up after itself on failure too.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import wave
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from bench_load import percentile
from bench_production import commit, loopback_only, postgres_database
from run import BENCH_DIR, clean_env, free_port, measure_get, parse_wrk, running_process, wrk_available, wrk_command
from sqlalchemy import event

RESULTS = BENCH_DIR / "results" / "subsonic.txt"
LOOPBACK = "127.0.0.1"
PASSWORD = "B3nch!Passw0rd"
USERS, SONGS, ALBUMS, ARTISTS, COVERED_ALBUMS = 5, 20_000, 2_000, 400, 1_000
PER_ALBUM = SONGS // ALBUMS
BATCH = 1_000
GENRES = ("Rock", "Jazz", "Pop", "Electronic", "Classical", "Hip-Hop", "Folk", "Metal")
TERM = "Zephyr"  # in the title of every 200th song (a public one): 100 songs
STREAM_TITLE = "Bench Stream Song"
STREAM_BYTES = 10 * 1024 * 1024
PAGE = 500
COVERS_MEASURED, COVER_SIZE, COVER_CLIENTS = 200, 300, 32
STREAM_CLIENTS = 16
PING_GOAL_MS = 50.0
BASE = {"v": "1.16.1", "c": "bench", "f": "json"}
PINGER = """
import json, pathlib, sys, time
import httpx
url, stop = sys.argv[1], pathlib.Path(sys.argv[2])
latencies = []
with httpx.Client(timeout=60, trust_env=False) as client:
    client.get(url).raise_for_status()
    print("ready", flush=True)
    while not stop.exists():
        sent = time.perf_counter()
        client.get(url).raise_for_status()
        latencies.append(time.perf_counter() - sent)
        time.sleep(0.01)
print(json.dumps(latencies))
"""


# --------------------------------------------------------------------------- seeding


def wav_bytes(size: int) -> bytes:
    """A 44.1 kHz 16-bit stereo WAV of about ``size`` bytes (noise: nothing compresses it)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44_100)
        w.writeframes(os.urandom(size - 44))
    return out.getvalue()


def cover_jpeg(n: int) -> bytes:
    """A 500x500 JPEG, different for every ``n`` (a gradient, a few shapes, some noise)."""
    from PIL import Image, ImageDraw

    rng = random.Random(n)
    base = Image.linear_gradient("L").resize((500, 500))
    colour = tuple(rng.randrange(256) for _ in range(3))
    image = Image.merge("RGB", (base, base.rotate(90), Image.new("L", (500, 500), colour[2])))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x, y = rng.randrange(450), rng.randrange(450)
        draw.ellipse((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def seed(settings: Any) -> dict[str, Any]:
    """Users, songs, the library read model, covers, the stream song and the first user's app
    password, in this process through the core; what the measurements need."""
    from sono.application.accounts.messages import CreateAdmin, Register
    from sono.application.app_passwords.messages import CreateAppPassword
    from sono.application.common import PasswordInput
    from sono.application.messages import ANONYMOUS, Actor
    from sono.bootstrap import build_container
    from sono.domain.audio import AudioFile
    from sono.domain.media import object_key

    container = await build_container(settings)
    try:
        users = []
        for n in range(USERS):
            admin = n == USERS - 1
            name = "admin" if admin else f"user{n}"
            email, password = f"{name}@example.com", PasswordInput(PASSWORD)
            if admin:
                user = await container.bus(CreateAdmin(name, email, password, f"User {n}"), Actor.operator())
            else:
                user = (await container.bus(Register(name, email, password, f"User {n}"), ANONYMOUS)).user
            users.append(user)
        storage = container.ports.storage
        covers: dict[int, str] = {}
        for album in range(COVERED_ALBUMS):  # every other album has a cover
            owner = users[(album * 2) % USERS].id
            key = object_key("audio", owner, uuid.uuid4().hex, "jpg")
            await storage.put_bytes(key, cover_jpeg(album), "image/jpeg")
            covers[album * 2] = key
        stream_key = object_key("audio", users[0].id, uuid.uuid4().hex, "wav")
        stream_data = wav_bytes(STREAM_BYTES)
        await storage.put_bytes(stream_key, stream_data, "audio/wav")
        now = datetime.now(UTC)
        public = 0
        for start in range(0, SONGS, BATCH):
            async with container.ports.uow() as uow:
                for n in range(start, start + BATCH):
                    album, track = divmod(n, PER_ALBUM)
                    owner = users[album % USERS]
                    is_public = track % 2 == 0  # track numbers 1, 3, 5...
                    public += is_public
                    streamed = n == 0
                    title = STREAM_TITLE if streamed else f"Song {n:05d}" + (f" {TERM}" if n % 200 == 50 else "")
                    audio = AudioFile(
                        owner_id=owner.id,  # type: ignore[arg-type]
                        title=title,
                        original_filename=f"song-{n}.{'wav' if streamed else 'mp3'}",
                        storage_key=stream_key if streamed else object_key("audio", owner.id, uuid.uuid4().hex, "mp3"),  # type: ignore[arg-type]
                        content_type="audio/wav" if streamed else "audio/mpeg",
                        file_size=len(stream_data) if streamed else 4_000_000 + n,
                        format="wav" if streamed else "mp3",
                        duration=59.4 if streamed else 180.0 + n % 120,
                        bitrate=1411 if streamed else 192,
                        sample_rate=44_100,
                        channels=2,
                        is_public=is_public,
                        artist=f"Artist {album // (ALBUMS // ARTISTS):03d}",
                        album=f"Album {album:04d}",
                        track_number=track + 1,
                        year=1970 + album % 50,
                        genre=GENRES[album % len(GENRES)],
                        cover_art_key=covers.get(album),
                        upload_date=now - timedelta(seconds=SONGS - n),
                        updated_at=now,
                        content_hash=hashlib.sha256(stream_data if streamed else f"song {n}".encode()).hexdigest(),
                    )
                    await uow.audio_files.add(audio)
                    await uow.library.file(audio)
                await uow.commit()
        created = await container.bus(CreateAppPassword("bench"), Actor.user(users[0].id))  # type: ignore[arg-type]
        return {
            "username": users[0].username,
            "secret": created.secret,
            "public": public,
            "stream_path": settings.media_dir / stream_key,
        }
    finally:
        await container.aclose()


# --------------------------------------------------------------------------- requests


class Auth:
    def __init__(self, username: str, secret: str) -> None:
        self.username, self.secret = username, secret
        self.salt = secrets.token_hex(6)
        self.token = hashlib.md5((secret + self.salt).encode()).hexdigest()  # the protocol's

    def params(self, how: str = "token") -> dict[str, str]:
        if how == "apiKey":
            return {"apiKey": self.secret}
        if how == "password":
            return {"u": self.username, "p": self.secret}
        return {"u": self.username, "t": self.token, "s": self.salt}


def rest(method: str, auth: Auth, how: str = "token", **params: Any) -> str:
    return f"/rest/{method}?" + urlencode({**params, **BASE, **auth.params(how)})


def answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()["subsonic-response"]
    if body.get("status") != "ok":
        raise RuntimeError(f"{response.request.url}: {body}")
    return body


def album_page(auth: Auth, offset: int) -> str:
    return rest("getAlbumList2", auth, type="alphabeticalByName", size=PAGE, offset=offset)


def search_page(auth: Auth, offset: int, query: str = '""') -> str:
    return rest("search3", auth, query=query, songCount=PAGE, songOffset=offset, albumCount=0, artistCount=0)


def load(url: str, args: argparse.Namespace, *, connections: int | None = None) -> dict[str, Any]:
    return measure_get(
        url, connections=connections or args.connections, duration=args.duration, headers={}, threads=args.threads
    )


def vm(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


# --------------------------------------------------------------------------- covers and streams


async def cover_passes(url: str, auth: Auth, ids: list[str], duration: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=COVER_CLIENTS + 1, max_keepalive_connections=COVER_CLIENTS + 1)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False) as client:
        paths = [rest("getCoverArt", auth, id=i, size=COVER_SIZE) for i in ids]
        etags: dict[str, str] = {}
        statuses: Counter[str] = Counter()

        async def fetch(path: str, headers: dict[str, str] | None = None) -> httpx.Response:
            response = await client.get(path, headers=headers)
            statuses[str(response.status_code)] += 1
            return response

        # cold: every cover once, 32 at a time; one client (its own process) pings every 10 ms meanwhile
        queue = list(paths)
        stop = Path(tempfile.mkdtemp(prefix="sono-bench-ping-")) / "stop"
        pinger = subprocess.Popen(
            [sys.executable, "-c", PINGER, url + rest("ping", auth), str(stop)], stdout=subprocess.PIPE, text=True
        )
        assert pinger.stdout is not None
        if pinger.stdout.readline().strip() != "ready":
            raise RuntimeError("the pinger did not start")

        async def cold_worker() -> None:
            while queue:
                path = queue.pop()
                response = await fetch(path)
                if response.status_code == 200:
                    etags[path] = response.headers.get("etag", "")

        started = time.perf_counter()
        await asyncio.gather(*(cold_worker() for _ in range(COVER_CLIENTS)))
        cold_seconds = time.perf_counter() - started
        stop.touch()
        out, _ = pinger.communicate(timeout=120)
        shutil.rmtree(stop.parent, ignore_errors=True)
        if pinger.returncode != 0:
            raise RuntimeError(f"the pinger failed: {pinger.returncode}")
        pings: list[float] = json.loads(out)
        cold = {"rps": len(paths) / cold_seconds, "seconds": cold_seconds, "statuses": dict(statuses)}
        pings.sort()

        async def loop(headers_for: Any) -> dict[str, Any]:
            seen: Counter[str] = Counter()
            latencies: list[float] = []
            deadline = time.perf_counter() + duration
            position = [0]

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    path = paths[position[0] % len(paths)]
                    position[0] += 1
                    sent = time.perf_counter()
                    response = await client.get(path, headers=headers_for(path))
                    latencies.append(time.perf_counter() - sent)
                    seen[str(response.status_code)] += 1

            begun = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(COVER_CLIENTS)))
            elapsed = time.perf_counter() - begun
            latencies.sort()
            return {
                "rps": sum(seen.values()) / elapsed,
                "p99_ms": percentile(latencies, 0.99) * 1000,
                "statuses": dict(seen),
            }

        warm = await loop(lambda path: None)
        revalidated = await loop(lambda path: {"If-None-Match": etags.get(path, '"none"')})
        sample = await client.get(paths[0])
        return {
            "cold": cold,
            "ping_p99_ms": percentile(pings, 0.99) * 1000,
            "ping_max_ms": (pings[-1] if pings else float("nan")) * 1000,
            "pings": len(pings),
            "warm": warm,
            "revalidated": revalidated,
            "covers": len(etags),
            "paths": paths,
            "etags": etags,
            "sample": sample.content,
            "cache_control": sample.headers.get("cache-control", ""),
        }


async def stream_pass(url: str, auth: Auth, song: str, size: int, duration: float) -> dict[str, Any]:
    rng = random.Random(14)
    path = rest("stream", auth, id=song)
    total = [0]
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=STREAM_CLIENTS, max_keepalive_connections=STREAM_CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False) as client:
        deadline = time.perf_counter() + duration

        async def reader() -> None:
            while time.perf_counter() < deadline:
                start = rng.randrange(size)
                end = min(size - 1, start + rng.randrange(64 * 1024, 4 * 1024 * 1024))
                async with client.stream("GET", path, headers={"Range": f"bytes={start}-{end}"}) as response:
                    statuses[str(response.status_code)] += 1
                    async for chunk in response.aiter_raw():
                        total[0] += len(chunk)

        begun = time.perf_counter()
        await asyncio.gather(*(reader() for _ in range(STREAM_CLIENTS)))
        elapsed = time.perf_counter() - begun
    return {"mb_s": total[0] / elapsed / 1e6, "bytes": total[0], "detail": f"statuses {dict(statuses)}"}


def wrk_lua(url: str, lua: str, *, connections: int, duration: float, threads: int) -> dict[str, Any]:
    """``wrk`` with a request script: ``parse_wrk``'s figures and the bytes/s it read."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        command = wrk_command(url, connections=connections, duration=duration, headers={}, threads=threads)
        command[-1:-1] = ["-s", script.name]
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration + 120).stdout
    result = parse_wrk(output)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", output)
    scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
    result["bytes_s"] = float(transfer.group(1)) * scale[transfer.group(2)] if transfer else float("nan")
    return result


def lua_cycle(paths: list[str], headers: list[dict[str, str]] | None = None) -> str:
    """A wrk script asking ``paths`` in turn (each with its headers)."""
    items = ",\n".join(json.dumps(p) for p in paths)
    heads = ",\n".join(
        "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in h.items()) + "}" for h in headers or []
    )
    return f"""local paths = {{{items}}}
local headers = {{{heads}}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers[i])
end
"""


def lua_ranges(path: str, size: int) -> str:
    """A wrk script asking random ``Range``s (64 KB to 4 MB) of ``path``."""
    return f"""math.randomseed(14)
request = function()
  local first = math.random(0, {size - 1})
  local last = math.min({size - 1}, first + math.random(65536, 4194304))
  return wrk.format("GET", {json.dumps(path)}, {{["Range"] = "bytes=" .. first .. "-" .. last}})
end
"""


def raw_read(path: Path, duration: float) -> float:
    """MB/s of reading random ranges of the stored file (same sizes as the clients ask), 1 MB at a time."""
    rng = random.Random(14)
    size = path.stat().st_size
    total = 0
    deadline = time.perf_counter() + duration
    begun = time.perf_counter()
    with path.open("rb") as f:
        while time.perf_counter() < deadline:
            start = rng.randrange(size)
            left = min(size - 1, start + rng.randrange(64 * 1024, 4 * 1024 * 1024)) - start + 1
            f.seek(start)
            while left > 0:
                chunk = f.read(min(left, 1024 * 1024))
                if not chunk:
                    break
                total += len(chunk)
                left -= len(chunk)
    return total / (time.perf_counter() - begun) / 1e6


# --------------------------------------------------------------------------- statements


async def count_statements(env: dict[str, str], paths: dict[str, str]) -> dict[str, tuple[int, int, list[str]]]:
    """Each path requested twice in this process (ASGI) on a container built from the server's
    settings: the number of statements of the first and the repeated request, and the latter's."""
    from sono.bootstrap import build_container
    from sono.config import load_settings
    from sono.entrypoints.http.app import create_app

    settings = load_settings({k: v for k, v in env.items() if k.startswith("SONO_")})
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container, run_jobs=False)
        engine = container.ports.uow.engine.sync_engine  # type: ignore[attr-defined]
        statements: list[str] = []

        def record(statement: str) -> None:
            if "maintenance_state" not in statement:
                statements.append(statement)

        def record_cursor(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            record(statement)

        catalogs = [c for c in (container.ports.audio_catalog, container.ports.collection_catalog) if c is not None]
        readers = {id(getattr(c, "_reads", c)): c for c in catalogs}
        counts: dict[str, tuple[int, int, list[str]]] = {}
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get("/health")
            for label, path in paths.items():
                seen: list[list[str]] = []
                for _ in range(2):
                    statements.clear()
                    event.listen(engine, "before_cursor_execute", record_cursor)
                    stops = [c.listen(record) for c in readers.values()]  # type: ignore[attr-defined]
                    try:
                        response = await client.get(path)
                    finally:
                        event.remove(engine, "before_cursor_execute", record_cursor)
                        for stop in stops:
                            stop()
                    if response.status_code not in (200, 206):
                        raise RuntimeError(f"in-process {path}: {response.status_code} {response.text[:300]}")
                    seen.append(list(statements))
                counts[label] = (len(seen[0]), len(seen[1]), seen[1])
        return counts
    finally:
        await container.aclose()


# --------------------------------------------------------------------------- the run


def pair(
    url: str, path: str, bare: str, args: argparse.Namespace, round_: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    targets = [f"{url}/bench/bare/{bare}", f"{url}{path}"]
    if round_ % 2:
        targets.reverse()
    done = {t: load(t, args, connections=args.page_connections) for t in targets}
    return done[f"{url}{path}"], done[f"{url}/bench/bare/{bare}"]


def fmt(result: dict[str, Any]) -> str:
    flag = f" [{result['non_2xx']} non-2xx]" if result.get("non_2xx") else ""
    return f"{result['rps']:,.0f} req/s, p99 {result['p99_ms'] or float('nan'):.1f} ms{flag}"


def bench(args: argparse.Namespace, report: Any) -> None:
    from sono.config import load_settings

    work = Path(tempfile.mkdtemp(prefix="sono-bench-subsonic-"))
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    bare_dir = work / "bare"
    bare_dir.mkdir()
    bares = ("albums", "search", "search-term", "ping", "cover")
    extra = {
        "SONO_DATA_DIR": str(work / "data"),
        "SONO_PUBLIC_URL": url,
        "BENCH_BARE_DIR": str(bare_dir),
        "BENCH_BARE_NAMES": ",".join(bares),
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
    }
    failed = True
    with ExitStack() as stack:
        try:
            if args.database == "postgres":
                extra["SONO_DATABASE_URL"] = stack.enter_context(postgres_database(args.postgres_url))
            env = clean_env(**extra)
            migrated = subprocess.run(
                [sys.executable, "-m", "sono", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300
            )
            if migrated.returncode != 0:
                raise RuntimeError(f"sono db upgrade failed: {migrated.stderr[-2000:]}")
            settings = load_settings({k: v for k, v in env.items() if k.startswith("SONO_")})
            started = time.monotonic()
            seeded = asyncio.run(seed(settings))
            report(
                f"Seed ({time.monotonic() - started:.0f} s, in-process through the core): {USERS} users (1 admin), "
                f"{SONGS:,} songs ({seeded['public']:,} public) over {ALBUMS:,} albums and {ARTISTS} artists, "
                f"500x500 JPEG covers on {COVERED_ALBUMS:,} albums, one {STREAM_BYTES // 2**20} MB WAV; "
                f"requests as {seeded['username']} (not an admin) with an app password"
            )
            auth = Auth(seeded["username"], seeded["secret"])
            server = [
                sys.executable, "-m", "uvicorn", "bench_app:create", "--factory", "--app-dir", str(BENCH_DIR),
                "--host", LOOPBACK, "--port", str(port), "--workers", "1", "--lifespan", "on",
                "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
            ]  # fmt: skip
            with (
                running_process(server, env, port, work / "server.log") as (url, _, process),
                httpx.Client(base_url=url, timeout=120, trust_env=False) as client,
            ):
                paths = run_server(args, report, client, url, auth, bare_dir, process.pid, seeded)
            counts = asyncio.run(count_statements(env, paths))
            report("")
            report("SQL statements of one request (first, repeated; maintenance switch reads left out):")
            for label, (first, repeated, _) in counts.items():
                report(f"  {label}: {first}, {repeated}")
            if args.verbose:
                for label, (_, _, statements) in counts.items():
                    report(f"  {label}, repeated:")
                    for s in statements:
                        report(f"    {' '.join(s.split())[:160]}")
            failed = False
        finally:
            if failed:
                log = work / "server.log"
                if log.exists():
                    print(f"--- server log (tail) ---\n{log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
            shutil.rmtree(work, ignore_errors=True)


def run_server(
    args: argparse.Namespace,
    report: Any,
    client: httpx.Client,
    url: str,
    auth: Auth,
    bare_dir: Path,
    pid: int,
    seeded: dict[str, Any],
) -> dict[str, str]:
    """The measurements; the paths whose statements are counted afterwards."""
    # the lists, walked once: every page, their ids
    albums: list[dict[str, Any]] = []
    offset, album_pages = 0, []
    while True:
        path = album_page(auth, offset)
        page = answer(client.get(path))["albumList2"].get("album", [])
        if not page:
            break
        album_pages.append(offset)
        albums += page
        offset += PAGE
    (bare_dir / "albums.json").write_bytes(client.get(album_page(auth, 0)).content)
    if len({a["id"] for a in albums}) != len(albums):
        raise RuntimeError("getAlbumList2 pages overlap")
    songs, offset, sync_started = 0, 0, time.perf_counter()
    search_pages: list[int] = []
    page_seconds: list[float] = []
    while True:
        sent = time.perf_counter()
        found = answer(client.get(search_page(auth, offset)))["searchResult3"].get("song", [])
        page_seconds.append(time.perf_counter() - sent)
        if not found:
            break
        search_pages.append(offset)
        songs += len(found)
        offset += PAGE
    sync_seconds = time.perf_counter() - sync_started
    (bare_dir / "search.json").write_bytes(client.get(search_page(auth, 0)).content)
    term_path = search_page(auth, 0, TERM)
    term_body = client.get(term_path).content
    (bare_dir / "search-term.json").write_bytes(term_body)
    term_hits = len(json.loads(term_body)["subsonic-response"]["searchResult3"].get("song", []))
    (bare_dir / "ping.json").write_bytes(client.get(rest("ping", auth)).content)
    streamed = answer(client.get(search_page(auth, 0, STREAM_TITLE)))["searchResult3"].get("song", [])
    stream_song = next((s for s in streamed if s["title"] == STREAM_TITLE), None)
    if stream_song is None:
        raise RuntimeError(f"search3 query={STREAM_TITLE!r} did not find the stream song: {streamed[:3]}")
    cover_ids = [a["coverArt"] for a in albums if a.get("coverArt")]
    report(
        f"Visible to {auth.username}: {len(albums):,} albums ({len(album_pages)} pages of {PAGE}), {songs:,} songs "
        f"({len(search_pages)} pages), {len(cover_ids):,} albums with a cover, {term_hits} songs match {TERM!r}"
    )
    report(
        f"search3 sync: all {len(search_pages)} pages walked one after the other in {sync_seconds:.1f} s; one "
        f"request alone: first page {page_seconds[0] * 1000:.0f} ms, last page {page_seconds[-2] * 1000:.0f} ms, "
        f"median {sorted(page_seconds)[len(page_seconds) // 2] * 1000:.0f} ms"
    )

    measured_covers = cover_ids[:: max(1, len(cover_ids) // COVERS_MEASURED)][:COVERS_MEASURED]
    for round_ in range(args.rounds):
        report(f"\n### round {round_ + 1}")
        # 1. album list pages
        for n, offset in enumerate(album_pages):
            path = album_page(auth, offset)
            if n == 0:
                route, bare = pair(url, path, "albums", args, round_)
                ratio = route["rps"] / bare["rps"]
                report(f"getAlbumList2 offset={offset}: {fmt(route)}; bare {fmt(bare)} -> {ratio:.2f}")
            else:
                page = load(url + path, args, connections=args.page_connections)
                report(f"getAlbumList2 offset={offset}: {fmt(page)}")
        # 2. search
        last = search_pages[-1]
        route, bare = pair(url, search_page(auth, 0), "search", args, round_)
        report(f'search3 query="" songOffset=0: {fmt(route)}; bare {fmt(bare)} -> {route["rps"] / bare["rps"]:.2f}')
        deep = load(url + search_page(auth, last), args, connections=args.page_connections)
        report(f'search3 query="" songOffset={last} (last page): {fmt(deep)}')
        route, bare = pair(url, term_path, "search-term", args, round_)
        report(f"search3 query={TERM}: {fmt(route)}; bare {fmt(bare)} -> {route['rps'] / bare['rps']:.2f}")
        # 5. auth overhead
        token = load(url + rest("ping", auth), args)
        api_key = load(url + rest("ping", auth, "apiKey"), args)
        bare = load(f"{url}/bench/bare/ping", args)
        ratio = token["rps"] / bare["rps"]
        verdict = "met" if ratio >= 1 / 3 else "NOT met"
        report(f"ping token auth: {fmt(token)} -> {ratio:.2f} of bare (goal >= 0.33: {verdict})")
        report(f"ping apiKey: {fmt(api_key)} -> {api_key['rps'] / bare['rps']:.2f} of bare")
        report(f"ping bare route: {fmt(bare)}")

    # 3. covers: cold once (a fresh server process's cache is empty: this is the only cold pass)
    covers = asyncio.run(cover_passes(url, auth, measured_covers, args.duration))
    (bare_dir / "cover.json").write_bytes(covers["sample"])
    cover_bare = load(f"{url}/bench/bare/cover", args, connections=COVER_CLIENTS)
    cold, warm, revalidated = covers["cold"], covers["warm"], covers["revalidated"]
    ping_ok = "met" if covers["ping_p99_ms"] < PING_GOAL_MS else "NOT met"
    report(f"\ngetCoverArt size={COVER_SIZE}, {len(measured_covers)} album covers, {COVER_CLIENTS} clients:")
    report(f"  cold (each once): {cold['rps']:,.0f} req/s ({cold['seconds']:.2f} s), statuses {cold['statuses']}")
    report(
        f"  ping meanwhile ({covers['pings']} pings): p99 {covers['ping_p99_ms']:.1f} ms, max "
        f"{covers['ping_max_ms']:.1f} ms (goal < {PING_GOAL_MS:g} ms: {ping_ok})"
    )
    report(f"  warm (httpx, {COVER_CLIENTS} clients): {warm['rps']:,.0f} req/s, statuses {warm['statuses']}")
    report(
        f"  warm with If-None-Match (httpx): {revalidated['rps']:,.0f} req/s, statuses {revalidated['statuses']} "
        f"(304 = answered without reading or resizing)"
    )
    if wrk_available():
        load_args = {"connections": COVER_CLIENTS, "duration": args.duration, "threads": args.threads}
        warm = wrk_lua(url, lua_cycle(covers["paths"]), **load_args)
        heads = [{"If-None-Match": covers["etags"].get(p, '"none"')} for p in covers["paths"]]
        revalidated = wrk_lua(url, lua_cycle(covers["paths"], heads), **load_args)
        report(f"  warm (wrk): {fmt(warm)}")
        report(f"  warm with If-None-Match (wrk): {fmt(revalidated)}")
    report(f"  bare route ({len(covers['sample']):,} bytes, the resized JPEG): {fmt(cover_bare)}")
    report(f"  Cache-Control of a current cover id: {covers['cache_control']!r}")

    # 4. stream
    before = vm(pid)
    if wrk_available():
        ranges = lua_ranges(rest("stream", auth, id=stream_song["id"]), stream_song["size"])
        done = wrk_lua(url, ranges, connections=STREAM_CLIENTS, duration=args.duration, threads=args.threads)
        stream = {"mb_s": done["bytes_s"] / 1e6, "bytes": done["bytes_s"] * args.duration, "detail": fmt(done)}
    else:
        stream = asyncio.run(stream_pass(url, auth, stream_song["id"], stream_song["size"], args.duration))
    after = vm(pid)
    raw = raw_read(Path(seeded["stream_path"]), min(args.duration, 2.0))
    report(f"\nstream of the {stream_song['size'] / 1e6:.1f} MB song, {STREAM_CLIENTS} clients, random Ranges:")
    report(
        f"  {stream['mb_s']:,.0f} MB/s ({stream['bytes'] / 1e6:,.0f} MB; {stream['detail']}); raw read of "
        f"the same ranges of the stored file: {raw:,.0f} MB/s -> {stream['mb_s'] / raw:.2f}"
    )
    report(
        f"  server RSS: {before['VmRSS'] / 1024:.0f} -> {after['VmRSS'] / 1024:.0f} MB "
        f"(+{(after['VmRSS'] - before['VmRSS']) / 1024:.1f}), peak {before['VmHWM'] / 1024:.0f} -> "
        f"{after['VmHWM'] / 1024:.0f} MB"
    )
    last = search_pages[-1]
    return {
        "getAlbumList2 offset=0": album_page(auth, 0),
        f"getAlbumList2 offset={album_pages[-1]}": album_page(auth, album_pages[-1]),
        'search3 query="" songOffset=0': search_page(auth, 0),
        f'search3 query="" songOffset={last}': search_page(auth, last),
        f"search3 query={TERM}": term_path,
        "ping (token)": rest("ping", auth),
        "ping (apiKey)": rest("ping", auth, "apiKey"),
        f"getCoverArt size={COVER_SIZE}": rest("getCoverArt", auth, id=measured_covers[0], size=COVER_SIZE),
        "stream": rest("stream", auth, id=stream_song["id"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the load measurements (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="clients of the load generator (default 32)")
    parser.add_argument(
        "--page-connections",
        type=int,
        default=4,
        help="clients for the 500-item pages (default 4: with 32, a request waits out most of a short run)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--verbose", action="store_true", help="also print the statements counted")
    args = parser.parse_args()
    if args.database == "postgres":
        loopback_only(args.postgres_url, "--postgres-url")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    generator = f"wrk -t{args.threads} -c{args.connections}" if wrk_available() else "bench/bench_load.py (httpx)"
    lines: list[str] = []

    def report(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    report(
        f"## Subsonic /rest on {'PostgreSQL' if args.database == 'postgres' else 'SQLite'} + local storage: "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, code of commit {commit()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, 1 uvicorn worker, {generator}, {args.duration:g} s per measurement, "
        f"{args.rounds} round(s), {args.page_connections} connections for the 500-item pages (and their bare routes), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    try:
        bench(args, report)
    except Exception:
        traceback.print_exc()
        print("error: the run failed (cleaned up)", file=sys.stderr)
        sys.exit(1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
