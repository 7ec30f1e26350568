"""The audio endpoints over HTTP, on SQLite with local storage and on PostgreSQL (and Redis) with S3:
uploads decided by content in all seven formats, every refusal of the contract, tags and cover art,
the quota (also under concurrency), visibility, lists and their statement counts, updates,
deletions, downloads, and the GDPR export and hard deletion."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import random
import wave
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from sono.adapters.renditions import MemoryRenditions
from sono.domain.collections import Collection, CollectionType
from sono.domain.media import AUDIO_UNSUPPORTED
from sono.entrypoints.worker import run_due_jobs
from tests.fixtures.media import mp3_bytes, png_bytes
from tests.fixtures.tagged import FORMATS, Tags, tagged, untagged
from tests.integration.api.audio_support import (
    MB,
    UPLOAD,
    audio_api,
    counted_statements,
    fetch,
    on_s3,
    pending_keys,
    stored_keys,
    upload,
)
from tests.integration.api.conftest import PASSWORD, Account, Api, MakeApi, bearer

AUDIO = "/api/v1/audio"
EXPECTED = {  # what the inspector reads from the fixtures: content type, sample rate, channels
    "mp3": ("audio/mpeg", 44100, 2),
    "wav": ("audio/wav", 22050, 2),
    "ogg": ("audio/ogg", 48000, 2),
    "m4a": ("audio/mp4", 44100, 2),
    "aac": ("audio/aac", 44100, 2),
    "flac": ("audio/flac", 44100, 2),
    "webm": ("audio/webm", 48000, 2),
}
MAGIC = {  # each format's signature, followed by garbage: content that lies about its type
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "wav": b"RIFF\x00\x10\x00\x00WAVE",
    "ogg": b"OggS",
    "m4a": b"\x00\x00\x00\x18ftypM4A ",
    "aac": b"\xff\xf1",
    "flac": b"fLaC",
    "webm": b"\x1a\x45\xdf\xa3",
}
AUDIO_FIELDS = {
    "id",
    "title",
    "description",
    "original_filename",
    "content_type",
    "file_size",
    "duration",
    "bitrate",
    "sample_rate",
    "channels",
    "format",
    "is_public",
    "owner_id",
    "owner",
    "upload_date",
    "updated_at",
    "file_url",
    "artist",
    "album",
    "track_number",
    "year",
    "genre",
    "cover_art_url",
    "starred",  # the caller's: a signed-in caller's audio shapes carry them
    "play_count",
    "last_played",
}


@pytest.fixture
async def api(make_api: MakeApi, backend_env: dict[str, str], request: pytest.FixtureRequest) -> Api:
    """SQLite with local storage, and PostgreSQL (with Redis) with S3."""
    return await audio_api(make_api, backend_env, request)


async def uploaded(api: Api, account: Account, data: bytes | None = None, **fields: str) -> dict[str, Any]:
    response = await upload(api, account, data if data is not None else mp3_bytes(), **fields)
    assert response.status_code == 201, response.text
    return response.json()


async def add_collection(api: Api, owner: str, audio_ids: list[int]) -> int:
    async with api.uow() as uow:
        user = await uow.users.get_by_username(owner)
        assert user is not None and user.id is not None
        collection = await uow.collections.add(
            Collection(owner_id=user.id, title="mix", collection_type=CollectionType.PLAYLIST)
        )
        collection.add_tracks(audio_ids, now=user.created_at, added_by_id=user.id)  # type: ignore[arg-type]
        await uow.collections.save(collection)
        await uow.commit()
        assert collection.id is not None
        return collection.id


async def track_orders(api: Api, collection_id: int) -> list[tuple[int, int]]:
    async with api.uow() as uow:
        collection = await uow.collections.get(collection_id)
        assert collection is not None
        return [(track.audio_file_id, track.track_order) for track in collection.tracks]


async def raw_upload(api: Api, account: Account, data: bytes, filename: bytes) -> dict[str, Any]:
    """An upload whose file name goes on the wire as given (httpx would percent-encode it)."""
    boundary = b"sonoboundary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: audio/flac\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n"
    )
    headers = account.headers | {"Content-Type": "multipart/form-data; boundary=sonoboundary"}
    response = await api.client.post(UPLOAD, headers=headers, content=body)
    assert response.status_code == 201, response.text
    return response.json()


# --------------------------------------------------------------------------- uploads: formats


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_format_is_decided_by_its_content(api: Api, fmt: str) -> None:
    alice = await api.account("alice")
    data = untagged(fmt)

    response = await upload(api, alice, data, "recording.bin", "application/octet-stream")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == AUDIO_FIELDS
    content_type, sample_rate, channels = EXPECTED[fmt]
    assert (body["format"], body["content_type"]) == (fmt, content_type)
    assert (body["sample_rate"], body["channels"]) == (sample_rate, channels)
    assert body["duration"] == pytest.approx(1.0, abs=0.06)
    assert (body["file_size"], body["original_filename"], body["title"]) == (len(data), "recording.bin", "recording")
    assert (body["is_public"], body["description"], body["cover_art_url"]) == (False, None, None)
    assert isinstance(body["id"], int) and body["owner_id"] == body["owner"]["id"]
    assert body["owner"] == {
        "id": body["owner_id"],
        "username": "alice",
        "display_name": None,
        "bio": None,
        "profile_picture_url": None,
    }
    assert body["upload_date"].endswith("Z") and body["updated_at"].endswith("Z")
    played = await fetch(api, body["file_url"])
    assert played.status_code == 200
    assert played.content == data
    assert played.headers["content-type"] == content_type
    (key,) = await stored_keys(api)
    assert key.startswith(f"audio/{body['owner_id']}/") and key.endswith(f".{fmt}")
    assert "recording" not in key  # generated, never the client's name
    assert await pending_keys(api) == []


async def test_the_upload_keeps_the_sha256_taken_while_spooling(api: Api) -> None:
    """The content hash (what ``sono library import`` skips by) is the SHA-256 of the bytes sent,
    taken as the body was spooled, and not part of the JSON shape."""
    alice = await api.account("alice")
    data = untagged("flac")
    body = await uploaded(api, alice, data)
    assert "content_hash" not in body
    async with api.uow() as uow:
        stored = await uow.audio_files.get(body["id"])
    assert stored is not None and stored.content_hash == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(("fmt", "claimed"), list(zip(FORMATS, FORMATS[1:] + FORMATS[:1], strict=True)))
async def test_a_real_file_named_as_another_format_is_taken_for_what_it_is(api: Api, fmt: str, claimed: str) -> None:
    alice = await api.account("alice")

    body = await uploaded(api, alice, untagged(fmt), filename=f"song.{claimed}", content_type=f"audio/{claimed}")

    assert (body["format"], body["content_type"]) == (fmt, EXPECTED[fmt][0])
    assert body["original_filename"] == f"song.{claimed}"  # kept for display only


@pytest.mark.parametrize("fmt", FORMATS)
async def test_content_that_only_claims_a_format_is_415(api: Api, fmt: str) -> None:
    alice = await api.account("alice")
    liar = MAGIC[fmt] + random.Random(fmt).randbytes(4000)

    for data in (liar, png_bytes(), b"just some text\n" * 100):
        response = await upload(api, alice, data, f"song.{fmt}", EXPECTED[fmt][0])

        assert response.status_code == 415
        assert response.json() == {"detail": AUDIO_UNSUPPORTED}
    assert await stored_keys(api) == set()
    assert await pending_keys(api) == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_truncated_files(api: Api, fmt: str) -> None:
    """Cut inside its headers, a file is no audio (415); cut later, it may still be (and is then
    recorded as received). Never anything else."""
    alice = await api.account("alice")
    data = untagged(fmt)

    header_only = await upload(api, alice, data[:16], f"cut.{fmt}")
    half = await upload(api, alice, data[: len(data) // 2], f"half.{fmt}")

    assert header_only.status_code == 415
    assert header_only.json() == {"detail": AUDIO_UNSUPPORTED}
    assert half.status_code in (201, 415), half.text
    if half.status_code == 201:
        assert half.json()["file_size"] == len(data) // 2


async def test_an_empty_file_is_400(api: Api) -> None:
    alice = await api.account("alice")

    response = await upload(api, alice, b"")

    assert response.status_code == 400
    assert response.json() == {"detail": "File is empty"}


async def test_a_missing_file_part_or_token(api: Api) -> None:
    alice = await api.account("alice")

    other_part = await api.client.post(UPLOAD, headers=alice.headers, files={"audio": ("a.mp3", b"ID3 text")})
    not_multipart = await api.client.post(UPLOAD, headers=alice.headers, json={"file": "x"})
    anonymous = await upload(api, None, mp3_bytes())
    bad_token = await api.client.post(UPLOAD, headers=bearer("nonsense"), files={"file": ("a.mp3", mp3_bytes())})

    for response in (other_part, not_multipart):
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}]}
    for response in (anonymous, bad_token):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


# --------------------------------------------------------------------------- uploads: size


async def test_a_file_of_50_mb_and_one_byte_is_413(api: Api) -> None:
    alice = await api.account("alice")

    response = await upload(api, alice, b"\x00" * (50 * MB + 1), "big.wav", "audio/wav")

    assert response.status_code == 413
    assert response.json() == {"detail": "File too large. Maximum size is 50 MB"}
    assert await stored_keys(api) == set()


async def test_the_body_is_spooled_to_a_file_in_the_data_directory_and_removed_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inspector reads the upload from a real file under ``$SONO_DATA_DIR/tmp`` (also when it is
    small), and nothing stays there once the request is answered, stored or refused."""
    alice = await api.account("alice")
    inspector = api.container.ports.inspector
    inspect_audio = inspector.inspect_audio
    seen: list[tuple[str, bool, int]] = []

    async def recording(path: str) -> Any:
        seen.append((path, os.path.isfile(path), os.path.getsize(path)))
        return await inspect_audio(path)

    monkeypatch.setattr(inspector, "inspect_audio", recording)
    spool = api.settings.upload_dir
    data = mp3_bytes()

    assert (await upload(api, alice, data)).status_code == 201
    assert (await upload(api, alice, b"not audio at all", "fake.mp3")).status_code == 415
    assert (await upload(api, alice, b"\x00" * (50 * MB + 1), "big.wav", "audio/wav")).status_code == 413

    assert [(os.path.dirname(path), is_file, size) for path, is_file, size in seen] == [
        (str(spool), True, len(data)),
        (str(spool), True, len(b"not audio at all")),
    ]
    assert list(spool.iterdir()) == []


async def test_a_body_beyond_50_mb_is_refused_while_it_streams(api: Api) -> None:
    """Without a Content-Length the bytes are counted as they arrive; the rest is never read."""
    alice = await api.account("alice")
    boundary = "sonoboundary"
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp3"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n"
        ).encode()
        chunk = b"\x00" * MB
        for _ in range(80):
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await api.client.post(
        UPLOAD, headers=alice.headers | {"Content-Type": f"multipart/form-data; boundary={boundary}"}, content=body()
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "File too large. Maximum size is 50 MB"}
    assert sent <= 51 * MB  # the server stopped reading at the limit
    assert await stored_keys(api) == set()


async def test_a_declared_length_beyond_the_limit_is_refused_before_reading(api: Api) -> None:
    alice = await api.account("alice")
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(60):
            sent += MB
            yield b"\x00" * MB

    headers = alice.headers | {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(60 * MB)}
    response = await api.client.post(UPLOAD, headers=headers, content=body())

    assert response.status_code == 413
    assert response.json() == {"detail": "File too large. Maximum size is 50 MB"}
    assert sent <= MB


def wav_of_exactly(size: int) -> bytes:
    frames = (size - 44) // 4
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(44100)
        writer.writeframes(b"\x00" * frames * 4)
    data = out.getvalue()
    assert len(data) == size
    return data


async def test_a_file_of_exactly_50_mb_is_stored(api: Api) -> None:
    """The limit is on the file, not on the form around it (S3: a multipart upload)."""
    alice = await api.account("alice")
    data = wav_of_exactly(50 * MB)

    body = await uploaded(api, alice, data, filename="long.wav", content_type="audio/wav")

    assert (body["format"], body["file_size"]) == ("wav", 50 * MB)
    assert body["duration"] == pytest.approx((50 * MB - 44) / 4 / 44100)
    head = await fetch(api, body["file_url"], {"Range": f"bytes={50 * MB - 10}-"})
    assert head.status_code == 206
    assert head.content == b"\x00" * 10


# --------------------------------------------------------------------------- uploads: form and tags


async def test_form_fields(api: Api) -> None:
    alice = await api.account("alice")

    body = await uploaded(
        api,
        alice,
        title="  Night Drive ",
        description="Recorded at night.\nSecond line.",
        is_public="true",
        artist="Form Artist",
        album="Form Album",
        track_number="7",
        year="2024",
        genre="Synthwave",
        unknown_field="ignored",
    )

    assert body["title"] == "Night Drive"
    assert body["description"] == "Recorded at night.\nSecond line."
    assert body["is_public"] is True
    assert (body["artist"], body["album"], body["track_number"], body["year"], body["genre"]) == (
        "Form Artist",
        "Form Album",
        7,
        2024,
        "Synthwave",
    )


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a", "ogg"])
async def test_tags_fill_in_what_the_form_leaves_out_and_the_picture_becomes_cover_art(api: Api, fmt: str) -> None:
    alice = await api.account("alice")
    picture = png_bytes((600, 600))
    data = tagged(fmt, Tags(title="Tag Title", artist="Tag Artist", album="Tag Album", track="2/9", year="1999",
                            genre="Tag Genre", picture=picture))  # fmt: skip

    from_tags = await uploaded(api, alice, data, filename=f"x.{fmt}")
    from_form = await uploaded(api, alice, data, filename=f"x.{fmt}", title="Form Title", genre="Form Genre")

    assert (from_tags["title"], from_tags["artist"], from_tags["album"]) == ("Tag Title", "Tag Artist", "Tag Album")
    assert (from_tags["track_number"], from_tags["year"], from_tags["genre"]) == (2, 1999, "Tag Genre")
    assert (from_form["title"], from_form["genre"], from_form["artist"]) == ("Form Title", "Form Genre", "Tag Artist")
    cover = await fetch(api, from_tags["cover_art_url"])
    assert cover.status_code == 200
    assert cover.headers["content-type"] == "image/webp"
    assert cover.content[:4] == b"RIFF" and cover.content[8:12] == b"WEBP"  # re-encoded
    through_api = await api.client.get(f"{AUDIO}/{from_tags['id']}/cover-art", headers=alice.headers)
    assert through_api.status_code == 200
    assert through_api.content == cover.content
    keys = await stored_keys(api)
    assert len(keys) == 4 and sum(key.endswith(".webp") for key in keys) == 2


async def test_hostile_tags_and_form_values(api: Api) -> None:
    alice = await api.account("alice")
    hostile = Tags(title="\x00Evil\x1b[0m\u202eTitle " + "x" * 5000, artist="\x07" * 9 + "A" * 900, track="-1",
                   year="99999999999999999999", genre="\u0000\ud7ff\uffff")  # fmt: skip
    data = tagged("flac", hostile)

    body = await raw_upload(api, alice, data, b'../..\\evil\\"\x01\x7f<name>\xff.flac')

    assert body["title"].startswith("Evil [0mTitle xx") and len(body["title"]) == 200  # ESC and U+202E gone
    assert body["artist"] == "A" * 200
    assert (body["track_number"], body["year"]) == (None, None)
    assert body["genre"] == "\ud7ff"
    assert body["original_filename"] == "evil_name_\ufffd.flac"  # no path, controls or quotes
    assert "\x00" not in str(body)

    refused = {
        "title": ("a\x00b", "Value must not contain NUL characters"),
        "description": ("d" * 5001, "Description must be at most 5000 characters"),
        "track_number": ("1e3", "Input should be a valid integer"),
        "year": ("9" * 40, "Year must be between 1 and 9999"),
        "is_public": ("maybe", "Input should be a valid boolean"),
        "genre": ("g" * 101, "Genre must be at most 100 characters"),
    }
    for field, (value, message) in refused.items():
        response = await upload(api, alice, mp3_bytes(), **{field: value})
        assert response.status_code == 422, (field, response.text)
        assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [(["body", field], message)]

    odd = await uploaded(api, alice, title="نغمة 🎵 e\u0301 \u202e", artist="Ǆ")
    assert (odd["title"], odd["artist"]) == ("نغمة 🎵 e\u0301", "Ǆ")  # the bidi override dropped (and the blank)


# --------------------------------------------------------------------------- quota


async def set_limit(api: Api, username: str, limit: int) -> None:
    async with api.uow() as uow:
        user = await uow.users.get_by_username(username)
        assert user is not None
        user.max_audio_uploads = limit
        await uow.commit()


async def test_a_full_quota_is_403_before_the_body_is_read(api: Api) -> None:
    alice = await api.account("alice")
    await set_limit(api, "alice", 2)
    await uploaded(api, alice)
    await uploaded(api, alice)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10):
            sent += MB
            yield b"\x00" * MB

    headers = alice.headers | {"Content-Type": "multipart/form-data; boundary=x"}
    response = await api.client.post(UPLOAD, headers=headers, content=body())

    assert response.status_code == 403
    assert response.json() == {"detail": "Upload limit reached. You have 2 out of 2 audio files."}
    assert sent <= MB
    stats = (await api.client.get(f"{AUDIO}/stats", headers=alice.headers)).json()
    assert (stats["used_uploads"], stats["max_uploads"], stats["remaining_uploads"]) == (2, 2, 0)


async def test_ten_concurrent_uploads_against_three_remaining(api: Api, make_api: MakeApi) -> None:
    """Two app instances (two processes' worth of pools and write gates) on one database and one
    storage: exactly three uploads pass, the others are refused, and no object is left over."""
    alice = await api.account("alice")
    await set_limit(api, "alice", 5)
    for _ in range(2):
        await uploaded(api, alice)
    other = await make_api(**(s3_settings_of(api) if on_s3(api) else {}))  # same database, same storage
    datas = [untagged(FORMATS[i % len(FORMATS)]) for i in range(10)]

    apps = [api, other] * 5
    responses = await asyncio.gather(*(upload(apps[i], alice, data, f"song{i}") for i, data in enumerate(datas)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 3 + [403] * 7, [r.text for r in responses]
    for response in responses:
        if response.status_code == 403:
            assert response.json()["detail"].startswith("Upload limit reached. You have ")
    listed = (await api.client.get(f"{AUDIO}/my-files", headers=alice.headers)).json()
    assert listed["total"] == 5
    expected = {key for item in listed["items"] for key in [item["file_url"]]}
    assert len(expected) == 5
    assert len(await stored_keys(api)) == 5  # no orphan object
    assert await pending_keys(api) == []


def s3_settings_of(api: Api) -> dict[str, str]:
    settings = api.settings
    return {
        "SONO_STORAGE": "s3",
        "SONO_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
        "SONO_S3_BUCKET": settings.s3_bucket,
        "SONO_S3_ACCESS_KEY": settings.s3_access_key or "",
        "SONO_S3_SECRET_KEY": settings.s3_secret_key or "",
    }


# --------------------------------------------------------------------------- reading and visibility


async def test_who_sees_a_file(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    root = await api.account("root", admin=True)
    data = tagged("mp3", Tags(picture=png_bytes()))
    private = await uploaded(api, alice, data)
    public = await uploaded(api, alice, data, is_public="true")
    anonymous: dict[str, str] = {}
    expired = bearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.invalid")

    for suffix in ("", "/download", "/cover-art"):
        for headers, expected in [
            (alice.headers, 200),
            (root.headers, 200),
            (bob.headers, 404),
            (anonymous, 404),
            (expired, 404),
        ]:
            response = await api.client.get(f"{AUDIO}/{private['id']}{suffix}", headers=headers)
            assert response.status_code == expected, (suffix, headers, response.text)
            if expected == 404:
                assert response.json() == {"detail": "Audio file not found"}
        for headers in (alice.headers, root.headers, bob.headers, anonymous, expired):
            response = await api.client.get(f"{AUDIO}/{public['id']}{suffix}", headers=headers)
            assert response.status_code == 200, (suffix, headers, response.text)

    await api.set_active("alice", False)  # soft-deleted owner: hidden from everyone but admins
    for headers in (bob.headers, anonymous):
        assert (await api.client.get(f"{AUDIO}/{public['id']}", headers=headers)).status_code == 404
    assert (await api.client.get(f"{AUDIO}/{public['id']}", headers=root.headers)).status_code == 200


async def test_a_single_file(api: Api) -> None:
    alice = await api.account("alice")
    created = await uploaded(api, alice, title="One")

    response = await api.client.get(f"{AUDIO}/{created['id']}", headers=alice.headers)

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k != "file_url"} == {k: v for k, v in created.items() if k != "file_url"}
    assert (await fetch(api, body["file_url"])).status_code == 200


@pytest.mark.parametrize(
    ("audio_id", "status"), [("999", 404), ("0", 422), ("-1", 422), ("2147483648", 422), ("9" * 26, 422)]
)
async def test_ids_that_name_nothing_are_404_and_impossible_ones_422(api: Api, audio_id: str, status: int) -> None:
    """Ids are positive 32-bit integers: one outside that range is refused as input (422 at
    ``path``); one in range that names no file is 404."""
    alice = await api.account("alice")

    for method in ("GET", "PUT", "DELETE"):
        body = {"title": "x"} if method == "PUT" else None
        response = await api.client.request(method, f"{AUDIO}/{audio_id}", headers=alice.headers, json=body)
        assert response.status_code == status, (method, response.text)
        if status == 422:
            assert response.json()["detail"][0]["loc"] == ["path", "audio_id"]
        else:
            assert "detail" in response.json()


async def test_lists(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    a1 = await uploaded(api, alice, is_public="true", title="a1")
    a2 = await uploaded(api, alice, title="a2")
    b1 = await uploaded(api, bob, is_public="true", title="b1")
    b2 = await uploaded(api, bob, is_public="true", title="b2")

    mine = (await api.client.get(f"{AUDIO}/my-files", headers=alice.headers)).json()
    public = (await api.client.get(f"{AUDIO}/public")).json()
    page = (await api.client.get(f"{AUDIO}/public?skip=1&limit=1", headers=alice.headers)).json()

    assert [f["title"] for f in mine["items"]] == ["a2", "a1"]
    assert (mine["total"], mine["has_more"], mine["files"]) == (2, False, mine["items"])
    assert [f["id"] for f in public["items"]] == [b2["id"], b1["id"], a1["id"]]
    assert public["files"] == public["items"] and public["total"] == 3
    assert ([f["id"] for f in page["items"]], page["total"], page["has_more"]) == ([b1["id"]], 3, True)
    assert a2["id"] not in [f["id"] for f in public["items"]]

    await api.set_active("bob", False)
    assert [f["id"] for f in (await api.client.get(f"{AUDIO}/public")).json()["items"]] == [a1["id"]]


async def test_list_parameters_out_of_range_are_422(api: Api) -> None:
    alice = await api.account("alice")

    for query in ("limit=0", "limit=101", "skip=-1", "limit=abc", "skip=99999999999999999999999"):
        for path in ("public", "my-files"):
            response = await api.client.get(f"{AUDIO}/{path}?{query}", headers=alice.headers)
            assert response.status_code == 422, (path, query, response.text)
            assert response.json()["detail"][0]["loc"][0] == "query"
    far = await api.client.get(f"{AUDIO}/public?skip=2147483647")
    assert (far.status_code, far.json()["items"], far.json()["has_more"]) == (200, [], False)
    assert (await api.client.get(f"{AUDIO}/my-files")).status_code == 401


async def test_a_list_page_costs_the_same_statements_whatever_its_size(api: Api) -> None:
    users = [await api.account(name) for name in ("user1", "user2", "user3")]
    for i in range(24):
        await uploaded(api, users[i % 3], is_public="true", title=f"t{i}")

    counts = {}
    for limit in (1, 5, 20):
        with counted_statements(api) as statements:
            response = await api.client.get(f"{AUDIO}/public?limit={limit}")
        assert response.status_code == 200 and len(response.json()["items"]) == limit
        counts[limit] = len(statements)
    with counted_statements(api) as last_page:
        assert len((await api.client.get(f"{AUDIO}/public?skip=20&limit=20")).json()["items"]) == 4
    for limit in (1, 8):
        await api.client.get("/api/v1/users/me", headers=users[0].headers)  # the session kept before
        with counted_statements(api) as statements:
            response = await api.client.get(f"{AUDIO}/my-files?limit={limit}", headers=users[0].headers)
        assert len(response.json()["items"]) == limit
        counts[-limit] = len(statements)

    # files, owners and total in one statement
    assert counts[1] == counts[5] == counts[20] == 1, counts
    assert len(last_page) == counts[20]
    with counted_statements(api) as past_the_end:
        assert (await api.client.get(f"{AUDIO}/public?skip=50&limit=20")).json()["total"] == 24
    assert len(past_the_end) == counts[20] + 1  # the page, then the count
    with counted_statements(api) as again:
        await api.client.get(f"{AUDIO}/public?limit=20")
    assert len(again) == 0  # an unchanged page is kept
    assert counts[-1] == counts[-8] <= 4, counts  # the page, the caller's stars and plays


async def test_the_public_list_follows_every_change_at_once(api: Api) -> None:
    """Pages kept for an unchanged database are dropped by any commit, of this app or another."""
    alice = await api.account("alice")
    first = await uploaded(api, alice, is_public="true", title="first")
    seen = (await api.client.get(f"{AUDIO}/public")).json()
    assert [f["id"] for f in seen["items"]] == [first["id"]]

    second = await uploaded(api, alice, is_public="true", title="second")
    assert [f["id"] for f in (await api.client.get(f"{AUDIO}/public")).json()["items"]] == [second["id"], first["id"]]
    await api.client.put(f"{AUDIO}/{second['id']}", headers=alice.headers, json={"title": "renamed"})
    assert (await api.client.get(f"{AUDIO}/public")).json()["items"][0]["title"] == "renamed"
    async with api.uow() as uow:  # another connection, as another process would
        audio = await uow.audio_files.get(first["id"])
        assert audio is not None
        audio.is_public = False
        await uow.commit()
    assert [f["id"] for f in (await api.client.get(f"{AUDIO}/public")).json()["items"]] == [second["id"]]
    await api.client.delete(f"{AUDIO}/{second['id']}", headers=alice.headers)
    assert (await api.client.get(f"{AUDIO}/public")).json() == {"items": [], "total": 0, "has_more": False, "files": []}


async def test_a_kept_public_page_is_rendered_once_for_every_caller(api: Api) -> None:
    """The JSON API makes its answer of a kept public page once (``renditions``): the next callers
    get the same bytes, a signed-in caller their stars on a copy, and a change is a new page."""
    alice = await api.account("alice")
    first = await uploaded(api, alice, is_public="true", title="first")
    renditions = api.container.ports.renditions
    assert isinstance(renditions, MemoryRenditions)
    await api.client.post(f"{AUDIO}/{first['id']}/star", headers=alice.headers)
    before = (renditions.hits, renditions.misses)
    anonymous = [await api.client.get(f"{AUDIO}/public?limit=5") for _ in range(3)]
    signed_in = await api.client.get(f"{AUDIO}/public?limit=5", headers=alice.headers)
    assert renditions.misses - before[1] == 1 and renditions.hits - before[0] == 3
    assert anonymous[0].content == anonymous[1].content == anonymous[2].content
    [item] = anonymous[0].json()["items"]
    assert "starred" not in item and item["title"] == "first"
    assert signed_in.json()["items"][0]["starred"] is not None  # the caller's own, on a copy
    assert "starred" not in (await api.client.get(f"{AUDIO}/public?limit=5")).json()["items"][0]

    await api.client.put(f"{AUDIO}/{first['id']}", headers=alice.headers, json={"title": "renamed"})
    assert (await api.client.get(f"{AUDIO}/public?limit=5")).json()["items"][0]["title"] == "renamed"


# --------------------------------------------------------------------------- updating


async def test_update(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    root = await api.account("root", admin=True)
    public = await uploaded(api, alice, is_public="true", description="old", artist="A")
    private = await uploaded(api, alice)
    url = f"{AUDIO}/{public['id']}"

    response = await api.client.put(
        url,
        headers=alice.headers,
        json={"title": " New Title ", "description": None, "is_public": False, "track_id": 9, "genre": "Pop"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["description"], body["is_public"], body["genre"]) == ("New Title", None, False, "Pop")
    assert body["artist"] == "A"  # left out: unchanged
    assert body["updated_at"] >= public["updated_at"]
    assert (await api.client.get(url, headers=alice.headers)).json()["title"] == "New Title"

    by_admin = await api.client.put(url, headers=root.headers, json={"is_public": True})
    assert by_admin.status_code == 200 and by_admin.json()["is_public"] is True
    by_other = await api.client.put(url, headers=bob.headers, json={"title": "Stolen"})
    assert by_other.status_code == 403
    assert by_other.json() == {"detail": "Not enough permissions"}
    hidden = await api.client.put(f"{AUDIO}/{private['id']}", headers=bob.headers, json={"title": "x"})
    assert hidden.status_code == 404
    anonymous = await api.client.put(url, json={"title": "x"})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"title": ""}, ["body", "title"], "Title must not be empty"),
        ({"title": "t" * 201}, ["body", "title"], "Title must be at most 200 characters"),
        ({"title": "a\x00"}, ["body", "title"], "Value must not contain NUL characters"),
        ({"title": "t" * 20_000}, ["body", "title"], None),
        ({"year": 10**30}, ["body", "year"], None),
        ({"track_number": -4}, ["body", "track_number"], "Track number must be between 1 and 9999"),
        ({"is_public": "yes"}, ["body", "is_public"], None),
        ({"is_public": None}, ["body", "is_public"], None),
    ],
)
async def test_update_refusals(api: Api, body: dict[str, Any], loc: list[str], message: str | None) -> None:
    alice = await api.account("alice")
    created = await uploaded(api, alice, title="Kept")

    response = await api.client.put(f"{AUDIO}/{created['id']}", headers=alice.headers, json=body)

    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc
    if message is not None:
        assert error["msg"] == message
    assert (await api.client.get(f"{AUDIO}/{created['id']}", headers=alice.headers)).json()["title"] == "Kept"


# --------------------------------------------------------------------------- deleting


async def test_delete(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    await set_limit(api, "alice", 3)
    data = tagged("mp3", Tags(picture=png_bytes()))
    first, doomed, last = [await uploaded(api, alice, data, is_public="true") for _ in range(3)]
    theirs = await add_collection(api, "bob", [last["id"], doomed["id"], first["id"]])
    own = await add_collection(api, "alice", [doomed["id"]])
    assert len(await stored_keys(api)) == 6

    assert (await api.client.delete(f"{AUDIO}/{doomed['id']}", headers=bob.headers)).status_code == 403
    assert (await api.client.delete(f"{AUDIO}/{doomed['id']}")).status_code == 401
    response = await api.client.delete(f"{AUDIO}/{doomed['id']}", headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == {"message": "Audio file deleted successfully"}
    assert (await api.client.get(f"{AUDIO}/{doomed['id']}", headers=alice.headers)).status_code == 404
    assert (await api.client.delete(f"{AUDIO}/{doomed['id']}", headers=alice.headers)).status_code == 404
    assert await track_orders(api, theirs) == [(last["id"], 1), (first["id"], 2)]
    assert await track_orders(api, own) == []
    await api.deliver()  # what a worker does shortly after the commit
    keys = await stored_keys(api)
    assert len(keys) == 4
    assert not any(doomed["file_url"].split("?")[0].endswith(key) for key in keys)
    assert (await fetch(api, doomed["file_url"])).status_code in (403, 404)
    stats = (await api.client.get(f"{AUDIO}/stats", headers=alice.headers)).json()
    assert (stats["used_uploads"], stats["remaining_uploads"]) == (2, 1)
    assert (await upload(api, alice, mp3_bytes())).status_code == 201  # the quota is free again


async def test_admins_delete_anyones_file(api: Api) -> None:
    alice = await api.account("alice")
    root = await api.account("root", admin=True)
    private = await uploaded(api, alice)

    response = await api.client.delete(f"{AUDIO}/{private['id']}", headers=root.headers)

    assert response.status_code == 200
    await api.deliver()
    assert await stored_keys(api) == set()


# --------------------------------------------------------------------------- downloads and stats


async def test_download(api: Api) -> None:
    alice = await api.account("alice")
    data = untagged("flac")
    created = await uploaded(api, alice, data, filename="Naïve café \u2013 🎵; 100%.flac")
    url = f"{AUDIO}/{created['id']}/download"

    whole = await api.client.get(url, headers=alice.headers)
    part = await api.client.get(url, headers=alice.headers | {"Range": "bytes=4-9"})
    cached = await api.client.get(url, headers=alice.headers | {"If-None-Match": whole.headers["etag"]})
    beyond = await api.client.get(url, headers=alice.headers | {"Range": f"bytes={len(data)}-"})

    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/flac"
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["content-disposition"] == (
        'attachment; filename="Naive cafe  _ 100_.flac"; '
        "filename*=UTF-8''Na%C3%AFve%20caf%C3%A9%20%E2%80%93%20%F0%9F%8E%B5%3B%20100%25.flac"
    )
    assert whole.headers["cache-control"].startswith("private")
    assert (part.status_code, part.content) == (206, data[4:10])
    assert part.headers["content-range"] == f"bytes 4-9/{len(data)}"
    assert cached.status_code == 304 and cached.content == b""
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"


HUGE = "9" * 5000  # beyond int()'s digit limit


async def _hostile_ranges(api: Api, account: Account, url: str, data: bytes) -> None:
    """Positions of thousands of digits: a first one is past the end (416 with the size), a last one
    or a suffix covers the rest of the file (206), as RFC 9110 reads them; never a 500."""
    size, last = len(data), len(data) - 1
    cases: dict[str, tuple[int, bytes, str | None]] = {
        f"bytes={HUGE}-": (416, b"", f"bytes */{size}"),
        f"bytes={HUGE}-{HUGE}": (416, b"", f"bytes */{size}"),
        f"bytes=0-{HUGE}": (206, data, f"bytes 0-{last}/{size}"),
        f"bytes=-{HUGE}": (206, data, f"bytes 0-{last}/{size}"),
        f"bytes=2-{'0' * 4000}9": (206, data[2:10], f"bytes 2-9/{size}"),  # leading zeros: a small number
        f"bytes={HUGE}-1": (200, data, None),  # end before start: malformed, ignored
        "bytes=\u0661-\u0662": (200, data, None),  # not ASCII digits: ignored
    }
    for header, (status, body, content_range) in cases.items():
        response = await api.client.get(url, headers=account.headers | {"Range": header.encode()})
        assert response.status_code == status, (header[:20], response.text[:200])
        assert response.headers.get("content-range") == content_range, header[:20]
        if status == 416:
            assert response.json() == {"detail": "Requested range not satisfiable"}
        else:
            assert response.content == body, header[:20]


async def test_ranges_with_thousands_of_digits_on_downloads(api: Api) -> None:
    alice = await api.account("alice")
    data = untagged("flac")
    created = await uploaded(api, alice, data)

    await _hostile_ranges(api, alice, f"{AUDIO}/{created['id']}/download", data)


async def test_ranges_with_thousands_of_digits_on_s3_downloads(make_api: MakeApi, s3_endpoint: str) -> None:
    api = await make_api(
        SONO_STORAGE="s3",
        SONO_S3_ENDPOINT_URL=s3_endpoint,
        SONO_S3_BUCKET=f"sono-{os.urandom(6).hex()}",
        SONO_S3_ACCESS_KEY="testing",
        SONO_S3_SECRET_KEY="testing",
    )
    alice = await api.account("alice")
    data = untagged("flac")
    created = await uploaded(api, alice, data)

    await _hostile_ranges(api, alice, f"{AUDIO}/{created['id']}/download", data)


async def test_cover_art_of_a_file_without_one_is_404(api: Api) -> None:
    alice = await api.account("alice")
    created = await uploaded(api, alice)

    response = await api.client.get(f"{AUDIO}/{created['id']}/cover-art", headers=alice.headers)

    assert response.status_code == 404
    assert response.json() == {"detail": "Cover art not found"}


async def test_stats(api: Api) -> None:
    alice = await api.account("alice")
    empty = (await api.client.get(f"{AUDIO}/stats", headers=alice.headers)).json()
    a, b = untagged("wav"), untagged("ogg")
    await uploaded(api, alice, a)
    await uploaded(api, alice, b)

    stats = await api.client.get(f"{AUDIO}/stats", headers=alice.headers)

    assert empty == {"used_uploads": 0, "max_uploads": 20, "remaining_uploads": 20, "total_bytes": 0}
    assert stats.json() == {"used_uploads": 2, "max_uploads": 20, "remaining_uploads": 18, "total_bytes": len(a + b)}
    assert (await api.client.get(f"{AUDIO}/stats")).status_code == 401


# --------------------------------------------------------------------------- private media


async def test_a_private_files_url_is_signed_and_expires(api: Api) -> None:
    alice = await api.account("alice")
    created = await uploaded(api, alice)
    url = httpx.URL(created["file_url"])
    now = api.container.ports.clock.now().timestamp()
    ttl = api.settings.media_url_ttl_seconds

    if on_s3(api):
        assert url.params["X-Amz-Signature"]
        assert ttl <= int(url.params["X-Amz-Expires"]) <= ttl + 3600 + 5
    else:
        expires = int(url.params["expires"])
        assert now + ttl <= expires <= now + ttl + 3600
        assert expires % 3600 == 0  # the same URL for a while: clients and proxies may cache it
        unsigned = await api.client.get(url.path)
        assert unsigned.status_code == 403
        assert unsigned.json() == {"detail": "Invalid or expired media link"}
    again = (await api.client.get(f"{AUDIO}/{created['id']}", headers=alice.headers)).json()["file_url"]
    if not on_s3(api):
        assert again == created["file_url"]


# --------------------------------------------------------------------------- GDPR


async def test_the_export_carries_the_audio_files(api: Api) -> None:
    alice = await api.account("alice")
    created = await uploaded(api, alice, title="Mine", artist="Me")

    export = (await api.client.get("/api/v1/users/me/export-data", headers=alice.headers)).json()

    (exported,) = export["audio_files"]
    assert (exported["id"], exported["title"], exported["artist"]) == (created["id"], "Mine", "Me")
    assert (exported["format"], exported["file_size"]) == ("mp3", created["file_size"])


async def test_a_hard_deletion_erases_the_audio_files_and_their_objects(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    data = tagged("mp3", Tags(picture=png_bytes()))
    hers = await uploaded(api, alice, data, is_public="true")
    his = await uploaded(api, bob, is_public="true")
    playlist = await add_collection(api, "bob", [hers["id"], his["id"]])

    response = await api.client.delete(
        "/api/v1/users/me", headers=alice.headers, params={"password": PASSWORD, "deletion_type": "hard"}
    )

    assert response.status_code == 200, response.text
    await api.deliver()
    keys = await stored_keys(api)
    assert len(keys) == 1 and keys.pop().startswith("audio/")
    assert await track_orders(api, playlist) == [(his["id"], 1)]
    assert (await api.client.get(f"{AUDIO}/{hers['id']}", headers=bob.headers)).status_code == 404


async def test_the_jobs_remove_an_orphan_left_by_a_crash(api: Api) -> None:
    """A process that died between storing an upload and inserting its row leaves a staged object:
    ``sono jobs run-due`` removes it once it is over an hour old, and nothing younger."""
    storage = api.container.ports.storage
    old, young = "audio/1/" + "a" * 32 + ".mp3", "audio/1/" + "b" * 32 + ".mp3"
    now = api.container.ports.clock.now()
    async with api.uow() as uow:  # staged; the crash happened two hours ago for one of them
        await uow.pending_objects.add(old, now - timedelta(hours=2))
        await uow.pending_objects.add(young, now)
        await uow.commit()
    for key in (old, young):
        await storage.put_bytes(key, mp3_bytes(), "audio/mpeg")

    report = await run_due_jobs(api.container)

    assert report.orphaned_objects_purged == 1
    assert await stored_keys(api) == {young}
    assert await pending_keys(api) == [young]
