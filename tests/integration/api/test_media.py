"""The profile picture upload (streamed, size-limited, content-checked, re-encoded) and the media
route serving stored objects with HTTP Range support and signed URLs."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from PIL import Image

from tests.fixtures.media import jpeg_with_metadata, png_bytes
from tests.integration.api.conftest import Account, Api, MakeApi, local_url

UPLOAD = "/api/v1/users/me/upload-profile-picture"
FIVE_MB = 5 * 1024 * 1024


async def upload(
    api: Api, account: Account, data: bytes, filename: str = "picture.png", content_type: str = "image/png"
) -> httpx.Response:
    return await api.client.post(UPLOAD, headers=account.headers, files={"file": (filename, data, content_type)})


async def stored_keys(api: Api, prefix: str) -> list[str]:
    root = api.settings.media_dir / prefix
    return (
        sorted(str(p.relative_to(api.settings.media_dir)) for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


# --------------------------------------------------------------------------- upload


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [(png_bytes(), "picture.png", "image/png"), (jpeg_with_metadata(), "photo.jpg", "image/jpeg")],
    ids=["png", "jpeg"],
)
async def test_upload_sets_a_fetchable_reencoded_picture(
    api: Api, data: bytes, filename: str, content_type: str
) -> None:
    alice = await api.account("alice")

    response = await upload(api, alice, data, filename, content_type)

    assert response.status_code == 200, response.text
    url = response.json()["profile_picture_url"]
    assert url.startswith("http://testserver.local/api/v1/media/avatars/")
    me = await api.client.get("/api/v1/users/me", headers=alice.headers)
    assert me.json()["profile_picture_url"] == url

    assert "?" not in url  # public and unsigned
    picture = await api.client.get(local_url(url))
    assert picture.status_code == 200
    busted = await api.client.get(local_url(url) + "?t=1733000000000")  # the web's cache-buster
    assert busted.status_code == 200 and busted.content == picture.content
    assert picture.headers["content-type"].startswith("image/")
    assert picture.headers["accept-ranges"] == "bytes"
    assert picture.headers["cache-control"].startswith("public")
    assert picture.content != data  # re-encoded
    image = Image.open(io.BytesIO(picture.content))
    assert image.size == (64, 48)
    assert not image.getexif()  # metadata stripped


async def test_a_new_picture_replaces_and_deletes_the_old_one(api: Api) -> None:
    alice = await api.account("alice")
    first = (await upload(api, alice, png_bytes())).json()["profile_picture_url"]

    second = (await upload(api, alice, png_bytes((32, 32)))).json()["profile_picture_url"]

    assert second != first
    await api.deliver()  # what a worker does shortly after the commit
    assert (await api.client.get(local_url(first))).status_code == 404
    assert (await api.client.get(local_url(second))).status_code == 200
    assert len(await stored_keys(api, "avatars")) == 1


async def test_a_non_image_is_415(api: Api) -> None:
    alice = await api.account("alice")

    response = await upload(api, alice, b"just some text\n" * 10, "notes.png", "image/png")

    assert response.status_code == 415
    assert response.json() == {"detail": "Unsupported image format. Allowed formats: PNG, JPG, WebP"}
    assert await stored_keys(api, "avatars") == []


async def test_an_empty_file_is_400(api: Api) -> None:
    alice = await api.account("alice")

    response = await upload(api, alice, b"")

    assert response.status_code == 400
    assert response.json() == {"detail": "File is empty"}


async def test_a_missing_file_part_is_422(api: Api) -> None:
    alice = await api.account("alice")

    other_part = await api.client.post(UPLOAD, headers=alice.headers, files={"picture": ("p.png", png_bytes())})
    not_multipart = await api.client.post(UPLOAD, headers=alice.headers, json={"file": "x"})

    for response in (other_part, not_multipart):
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}]}


async def test_a_file_over_5_mb_is_413_by_content_length(api: Api) -> None:
    alice = await api.account("alice")

    response = await upload(api, alice, os.urandom(FIVE_MB + 1))

    assert response.status_code == 413
    assert response.json() == {"detail": "File too large. Maximum size is 5 MB"}
    assert await stored_keys(api, "avatars") == []


async def test_a_file_over_5_mb_is_413_while_streaming(api: Api) -> None:
    """Without a Content-Length the bytes are counted as they arrive."""
    alice = await api.account("alice")
    boundary = "sonoboundary"
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        chunk = os.urandom(256 * 1024)
        for _ in range(40):  # 10 MB
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await api.client.post(
        UPLOAD, headers=alice.headers | {"Content-Type": f"multipart/form-data; boundary={boundary}"}, content=body()
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "File too large. Maximum size is 5 MB"}
    assert "content-length" not in response.request.headers
    assert sent < 10 * 1024 * 1024  # the server stopped reading


async def test_a_file_of_exactly_5_mb_is_read_whole(api: Api) -> None:
    """The limit is on the file, not on the multipart envelope around it."""
    alice = await api.account("alice")

    response = await upload(api, alice, b"\x00" * FIVE_MB)

    assert response.status_code == 415  # read completely, then refused for its content


async def test_upload_needs_a_token(api: Api) -> None:
    response = await api.client.post(UPLOAD, files={"file": ("p.png", png_bytes(), "image/png")})

    assert response.status_code == 401


# --------------------------------------------------------------------------- media route


async def test_ranges_of_a_stored_object(api: Api) -> None:
    alice = await api.account("alice")
    url = local_url((await upload(api, alice, png_bytes())).json()["profile_picture_url"])
    whole = (await api.client.get(url)).content
    size = len(whole)

    head = await api.client.get(url, headers={"Range": "bytes=0-9"})
    assert head.status_code == 206
    assert head.content == whole[:10]
    assert head.headers["content-range"] == f"bytes 0-9/{size}"
    assert head.headers["content-length"] == "10"
    assert head.headers["accept-ranges"] == "bytes"

    tail = await api.client.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206
    assert tail.content == whole[-5:]
    assert tail.headers["content-range"] == f"bytes {size - 5}-{size - 1}/{size}"

    rest = await api.client.get(url, headers={"Range": "bytes=10-"})
    assert rest.status_code == 206
    assert rest.content == whole[10:]

    beyond = await api.client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"

    several = await api.client.get(url, headers={"Range": "bytes=0-1,4-5"})
    assert several.status_code == 200  # multiple ranges are not supported: the whole object
    assert several.content == whole


async def test_private_objects_need_a_valid_signature(api: Api) -> None:
    storage = api.container.ports.storage
    key = "audio/1/song.mp3"
    data = bytes(range(256)) * 4
    await storage.put_bytes(key, data, "audio/mpeg")
    signed = local_url(await api.container.media.url(key))  # type: ignore[arg-type]

    ok = await api.client.get(signed)
    assert ok.status_code == 200
    assert ok.content == data
    assert ok.headers["content-type"] == "audio/mpeg"
    assert ok.headers["cache-control"].startswith("private")

    partial = await api.client.get(signed, headers={"Range": "bytes=100-199"})
    assert partial.status_code == 206
    assert partial.content == data[100:200]

    unsigned = await api.client.get(f"/api/v1/media/{key}")
    tampered = await api.client.get(signed[:-4] + ("0000" if not signed.endswith("0000") else "1111"))
    other_key = await api.client.get(signed.replace("song.mp3", "other.mp3"))
    for response in (unsigned, tampered, other_key):
        assert response.status_code == 403
        assert response.json() == {"detail": "Invalid or expired media link"}


async def test_missing_objects_and_bad_keys_are_404(api: Api) -> None:
    missing = await api.client.get("/api/v1/media/avatars/1/none.png")
    hidden = await api.client.get("/api/v1/media/avatars/.meta/x.json")

    for response in (missing, hidden):
        assert response.status_code == 404
        assert response.json() == {"detail": "Media not found"}


async def test_every_upload_gets_a_new_url_and_the_answer_is_the_whole_user(api: Api) -> None:
    alice = await api.account("alice")

    first = await upload(api, alice, png_bytes())
    second = await upload(api, alice, png_bytes())

    assert first.status_code == second.status_code == 200
    me = (await api.client.get("/api/v1/users/me", headers=alice.headers)).json()
    assert second.json() == me
    assert first.json()["profile_picture_url"] != second.json()["profile_picture_url"]
    await api.deliver()  # what a worker does shortly after the commit
    assert (await api.client.get(local_url(first.json()["profile_picture_url"]))).status_code == 404
    assert len(await stored_keys(api, "avatars")) == 1


async def test_signed_urls_live_as_long_as_configured(make_api: MakeApi) -> None:
    api = await make_api(SONO_MEDIA_URL_TTL_SECONDS="7200")
    await api.container.ports.storage.put_bytes("audio/1/a.mp3", b"abc", "audio/mpeg")
    url = await api.container.media.url("audio/1/a.mp3")
    assert url is not None and url.startswith("http://testserver.local/api/v1/media/audio/1/a.mp3?")

    expires = int(dict(parse_qsl(urlsplit(url).query))["expires"])
    now = api.container.ports.clock.now().timestamp()
    assert 7200 <= expires - now <= 7200 + 3600  # rounded up to the hour, so the URL stays put a while
    assert await api.container.media.url("audio/1/a.mp3") == url
