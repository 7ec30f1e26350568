"""Uploads whose body stalls (issue 12, section 4): the spool sweep of ``sono jobs run-due`` never
removes the file of a live upload, however old it looks, and a spool file that disappears anyway is
never a 500."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sono.adapters.files import SpoolFolder
from sono.adapters.storage.local import LocalStorage
from sono.entrypoints.http.middleware import BODY_TIMED_OUT
from sono.entrypoints.worker import run_due_jobs
from tests.fixtures.media import mp3_bytes
from tests.integration.api.conftest import Api, MakeApi

BOUNDARY = "stalledboundary"
UPLOAD = "/api/v1/audio/upload"
GUARD = 60  # seconds: fails instead of hanging; nothing here comes near it


class StallingBody:
    """A valid upload form that stops halfway through the file until ``resume`` is set."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.stalled = asyncio.Event()
        self.resume = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="song.mp3"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n"
        ).encode()
        half = len(self.data) // 2
        yield head + self.data[:half]
        self.stalled.set()
        await self.resume.wait()
        yield self.data[half:] + f"\r\n--{BOUNDARY}--\r\n".encode()


async def start_stalled_upload(api: Api) -> tuple[asyncio.Task[httpx.Response], StallingBody, Path]:
    alice = await api.account("alice")
    body = StallingBody(mp3_bytes())
    headers = alice.headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    request = asyncio.create_task(api.client.post(UPLOAD, headers=headers, content=body))
    await asyncio.wait_for(body.stalled.wait(), GUARD)
    for _ in range(GUARD * 100):  # the server has written the first half once its file has bytes
        files = list(api.settings.upload_dir.iterdir()) if api.settings.upload_dir.exists() else []
        if files and files[0].stat().st_size > 0:
            return request, body, files[0]
        await asyncio.sleep(0.01)
    raise AssertionError("the upload was never spooled")


def back_date(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


async def test_the_sweep_leaves_a_live_stalled_upload_alone_and_it_completes(api: Api) -> None:
    request, body, spooled = await start_stalled_upload(api)
    back_date(spooled, 2)

    report = await run_due_jobs(api.container)

    assert report.spool_files_purged == 0
    assert spooled.exists()
    body.resume.set()
    response = await asyncio.wait_for(request, GUARD)
    assert response.status_code == 201, response.text
    assert response.json()["file_size"] == len(body.data)
    assert list(api.settings.upload_dir.iterdir()) == []


async def test_a_spool_file_removed_under_a_live_upload_is_not_a_500(api: Api) -> None:
    """Someone removes it anyway (an operator cleaning the folder by hand): the open file still
    holds the bytes, and the upload is stored whole."""
    request, body, spooled = await start_stalled_upload(api)
    spooled.unlink()

    body.resume.set()
    response = await asyncio.wait_for(request, GUARD)

    assert response.status_code == 201, response.text
    assert response.json()["file_size"] == len(body.data)
    assert list(api.settings.upload_dir.iterdir()) == []


async def test_the_sweep_still_removes_abandoned_spool_files(tmp_path: Path) -> None:
    """A file no request holds (its process died) is removed once old; a recent one stays."""
    abandoned, recent = tmp_path / "upload-a.part", tmp_path / "upload-b.part"
    abandoned.write_bytes(b"left behind")
    recent.write_bytes(b"still arriving")
    back_date(abandoned, 2)

    purged = await SpoolFolder(tmp_path).purge_older_than(datetime.now(UTC) - timedelta(hours=1))

    assert purged == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload-b.part"]


# --------------------------------------------------------------------------- a body that stops


class NeverEnding:
    """A body that sends ``first`` and then nothing, ever (the connection stays open)."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        await asyncio.Event().wait()
        yield b""  # never reached


async def test_an_upload_that_stops_sending_is_408_and_its_spool_file_removed(make_api: MakeApi) -> None:
    api = await make_api(SONO_BODY_IDLE_TIMEOUT="0.3")
    alice = await api.account("alice")
    first = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="song.mp3"\r\n'
        "Content-Type: audio/mpeg\r\n\r\n"
    ).encode() + mp3_bytes()[:1000]
    headers = alice.headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

    response = await asyncio.wait_for(api.client.post(UPLOAD, headers=headers, content=NeverEnding(first)), GUARD)

    assert response.status_code == 408, response.text
    assert response.json() == {"detail": BODY_TIMED_OUT}
    assert response.headers["connection"] == "close"
    assert list(api.settings.upload_dir.iterdir()) == []


async def test_a_json_body_that_stops_is_408(make_api: MakeApi) -> None:
    api = await make_api(SONO_BODY_IDLE_TIMEOUT="0.3")
    headers = {"Content-Type": "application/json", "Content-Length": "200"}

    response = await asyncio.wait_for(
        api.client.post("/api/v1/users/", headers=headers, content=NeverEnding(b'{"username": "al')), GUARD
    )

    assert response.status_code == 408, response.text
    assert response.json() == {"detail": BODY_TIMED_OUT}


async def test_a_stalled_body_is_closed_over_a_real_connection(make_api: MakeApi, unused_tcp_port: int) -> None:
    """uvicorn on loopback, a client that sends the head and half a body and then waits: the
    server answers 408 and closes the connection; a body that keeps coming is not cut."""
    api = await make_api(SONO_BODY_IDLE_TIMEOUT="0.5")
    alice = await api.account("alice")
    config = uvicorn.Config(api.app, host="127.0.0.1", port=unused_tcp_port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        data = mp3_bytes()
        form = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="song.mp3"\r\n'
                "Content-Type: audio/mpeg\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        head = (
            f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {alice.access_token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(form)}\r\n\r\n"
        ).encode()

        reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
        writer.write(head + form[: len(form) // 2])
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), GUARD)  # returns once the server closed
        writer.close()

        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert BODY_TIMED_OUT.encode() in answer
        assert list(api.settings.upload_dir.iterdir()) == []
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, GUARD)


async def test_the_locked_spool_file_is_still_linked_into_local_storage(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spool file is opened by its path (its file object is named after it), so local storage
    links it into place rather than copying it."""
    storage = api.container.ports.storage
    if not isinstance(storage, LocalStorage):
        pytest.skip("S3 copies by design")
    linked: list[int | None] = []
    link = storage._link

    def recording(parts: Any, source: Any) -> int | None:
        linked.append(link(parts, source))
        return linked[-1]

    monkeypatch.setattr(storage, "_link", recording)
    alice = await api.account("alice")
    data = mp3_bytes()
    headers = alice.headers
    response = await api.client.post(UPLOAD, headers=headers, files={"file": ("song.mp3", data, "audio/mpeg")})

    assert response.status_code == 201, response.text
    assert len(data) in linked
