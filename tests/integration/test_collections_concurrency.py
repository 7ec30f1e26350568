"""Concurrent edits of one collection through two ``sono serve`` processes on one PostgreSQL
database: many parallel adds (at positions), removes and reorders all succeed, and afterwards the
positions are 1..n without gaps or duplicates and the collection holds exactly what the edits
leave. Two processes adding the same file at once: one wins, the other gets a 409."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.domain.audio import AudioFile
from tests.integration.test_serve import CLEAN_EXIT, Server, base_env, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "Str0ng!Passw0rd"
COLLECTIONS = "/api/v1/collections"
INITIAL, ADDED = 24, 24
PARALLEL = 16


@dataclass(frozen=True)
class Edit:
    tag: str
    method: str
    url: str
    body: dict[str, object] | None


@pytest.fixture
def two_servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Server, Server]]:
    shared = {
        "SONO_DATABASE_URL": postgres_url,
        "SONO_SECRET_KEY": secrets.token_urlsafe(48),
        "SONO_REFRESH_SECRET_KEY": secrets.token_urlsafe(48),
        "SONO_ARGON2_MEMORY_KIB": "1024",
        "SONO_ARGON2_TIME_COST": "1",
        "SONO_JOBS_ENABLED": "false",
        "SONO_RATE_LIMITS_ENABLED": "false",
        "SONO_LOG_LEVEL": "warning",
    }
    a = start_server(base_env(tmp_path / "a", **shared), log_dir=tmp_path / "a")
    a.wait_healthy()  # migrates first
    b = start_server(base_env(tmp_path / "b", **shared), "--no-migrate", log_dir=tmp_path / "b")
    try:
        b.wait_healthy()
        yield a, b
        assert a.stop() in CLEAN_EXIT, a.output()
        assert b.stop() in CLEAN_EXIT, b.output()
    finally:
        for server in (a, b):
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()


async def _files(postgres_url: str, owner_id: int, count: int) -> list[int]:
    await migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            made = [
                await uow.audio_files.add(
                    AudioFile(
                        owner_id, f"t{i}", "t.mp3", f"audio/{owner_id}/{i}.mp3", "audio/mpeg", 10, "mp3",
                        duration=1.0, upload_date=datetime.now(UTC),
                    )
                )
                for i in range(count)
            ]  # fmt: skip
            await uow.commit()
        return [audio.id for audio in made]  # type: ignore[misc]
    finally:
        await engine.dispose()


async def _positions_in_database(postgres_url: str, collection_id: int) -> list[tuple[int, int]]:
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT track_order, audio_file_id FROM collection_tracks"
                    " WHERE collection_id = :c ORDER BY track_order"
                ),
                {"c": collection_id},
            )
            return [(row[0], row[1]) for row in rows]
    finally:
        await engine.dispose()


async def test_parallel_edits_through_two_processes_keep_the_order_whole(
    two_servers: tuple[Server, Server], postgres_url: str
) -> None:
    a, b = two_servers
    rng = random.Random(7)
    async with httpx.AsyncClient(timeout=60) as client:
        registered = await client.post(
            f"{a.url}/api/v1/users/", json={"username": "owner", "email": "owner@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        tokens = await client.post(f"{b.url}/api/v1/users/token", data={"username": "owner", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        files = await _files(postgres_url, registered.json()["id"], INITIAL + ADDED + 1)
        initial, added, contested = files[:INITIAL], files[INITIAL:-1], files[-1]

        made = await client.post(f"{a.url}{COLLECTIONS}/", json={"title": "Busy"}, headers=auth)
        collection = made.json()["id"]
        bulk = await client.post(
            f"{b.url}{COLLECTIONS}/{collection}/tracks/bulk-add", json={"audio_file_ids": initial}, headers=auth
        )
        assert bulk.status_code == 201, bulk.text
        track_of = {t["audio_file_id"]: t["id"] for t in bulk.json()}
        removed = initial[: INITIAL // 2]
        moved = initial[INITIAL // 2 :]

        def edit(tag: str, i: int, method: str, path: str, body: dict[str, object] | None = None) -> Edit:
            server = (a, b)[i % 2]  # alternate between the processes
            return Edit(tag, method, f"{server.url}{COLLECTIONS}/{collection}{path}", body)

        edits = [
            edit("add", i, "POST", "/tracks", {"audio_file_id": f, "track_order": rng.randint(1, 40)})
            for i, f in enumerate(added)
        ]
        edits += [edit("remove", i, "DELETE", f"/tracks/{track_of[f]}") for i, f in enumerate(removed)]
        edits += [
            edit("move", i, "PUT", f"/tracks/{track_of[f]}/reorder", {"new_order": rng.randint(1, 40)})
            for i, f in enumerate(moved)
        ]
        edits += [edit("contested", i, "POST", "/tracks", {"audio_file_id": contested}) for i in range(4)]
        rng.shuffle(edits)
        gate = asyncio.Semaphore(PARALLEL)

        async def send(change: Edit) -> tuple[str, int, str]:
            async with gate:
                response = await client.request(change.method, change.url, json=change.body, headers=auth)
                return change.tag, response.status_code, response.text

        results = await asyncio.gather(*(send(change) for change in edits))

        failed = [result for result in results if result[0] != "contested" and not 200 <= result[1] < 300]
        assert failed == []
        contested_results = sorted((status, body) for tag, status, body in results if tag == "contested")
        assert [status for status, _ in contested_results] == [201, 409, 409, 409], contested_results
        assert all(body == '{"detail":"Audio file already in collection"}' for _, body in contested_results[1:])

        shown = await client.get(f"{a.url}{COLLECTIONS}/{collection}", headers=auth)
        tracks = shown.json()["tracks"]
        assert [t["track_order"] for t in tracks] == list(range(1, len(tracks) + 1))
        assert sorted(t["audio_file_id"] for t in tracks) == sorted([*moved, *added, contested])
        assert shown.json()["track_count"] == len(moved) + len(added) + 1
        stored = await _positions_in_database(postgres_url, collection)
        assert [order for order, _ in stored] == list(range(1, len(tracks) + 1))
        assert [audio for _, audio in stored] == [t["audio_file_id"] for t in tracks]
