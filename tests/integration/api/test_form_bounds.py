"""What a multipart form can make the server keep is bounded (issue 12, section 1, "Multipart field
names"): the number of parts, a part's name and headers, the form's text (names and headers
included) and the whole body, on every upload route. Past a bound the answer is 400 or 413, never a
success, and the body is not read further: the valid file that follows is never reached."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sono.entrypoints.http.uploads import (
    MAX_PART_NAME_BYTES,
    MAX_PARTS,
    PART_HEADERS_TOO_LARGE,
    PART_NAME_TOO_LONG,
    TOO_MANY_PARTS,
)
from tests.fixtures.media import mp3_bytes, png_bytes
from tests.integration.api.conftest import Account, Api

BOUNDARY = "sonoformbounds"
KIB = 1024


async def route_of(api: Api, kind: str, account: Account) -> str:
    if kind == "audio":
        return "/api/v1/audio/upload"
    if kind == "avatar":
        return "/api/v1/users/me/upload-profile-picture"
    created = await api.client.post(
        "/api/v1/collections/",
        headers=account.headers,
        json={"title": "Mix", "collection_type": "playlist", "is_public": True},
    )
    assert created.status_code == 201, created.text
    return f"/api/v1/collections/{created.json()['id']}/cover-art"


def file_part(kind: str) -> bytes:
    name, data, ctype = (
        ("song.mp3", mp3_bytes(), "audio/mpeg") if kind == "audio" else ("a.png", png_bytes(), "image/png")
    )
    disposition = f'Content-Disposition: form-data; name="file"; filename="{name}"'
    head = f"--{BOUNDARY}\r\n{disposition}\r\nContent-Type: {ctype}\r\n\r\n"
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def text_part(name: str, value: str = "", extra_headers: str = "") -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n{extra_headers}\r\n{value}\r\n'.encode()


class Body:
    """A chunked body (no Content-Length): ``parts`` and then the valid file; records whether the
    server read as far as the file."""

    def __init__(self, parts: Iterator[bytes], kind: str) -> None:
        self.parts = parts
        self.kind = kind
        self.file_reached = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        self.file_reached = True
        yield file_part(self.kind)


async def post(api: Api, account: Account, route: str, body: Body) -> tuple[int, object]:
    headers = account.headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = await api.client.post(route, headers=headers, content=body)
    return response.status_code, response.json()


KINDS = ["audio", "avatar", "cover"]


@pytest.mark.parametrize("kind", KINDS)
async def test_the_valid_form_still_passes(api: Api, kind: str) -> None:
    """The bounds leave room for what the clients send: a few fields and the file."""
    alice = await api.account("alice")
    route = await route_of(api, kind, alice)
    fields = iter([text_part("title", "Song"), text_part("is_public", "true")] if kind == "audio" else [])

    status, body = await post(api, alice, route, Body(fields, kind))

    assert status in (200, 201), body


@pytest.mark.parametrize("kind", KINDS)
async def test_many_empty_fields_with_long_names_are_refused_before_the_file(api: Api, kind: str) -> None:
    """The finding: thousands of empty fields, each with a different 3.9 KB name, then a valid file."""
    alice = await api.account("alice")
    route = await route_of(api, kind, alice)
    body = Body((text_part(f"{i:06d}" + "n" * 3900) for i in range(31_808)), kind)

    status, detail = await post(api, alice, route, body)

    assert (status, detail) == (400, {"detail": PART_NAME_TOO_LONG})
    assert not body.file_reached


@pytest.mark.parametrize("kind", KINDS)
async def test_more_parts_than_the_bound_are_400(api: Api, kind: str) -> None:
    alice = await api.account("alice")
    route = await route_of(api, kind, alice)
    body = Body((text_part(f"f{i}") for i in range(MAX_PARTS + 1)), kind)

    status, detail = await post(api, alice, route, body)

    assert (status, detail) == (400, {"detail": TOO_MANY_PARTS})
    assert not body.file_reached


async def test_a_name_at_the_bound_is_kept_and_one_byte_more_is_400(api: Api) -> None:
    alice = await api.account("alice")
    route = await route_of(api, "avatar", alice)
    at_bound = Body(iter([text_part("n" * MAX_PART_NAME_BYTES)]), "avatar")
    beyond = Body(iter([text_part("n" * (MAX_PART_NAME_BYTES + 1))]), "avatar")

    assert (await post(api, alice, route, at_bound))[0] == 200
    assert await post(api, alice, route, beyond) == (400, {"detail": PART_NAME_TOO_LONG})
    assert not beyond.file_reached


@pytest.mark.parametrize("kind", KINDS)
async def test_oversized_part_headers_are_400(api: Api, kind: str) -> None:
    alice = await api.account("alice")
    route = await route_of(api, kind, alice)
    padding = "".join(
        f"X-Padding-{i}: {'p' * 2 * KIB}\r\n" for i in range(3)
    )  # each line within the parser's own bound
    body = Body(iter([text_part("title", "x", extra_headers=padding)]), kind)

    status, detail = await post(api, alice, route, body)

    assert (status, detail) == (400, {"detail": PART_HEADERS_TOO_LARGE})
    assert not body.file_reached


@pytest.mark.parametrize("kind", KINDS)
async def test_headers_count_against_the_form_text_budget(api: Api, kind: str) -> None:
    """Parts within every per-part bound, whose headers together exceed the form's 64 KiB: 413."""
    alice = await api.account("alice")
    route = await route_of(api, kind, alice)
    padding = f"X-Padding: {'p' * 3 * KIB}\r\n"
    body = Body((text_part(f"f{i}", extra_headers=padding) for i in range(MAX_PARTS - 1)), kind)

    status, detail = await post(api, alice, route, body)

    assert (status, detail) == (413, {"detail": "Request body too large"})
    assert not body.file_reached


@pytest.mark.parametrize("kind", ["avatar", "cover"])  # the audio route shares the code, with 50 MB to send
async def test_a_body_beyond_the_route_limit_is_413_even_after_a_valid_form(api: Api, kind: str) -> None:
    """The bytes after the form's last boundary are ignored by the parser, but still count: a
    chunked body longer than the file limit plus the form's budget is refused while it streams."""
    alice = await api.account("alice")
    route = await route_of(api, kind, alice)
    limit = 50 * KIB * KIB if kind == "audio" else 5 * KIB * KIB
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield file_part(kind)
        chunk = b"e" * KIB * KIB
        while sent < limit + 4 * KIB * KIB:
            sent += len(chunk)
            yield chunk

    headers = alice.headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = await api.client.post(route, headers=headers, content=body())

    assert response.status_code == 413, response.text
    assert sent <= limit + 2 * KIB * KIB  # the rest was never read
