"""The media route serving local storage: Range (206, 416), HEAD, ETag with If-None-Match (304)
and If-Range, content types, cache headers for public and private objects, signatures (tampered,
expired, of another key: 403), extra query parameters on public URLs, and nothing served outside
the store or through a symbolic link."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from sono.adapters.storage.local import LocalStorage
from tests.fixtures.media import mp3_bytes, png_bytes
from tests.integration.api.conftest import Api, local_url

MEDIA = "/api/v1/media"
PUBLIC_KEY = "avatars/7/0123456789abcdef0123456789abcdef.webp"
PRIVATE_KEY = "audio/7/fedcba9876543210fedcba9876543210.mp3"
BAD_LINK = {"detail": "Invalid or expired media link"}
NOT_FOUND = {"detail": "Media not found"}


@pytest.fixture
async def stored(api: Api) -> dict[str, bytes]:
    """A public picture and a private audio object, put in the app's storage."""
    storage = api.container.ports.storage
    picture, audio = png_bytes((40, 30)), mp3_bytes()
    await storage.put_bytes(PUBLIC_KEY, picture, "image/webp")
    await storage.put_bytes(PRIVATE_KEY, audio, "audio/mpeg")
    return {PUBLIC_KEY: picture, PRIVATE_KEY: audio}


async def signed(api: Api, key: str) -> str:
    url = await api.container.media.url(key)
    assert url is not None
    return local_url(url)


def signed_until(api: Api, key: str, expires: int) -> str:
    signature = api.container.ports.signer.sign(key, expires)
    return f"{MEDIA}/{key}?{urlencode({'expires': expires, 'signature': signature})}"


# --------------------------------------------------------------------------- public and private


async def test_a_public_object(api: Api, stored: dict[str, bytes]) -> None:
    url = await api.container.media.url(PUBLIC_KEY)
    assert url == f"http://testserver.local{MEDIA}/{PUBLIC_KEY}"  # stable, unsigned

    response = await api.client.get(f"{MEDIA}/{PUBLIC_KEY}")

    assert response.status_code == 200
    assert response.content == stored[PUBLIC_KEY]
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["content-length"] == str(len(stored[PUBLIC_KEY]))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')


@pytest.mark.parametrize("query", ["t=1712345678901", "t=1&t=2", "expires=abc&signature=zzz", "x=%F0%9F%8E%B5"])
async def test_extra_query_parameters_are_tolerated_on_public_urls(
    api: Api, stored: dict[str, bytes], query: str
) -> None:
    response = await api.client.get(f"{MEDIA}/{PUBLIC_KEY}?{query}")

    assert response.status_code == 200
    assert response.content == stored[PUBLIC_KEY]


async def test_a_nul_character_in_any_query_parameter_is_refused_before_the_route(
    api: Api, stored: dict[str, bytes]
) -> None:
    for url in (f"{MEDIA}/{PUBLIC_KEY}?t=%00", f"{MEDIA}/{PRIVATE_KEY}?expires=%00&signature=x"):
        response = await api.client.get(url)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"


async def test_a_private_object_with_its_signature(api: Api, stored: dict[str, bytes]) -> None:
    url = await signed(api, PRIVATE_KEY)

    response = await api.client.get(url)
    with_buster = await api.client.get(f"{url}&t=123")

    assert response.status_code == 200
    assert response.content == stored[PRIVATE_KEY]
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert with_buster.status_code == 200


async def test_bad_signatures_are_403(api: Api, stored: dict[str, bytes]) -> None:
    url = httpx.URL(await signed(api, PRIVATE_KEY))
    expires, signature = url.params["expires"], url.params["signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]  # its first character changed
    now = int(time.time())
    other_key = "audio/7/00000000000000000000000000000000.mp3"
    await api.container.ports.storage.put_bytes(other_key, b"other", "audio/mpeg")

    attempts = {
        "unsigned": f"{MEDIA}/{PRIVATE_KEY}",
        "tampered": f"{MEDIA}/{PRIVATE_KEY}?expires={expires}&signature={flipped}",
        "later expiry": f"{MEDIA}/{PRIVATE_KEY}?expires={int(expires) + 3600}&signature={signature}",
        "expired": signed_until(api, PRIVATE_KEY, now - 1),
        "other key": f"{MEDIA}/{other_key}?expires={expires}&signature={signature}",
        "no expiry": f"{MEDIA}/{PRIVATE_KEY}?signature={signature}",
        "negative expiry": f"{MEDIA}/{PRIVATE_KEY}?expires=-1&signature={signature}",
        "huge expiry": f"{MEDIA}/{PRIVATE_KEY}?expires={'9' * 40}&signature={signature}",
        "garbage": f"{MEDIA}/{PRIVATE_KEY}?expires=%F0%9F%8E%B5&signature=%F0%9F%8E%B5",
    }
    for name, attempt in attempts.items():
        for headers in ({}, {"Range": "bytes=0-1"}, {"If-None-Match": "*"}):
            response = await api.client.get(attempt, headers=headers)
            assert response.status_code == 403, (name, headers)
            assert response.json() == BAD_LINK
        head = await api.client.head(attempt)
        assert head.status_code == 403, name
    assert (await api.client.get(signed_until(api, PRIVATE_KEY, now + 60))).status_code == 200


async def test_missing_hidden_and_escaping_keys(api: Api, stored: dict[str, bytes], tmp_path: Path) -> None:
    attempts = [
        f"{MEDIA}/avatars/7/missing.webp",
        f"{MEDIA}/avatars/.meta/anything.json",
        f"{MEDIA}/.meta/{PUBLIC_KEY}.json",
        f"{MEDIA}/avatars/%2e%2e/%2e%2e/secrets/secret_key",
        f"{MEDIA}/avatars//7/x.webp",
        f"{MEDIA}/avatars/7",
        f"{MEDIA}/covers/%00.png",
    ]
    for attempt in attempts:
        response = await api.client.get(attempt)
        assert response.status_code in (403, 404), attempt
        assert response.json() in (NOT_FOUND, BAD_LINK, {"detail": "Not Found"}), attempt


async def test_symbolic_links_are_never_followed(api: Api, stored: dict[str, bytes], tmp_path: Path) -> None:
    storage = api.container.ports.storage
    assert isinstance(storage, LocalStorage)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret outside the store")
    link = storage.path("avatars/7/link.webp")
    os.symlink(outside, link)
    inside = storage.path("avatars/7/inside.webp")
    os.symlink(storage.path(PUBLIC_KEY), inside)
    folder = storage.path("covers/9")
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path, folder)  # a linked folder

    for key in ("avatars/7/link.webp", "avatars/7/inside.webp", "covers/9/outside.txt"):
        for method in ("GET", "HEAD"):
            response = await api.client.request(method, f"{MEDIA}/{key}")
            assert response.status_code == 404, (key, method)
            assert b"secret" not in response.content


# --------------------------------------------------------------------------- ranges


async def test_ranges(api: Api, stored: dict[str, bytes]) -> None:
    url = await signed(api, PRIVATE_KEY)
    data = stored[PRIVATE_KEY]
    size = len(data)

    cases = {
        "bytes=0-9": (206, data[:10], f"bytes 0-9/{size}"),
        "bytes=100-": (206, data[100:], f"bytes 100-{size - 1}/{size}"),
        "bytes=-5": (206, data[-5:], f"bytes {size - 5}-{size - 1}/{size}"),
        f"bytes={size - 1}-{size + 100}": (206, data[-1:], f"bytes {size - 1}-{size - 1}/{size}"),
        f"bytes=-{size + 10}": (206, data, f"bytes 0-{size - 1}/{size}"),
        "bytes=0-1,4-5": (200, data, None),  # several ranges: the whole object
        "bytes=9-2": (200, data, None),  # malformed: ignored
        "items=0-1": (200, data, None),
        "bytes=abc": (200, data, None),
    }
    for header, (status, body, content_range) in cases.items():
        response = await api.client.get(url, headers={"Range": header})
        assert response.status_code == status, header
        assert response.content == body, header
        assert response.headers.get("content-range") == content_range, header
        assert response.headers["content-length"] == str(len(body)), header
        assert response.headers["accept-ranges"] == "bytes"

    beyond = await api.client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert beyond.json() == {"detail": "Requested range not satisfiable"}


async def test_ranges_of_thousands_of_digits_are_416_or_the_rest(api: Api, stored: dict[str, bytes]) -> None:
    url = await signed(api, PRIVATE_KEY)
    data = stored[PRIVATE_KEY]
    size, huge = len(data), "9" * 5000  # beyond int()'s digit limit

    for header, (status, body, content_range) in {
        f"bytes={huge}-": (416, None, f"bytes */{size}"),
        f"bytes=0-{huge}": (206, data, f"bytes 0-{size - 1}/{size}"),
        f"bytes=-{huge}": (206, data, f"bytes 0-{size - 1}/{size}"),
        f"bytes=1-{huge}": (206, data[1:], f"bytes 1-{size - 1}/{size}"),
    }.items():
        for method in ("GET", "HEAD"):
            response = await api.client.request(method, url, headers={"Range": header})
            assert response.status_code == status, (method, header[:12], response.text[:200])
            assert response.headers["content-range"] == content_range
            if method == "GET" and body is not None:
                assert response.content == body


async def test_head(api: Api, stored: dict[str, bytes]) -> None:
    url = await signed(api, PRIVATE_KEY)
    size = len(stored[PRIVATE_KEY])

    whole = await api.client.head(url)
    part = await api.client.head(url, headers={"Range": "bytes=10-19"})
    public = await api.client.head(f"{MEDIA}/{PUBLIC_KEY}?t=5")

    assert (whole.status_code, whole.content) == (200, b"")
    assert whole.headers["content-length"] == str(size)
    assert whole.headers["content-type"] == "audio/mpeg"
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["etag"]
    assert (part.status_code, part.content) == (206, b"")
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    assert part.headers["content-length"] == "10"
    assert public.status_code == 200 and public.headers["cache-control"].startswith("public")


# --------------------------------------------------------------------------- conditional requests


async def test_if_none_match(api: Api, stored: dict[str, bytes]) -> None:
    url = await signed(api, PRIVATE_KEY)
    etag = (await api.client.get(url)).headers["etag"]

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        for method in ("GET", "HEAD"):
            response = await api.client.request(method, url, headers={"If-None-Match": header})
            assert response.status_code == 304, (header, method)
            assert response.content == b""
            assert response.headers["etag"] == etag
            assert response.headers["cache-control"] == "private, max-age=3600"
    changed = await api.client.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == stored[PRIVATE_KEY]


async def test_if_range(api: Api, stored: dict[str, bytes]) -> None:
    url = await signed(api, PRIVATE_KEY)
    data = stored[PRIVATE_KEY]
    etag = (await api.client.get(url)).headers["etag"]

    same = await api.client.get(url, headers={"Range": "bytes=0-3", "If-Range": etag})
    stale = await api.client.get(url, headers={"Range": "bytes=0-3", "If-Range": '"old"'})
    weak = await api.client.get(url, headers={"Range": "bytes=0-3", "If-Range": f"W/{etag}"})
    dated = await api.client.get(url, headers={"Range": "bytes=0-3", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"})

    assert (same.status_code, same.content) == (206, data[:4])
    for response in (stale, weak, dated):  # the object may have changed: the whole of it
        assert (response.status_code, response.content) == (200, data)


async def test_a_replaced_object_gets_a_new_etag(api: Api, stored: dict[str, bytes]) -> None:
    before = (await api.client.get(f"{MEDIA}/{PUBLIC_KEY}")).headers["etag"]
    await api.container.ports.storage.put_bytes(PUBLIC_KEY, png_bytes((41, 30)), "image/webp")

    after = await api.client.get(f"{MEDIA}/{PUBLIC_KEY}", headers={"If-None-Match": before})

    assert after.status_code == 200 and after.headers["etag"] != before


async def test_an_empty_object(api: Api) -> None:
    await api.container.ports.storage.put_bytes("covers/1/empty.png", b"", "image/png")

    whole = await api.client.get(f"{MEDIA}/covers/1/empty.png")
    ranged = await api.client.get(f"{MEDIA}/covers/1/empty.png", headers={"Range": "bytes=0-10"})

    assert (whole.status_code, whole.content, whole.headers["content-length"]) == (200, b"", "0")
    assert (ranged.status_code, ranged.content) == (200, b"")
