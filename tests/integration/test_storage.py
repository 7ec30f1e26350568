"""The object storage adapters (local disk, S3 against a moto server, in-memory fake) behave alike."""

from __future__ import annotations

import io
import os
import random
import re
import socket
import stat
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aioboto3
import pytest

from sono.adapters.storage import CHUNK_SIZE, InvalidKey, RangeNotSatisfiable
from sono.adapters.storage import s3 as s3_module
from sono.adapters.storage.local import LocalStorage
from sono.adapters.storage.s3 import S3Storage
from sono.adapters.storage.signing import HmacUrlSigner, derive_media_signing_key, verify_media_signature
from sono.application.media.ports import ObjectChunks, ObjectStorage
from sono.domain.errors import BadRequest, NotFound, ServiceUnavailable
from tests.fakes.storage import InMemoryStorage

MiB = 1024 * 1024
SIGNING_KEY = derive_media_signing_key("test-secret-" * 4)
SIGNER = HmacUrlSigner(SIGNING_KEY)
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}
NOW = 1_800_000_000.0

pytestmark = pytest.mark.slow


def _random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _fetch(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    with opener.open(url, timeout=10) as response:
        return response.read()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingReader:
    """A binary file object that records the size of every ``read`` call."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self._buffer = io.BytesIO(data)
        self.sizes: list[int] = []
        self._fail_after = fail_after

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        if self._fail_after is not None and self._buffer.tell() >= self._fail_after:
            raise OSError("client went away")
        return self._buffer.read(size)


async def _collect(obj: ObjectChunks) -> tuple[bytes, list[bytes]]:
    chunks = [chunk async for chunk in obj.chunks]
    return b"".join(chunks), chunks


async def _read(storage: ObjectStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return (await _collect(await storage.open(key, start, end)))[0]


# --------------------------------------------------------------------------- fixtures


async def _s3_storage(endpoint: str, **options: object) -> S3Storage:
    storage = S3Storage(endpoint_url=endpoint, bucket=f"sono-{uuid.uuid4().hex[:12]}", **CREDENTIALS, **options)  # type: ignore[arg-type]
    await storage.ensure_bucket()
    return storage


@pytest.fixture(params=["local", "s3", "memory"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStorage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "media", base_url="http://testserver", signer=SIGNER)
    elif request.param == "s3":
        s3 = await _s3_storage(request.getfixturevalue("s3_endpoint"), part_size=5 * MiB)
        try:
            yield s3
        finally:
            await s3.close()
    else:
        yield InMemoryStorage()


@pytest.fixture
async def s3(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    storage = await _s3_storage(s3_endpoint, part_size=5 * MiB)
    try:
        yield storage
    finally:
        await storage.close()


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media", base_url="http://testserver", signer=SIGNER)


# --------------------------------------------------------------------------- every backend


async def test_put_streams_a_file_object_in_chunks(storage: ObjectStorage) -> None:
    data = _random_bytes(3 * MiB + 123)
    reader = RecordingReader(data)

    stored = await storage.put("audio/7/track.mp3", reader, "audio/mpeg")  # type: ignore[arg-type]

    assert (stored.key, stored.size, stored.content_type) == ("audio/7/track.mp3", len(data), "audio/mpeg")
    assert all(0 < size <= MiB for size in reader.sizes), "the body must be read in bounded chunks"
    obj = await storage.open("audio/7/track.mp3")
    body, chunks = await _collect(obj)
    assert body == data
    assert (obj.start, obj.end, obj.total_size, obj.content_type) == (0, len(data) - 1, len(data), "audio/mpeg")
    assert len(chunks) >= 3, "the body must be streamed, not returned whole"
    assert len(chunks[0]) <= CHUNK_SIZE, "the first bytes go out in a small chunk"
    assert max(len(chunk) for chunk in chunks) <= MiB, "a download holds at most 1 MiB at a time"


async def test_put_from_a_real_file(storage: ObjectStorage, tmp_path: Path) -> None:
    data = _random_bytes(MiB + 1, seed=3)
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    with source.open("rb") as file:
        stored = await storage.put("covers/c.jpg", file, "image/jpeg")
    assert stored.size == len(data)
    assert await _read(storage, "covers/c.jpg") == data


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, slice(0, 1)),  # first byte
        (100, 199, slice(100, 200)),  # middle
        (10230, None, slice(10230, None)),  # last bytes, open-ended
        (10239, 10239, slice(10239, None)),  # last byte
        (10000, 99999, slice(10000, None)),  # end past the object: clamped
        (0, None, slice(None)),  # whole
        (0, 10239, slice(None)),  # whole, explicit
        (-25, None, slice(-25, None)),  # suffix: the last 25 bytes
        (-99999, None, slice(None)),  # suffix longer than the object
    ],
)
async def test_open_ranges(storage: ObjectStorage, start: int, end: int | None, expected: slice) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    await storage.put_bytes("avatars/a.webp", data, "image/webp")

    obj = await storage.open("avatars/a.webp", start, end)
    body, _ = await _collect(obj)

    assert body == data[expected]
    assert obj.total_size == len(data)
    assert obj.content_type == "image/webp"
    first, stop, _ = expected.indices(len(data))
    assert (obj.start, obj.end) == (first, stop - 1)


async def test_range_beyond_the_end_is_not_satisfiable(storage: ObjectStorage) -> None:
    await storage.put_bytes("avatars/a.webp", b"0123456789", "image/webp")
    with pytest.raises(RangeNotSatisfiable) as caught:
        await storage.open("avatars/a.webp", 10)
    assert caught.value.total_size == 10
    with pytest.raises(BadRequest):
        await storage.open("avatars/a.webp", 5, 4)


async def test_empty_object(storage: ObjectStorage) -> None:
    stored = await storage.put_bytes("covers/empty.jpg", b"", "image/jpeg")
    assert stored.size == 0
    obj = await storage.open("covers/empty.jpg")
    assert (obj.total_size, obj.start, obj.end) == (0, 0, -1)
    assert await _collect(obj) == (b"", [])


async def test_missing_object(storage: ObjectStorage) -> None:
    with pytest.raises(NotFound):
        await storage.open("audio/1/missing.mp3")
    with pytest.raises(NotFound):
        await storage.open("audio/1/missing.mp3", 5, 10)
    assert not await storage.exists("audio/1/missing.mp3")


async def test_overwrite_replaces_bytes_and_type(storage: ObjectStorage) -> None:
    await storage.put_bytes("avatars/a.webp", b"old", "image/png")
    await storage.put_bytes("avatars/a.webp", b"newer", "image/webp")
    obj = await storage.open("avatars/a.webp")
    assert (await _collect(obj))[0] == b"newer"
    assert (obj.total_size, obj.content_type) == (5, "image/webp")


async def test_delete_is_idempotent(storage: ObjectStorage) -> None:
    await storage.put_bytes("audio/2/x.mp3", b"abc", "audio/mpeg")
    assert await storage.exists("audio/2/x.mp3")
    await storage.delete("audio/2/x.mp3")
    assert not await storage.exists("audio/2/x.mp3")
    await storage.delete("audio/2/x.mp3")
    await storage.delete("audio/2/never.mp3")
    with pytest.raises(NotFound):
        await storage.open("audio/2/x.mp3")


async def test_delete_many(storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 2)  # exercise the batching with few keys
    keys = [f"audio/3/{i}.mp3" for i in range(5)]
    for key in keys:
        await storage.put_bytes(key, key.encode(), "audio/mpeg")
    await storage.put_bytes("audio/3/keep.mp3", b"keep", "audio/mpeg")

    await storage.delete_many([*keys, "audio/3/missing.mp3", keys[0]])
    await storage.delete_many([])

    assert [await storage.exists(key) for key in keys] == [False] * 5
    assert await _read(storage, "audio/3/keep.mp3") == b"keep"


async def test_stopping_a_stream_early(storage: ObjectStorage) -> None:
    await storage.put_bytes("audio/4/x.mp3", _random_bytes(2 * MiB), "audio/mpeg")
    obj = await storage.open("audio/4/x.mp3")
    iterator = aiter(obj.chunks)
    first = await anext(iterator)
    assert first
    await iterator.aclose()  # type: ignore[attr-defined]
    assert await _read(storage, "audio/4/x.mp3", 0, 3) == first[:4]


@pytest.mark.parametrize(
    "key",
    ["../escape", "a/../../escape", "/etc/passwd", "a\\b", "a\x00b", "", "a//b", "a/", ".meta/x.json", "a/./b", "a\nb"],
)
async def test_unsafe_keys_are_refused(storage: ObjectStorage, key: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidKey):
        await storage.put_bytes(key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        await storage.put(key, io.BytesIO(b"x"), "text/plain")
    with pytest.raises(InvalidKey):
        await storage.open(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    with pytest.raises(InvalidKey):
        await storage.delete_many(["ok/key", key])
    with pytest.raises(InvalidKey):
        await storage.public_url(key)
    with pytest.raises(InvalidKey):
        await storage.signed_url(key, 2_000_000_000)
    assert issubclass(InvalidKey, BadRequest) and issubclass(InvalidKey, ValueError)
    assert not (tmp_path / "escape").exists()


async def test_check(storage: ObjectStorage) -> None:
    await storage.check()


# --------------------------------------------------------------------------- local disk


async def test_local_layout_permissions_and_no_leftovers(local: LocalStorage, tmp_path: Path) -> None:
    await local.put("audio/9/x.mp3", io.BytesIO(b"abc"), "audio/mpeg")
    path = tmp_path / "media" / "audio" / "9" / "x.mp3"
    assert path.read_bytes() == b"abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.mp3"], "no temporary files left behind"


async def test_local_failed_upload_leaves_nothing(local: LocalStorage, tmp_path: Path) -> None:
    await local.put_bytes("audio/9/x.mp3", b"original", "audio/mpeg")
    with pytest.raises(OSError, match="went away"):
        await local.put("audio/9/x.mp3", RecordingReader(_random_bytes(MiB), fail_after=CHUNK_SIZE), "audio/mpeg")  # type: ignore[arg-type]
    assert await _read(local, "audio/9/x.mp3") == b"original"
    assert sorted(p.name for p in (tmp_path / "media" / "audio" / "9").iterdir()) == ["x.mp3"]


async def test_local_content_type_falls_back_to_the_extension(local: LocalStorage, tmp_path: Path) -> None:
    await local.put_bytes("audio/9/x.flac", b"abc", "audio/x-custom")
    assert (await local.open("audio/9/x.flac")).content_type == "audio/x-custom"
    for sidecar in (tmp_path / "media" / ".meta").rglob("*.json"):
        sidecar.unlink()
    assert (await local.open("audio/9/x.flac")).content_type == "audio/flac"


async def test_public_urls_only_for_public_keys(storage: ObjectStorage) -> None:
    """Whether an object may be fetched without a signature is its key's to say, not the caller's."""
    for key in ("audio/5/x.mp3", "secrets/key", "avatar/x.webp"):
        with pytest.raises(InvalidKey):
            await storage.public_url(key)
    assert "avatars/a.webp" in await storage.public_url("avatars/a.webp")


async def test_local_urls_and_signatures(local: LocalStorage) -> None:
    assert await local.public_url("avatars/a b.webp") == "http://testserver/api/v1/media/avatars/a%20b.webp"

    url = await local.signed_url("audio/5/x.mp3", int(NOW) + 600)
    parsed = urllib.parse.urlsplit(url)
    assert parsed.path == "/api/v1/media/audio/5/x.mp3"
    query = dict(urllib.parse.parse_qsl(parsed.query))
    assert int(query["expires"]) == int(NOW) + 600

    assert SIGNER.verify("audio/5/x.mp3", query["expires"], query["signature"], NOW)
    assert verify_media_signature("audio/5/x.mp3", query["expires"], query["signature"], NOW, signing_key=SIGNING_KEY)
    # expired, tampered, for another key, with another secret, malformed: all refused
    assert not SIGNER.verify("audio/5/x.mp3", query["expires"], query["signature"], NOW + 601)
    assert not SIGNER.verify("audio/5/x.mp3", str(int(query["expires"]) + 1), query["signature"], NOW)
    tampered = ("0" if query["signature"][0] != "0" else "1") + query["signature"][1:]
    assert not SIGNER.verify("audio/5/x.mp3", query["expires"], tampered, NOW)
    assert not SIGNER.verify("audio/5/y.mp3", query["expires"], query["signature"], NOW)
    assert not verify_media_signature(
        "audio/5/x.mp3", query["expires"], query["signature"], NOW, signing_key=derive_media_signing_key("other" * 8)
    )
    malformed = [
        (None, query["signature"]),
        (query["expires"], None),
        ("-1", query["signature"]),
        ("12abc", query["signature"]),
        (query["expires"], "zz" * 32),
        (query["expires"], "é" * 64),
        (query["expires"], query["signature"][:-1]),
    ]
    for expires, signature in malformed:
        assert not SIGNER.verify("audio/5/x.mp3", expires, signature, NOW)


async def test_local_relative_urls(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, base_url="", signer=SIGNER, media_path="media/")
    assert await storage.public_url("covers/c.jpg") == "/media/covers/c.jpg"


async def test_local_check_fails_when_the_root_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(ServiceUnavailable):
        await LocalStorage(blocker / "media", base_url="", signer=SIGNER).check()


# --------------------------------------------------------------------------- local disk: symbolic links


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the media root holding a secret (like the JWT signing key)."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "secret_key").write_bytes(b"the-jwt-signing-key")
    return folder


async def test_local_never_reads_through_a_link(local: LocalStorage, tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "media"
    await local.put_bytes("avatars/real.webp", b"real", "image/webp")
    (root / "avatars" / "key.webp").symlink_to(outside / "secret_key")  # a link to a file outside
    (root / "avatars" / "inside.webp").symlink_to(root / "avatars" / "real.webp")  # even to one inside
    (root / "leak").symlink_to(outside, target_is_directory=True)  # a link to a folder outside
    (root / "again").symlink_to(root / "avatars", target_is_directory=True)  # a link to a folder inside
    (root / "audio").mkdir()
    (root / "audio" / "dir.mp3").mkdir()
    os.mkfifo(root / "audio" / "fifo.mp3")  # opening a FIFO would wait for a writer

    for key in ("avatars/key.webp", "avatars/inside.webp", "leak/secret_key", "again/real.webp", "audio/dir.mp3",
                "audio/fifo.mp3"):  # fmt: skip
        with pytest.raises(NotFound):
            await local.open(key)
        with pytest.raises(NotFound):
            await local.open(key, 0, 3)
        assert not await local.exists(key), key
    assert await _read(local, "avatars/real.webp") == b"real"


async def test_local_never_writes_or_deletes_through_a_link(local: LocalStorage, tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    (root / "leak").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OSError, match=r"loop|link|directory"):
        await local.put_bytes("leak/planted", b"planted", "text/plain")
    await local.delete("leak/secret_key")
    await local.delete_many(["leak/secret_key"])
    assert sorted(p.name for p in outside.iterdir()) == ["secret_key"]
    assert (outside / "secret_key").read_bytes() == b"the-jwt-signing-key"

    (root / "avatars").mkdir()
    (root / "avatars" / "a.webp").symlink_to(outside / "secret_key")
    await local.put_bytes("avatars/a.webp", b"new picture", "image/webp")  # replaces the link itself
    assert not (root / "avatars" / "a.webp").is_symlink()
    assert await _read(local, "avatars/a.webp") == b"new picture"
    (root / "avatars" / "b.webp").symlink_to(outside / "secret_key")
    await local.delete("avatars/b.webp")  # removes the link, not its target
    assert not (root / "avatars" / "b.webp").exists()
    assert (outside / "secret_key").read_bytes() == b"the-jwt-signing-key"


async def test_media_route_does_not_serve_a_link_to_the_signing_key(tmp_path: Path) -> None:
    """The incident: a link inside the media folder served the JWT signing key."""
    import httpx

    from sono.adapters.sqlalchemy.migrate import upgrade
    from sono.bootstrap import build_container
    from sono.config import load_settings
    from sono.entrypoints.http.app import create_app

    settings = load_settings({"SONO_DATA_DIR": str(tmp_path / "data"), "SONO_JOBS_ENABLED": "false"})
    await upgrade(settings.database_url)
    container = await build_container(settings)
    try:
        secret = (settings.secrets_dir / "secret_key").read_text()
        settings.media_dir.joinpath("avatars").mkdir(parents=True)
        settings.media_dir.joinpath("avatars", "key.webp").symlink_to(settings.secrets_dir / "secret_key")
        settings.media_dir.joinpath("covers").symlink_to(settings.secrets_dir, target_is_directory=True)
        transport = httpx.ASGITransport(create_app(settings, container=container))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            for path in ("/api/v1/media/avatars/key.webp", "/api/v1/media/covers/secret_key"):
                response = await client.get(path)
                assert response.status_code == 404, path
                assert response.json() == {"detail": "Media not found"}
                assert secret not in response.text
    finally:
        await container.aclose()


# --------------------------------------------------------------------------- S3


async def test_s3_multipart_upload(s3: S3Storage, s3_endpoint: str) -> None:
    data = _random_bytes(11 * MiB, seed=11)
    reader = RecordingReader(data)
    stored = await s3.put("audio/8/long.flac", reader, "audio/flac")  # type: ignore[arg-type]

    assert stored.size == len(data)
    assert all(0 < size <= MiB for size in reader.sizes)
    session = aioboto3.Session()
    async with session.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ) as client:
        head = await client.head_object(Bucket=s3.bucket, Key="audio/8/long.flac")
    assert head["ETag"].strip('"').endswith("-3"), "11 MiB in 5 MiB parts is a three-part upload"
    assert head["ContentType"] == "audio/flac"
    assert await _read(s3, "audio/8/long.flac", 5 * MiB - 2, 5 * MiB + 1) == data[5 * MiB - 2 : 5 * MiB + 2]


@pytest.mark.parametrize("size", [12 * MiB + 321, 10 * MiB, 5 * MiB - 1])
async def test_s3_upload_from_a_file_reads_back_identical(s3: S3Storage, tmp_path: Path, size: int) -> None:
    """Parts go out as buffers sent like files (signed and streamed in chunks): every byte of an
    upload larger than a part, an exact number of parts, or less than one part comes back."""
    data = _random_bytes(size, seed=size)
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    with source.open("rb") as file:
        file.read(7)  # what remains of the file is uploaded
        stored = await s3.put("audio/9/whole.flac", file, "audio/flac")  # type: ignore[arg-type]
    assert stored.size == size - 7
    assert await _read(s3, "audio/9/whole.flac") == data[7:]
    info = await s3.head("audio/9/whole.flac")
    assert (info.size, info.content_type) == (size - 7, "audio/flac")
    parts = -(-(size - 7) // (5 * MiB))
    assert info.etag.strip('"').endswith(f"-{parts}") if parts > 1 else "-" not in info.etag


async def test_s3_failed_multipart_upload_is_aborted(s3: S3Storage, s3_endpoint: str) -> None:
    reader = RecordingReader(_random_bytes(11 * MiB), fail_after=6 * MiB)
    with pytest.raises(OSError, match="went away"):
        await s3.put("audio/8/broken.mp3", reader, "audio/mpeg")  # type: ignore[arg-type]
    assert not await s3.exists("audio/8/broken.mp3")
    session = aioboto3.Session()
    async with session.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ) as client:
        uploads = await client.list_multipart_uploads(Bucket=s3.bucket)
    assert not uploads.get("Uploads")


class FakeBody:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.closed = False

    async def read(self, size: int) -> bytes:
        return self._data.read(size)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(("skip", "length"), [(0, None), (0, 5), (3, 10), (7, 93), (99, 1), (40, 60)])
async def test_s3_body_window_for_services_ignoring_ranges(skip: int, length: int | None) -> None:
    data = bytes(range(100))
    body = FakeBody(data)
    chunks = [c async for c in s3_module._body_chunks(body, 8, skip, length)]
    assert b"".join(chunks) == data[skip : None if length is None else skip + length]
    assert all(chunks)
    if length is None:
        assert not body.closed, "a body read to its end is released, not closed"
    elif skip + length < len(data):
        assert body.closed, "a body abandoned midway is closed"


async def test_s3_presigned_urls_are_fetchable(s3: S3Storage) -> None:
    data = _random_bytes(70_000)
    await s3.put_bytes("audio/6/x.mp3", data, "audio/mpeg")

    private = await s3.signed_url("audio/6/x.mp3", int(time.time()) + 120)
    assert "X-Amz-Signature=" in private and re.search(r"X-Amz-Expires=1[12][0-9]\b", private)
    assert _fetch(private) == data

    await s3.put_bytes("covers/6/x.webp", data, "image/webp")
    public = await s3.public_url("covers/6/x.webp")
    assert "X-Amz-Expires=604800" in public
    assert _fetch(public) == data


async def test_s3_public_base_url(s3_endpoint: str) -> None:
    storage = S3Storage(
        endpoint_url=s3_endpoint, bucket="b", public_base_url="https://cdn.example/media/", **CREDENTIALS
    )  # type: ignore[arg-type]
    assert await storage.public_url("covers/c 1.jpg") == "https://cdn.example/media/covers/c%201.jpg"
    await storage.close()


async def test_s3_ensure_bucket_is_idempotent_and_check_sees_it(s3_endpoint: str) -> None:
    async with S3Storage(endpoint_url=s3_endpoint, bucket=f"new-{uuid.uuid4().hex[:8]}", **CREDENTIALS) as storage:  # type: ignore[arg-type]
        with pytest.raises(ServiceUnavailable):
            await storage.check()
        await storage.ensure_bucket()
        await storage.ensure_bucket()
        await storage.check()


async def test_s3_one_client_for_every_call(s3: S3Storage) -> None:
    await s3.start()
    client = await s3._s3()
    await s3.put_bytes("a/b.mp3", b"x", "audio/mpeg")
    await s3.exists("a/b.mp3")
    assert await s3._s3() is client
    await s3.close()
    await s3.close()
    assert await s3.exists("a/b.mp3"), "a closed storage reconnects on demand"


async def test_s3_unreachable_service(tmp_path: Path) -> None:
    async with S3Storage(
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        bucket="b",
        connect_timeout=1,
        max_attempts=1,
        **CREDENTIALS,  # type: ignore[arg-type]
    ) as storage:
        with pytest.raises(ServiceUnavailable):
            await storage.check()
        with pytest.raises(ServiceUnavailable):
            await storage.put_bytes("a/b.mp3", b"x", "audio/mpeg")
        with pytest.raises(ServiceUnavailable):
            await storage.open("a/b.mp3")


# --------------------------------------------------------------------------- in-memory fake


async def test_memory_urls_and_availability_switch() -> None:
    storage = InMemoryStorage()
    assert await storage.public_url("avatars/a.webp") == "memory://media/avatars/a.webp"
    assert (
        await storage.signed_url("audio/a.mp3", int(NOW) + 60) == f"memory://media/audio/a.mp3?expires={int(NOW) + 60}"
    )
    storage.available = False
    with pytest.raises(ServiceUnavailable):
        await storage.check()
