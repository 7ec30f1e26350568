"""Hostile and odd input never reaches the database unchecked and is never a 500: NUL characters
(PostgreSQL refuses them in text), over-long strings, deeply nested JSON, odd Unicode, extra
fields. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import unquote

import pytest

from tests.fixtures.media import mp3_bytes
from tests.integration.api.conftest import PASSWORD, Api

ME = "/api/v1/users/me"
NUL = "a\x00b"
NUL_REFUSED = "Value must not contain NUL characters"


def only_error(response_json: dict[str, object]) -> dict[str, object]:
    detail = response_json["detail"]
    assert isinstance(detail, list) and len(detail) == 1, detail
    return detail[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", ME, {"bio": NUL}, "bio"),
        ("PUT", ME, {"display_name": NUL}, "display_name"),
        ("POST", f"{ME}/consent", {"consent_type": NUL, "consent_version": "1"}, "consent_type"),
        ("POST", f"{ME}/consent", {"consent_type": "terms", "consent_version": NUL}, "consent_version"),
        ("POST", f"{ME}/consent", {"consent_type": "t", "consent_version": "1", "ip_address": NUL}, "ip_address"),
        ("POST", f"{ME}/request-deletion", {"reason": NUL}, "reason"),
        ("POST", "/api/v1/users/forgot-password", {"email": f"{NUL}@example.com"}, "email"),
        ("POST", "/api/v1/users/verify-reset-token", {"token": NUL}, "token"),
        ("POST", "/api/v1/users/reset-password", {"token": NUL, "new_password": PASSWORD}, "token"),
        ("POST", "/api/v1/users/token/refresh", {"refresh_token": NUL}, "refresh_token"),
        ("POST", "/api/v1/users/", {"username": NUL, "email": "x@example.com", "password": PASSWORD}, "username"),
        ("POST", "/api/v1/users/", {"username": "nul", "email": f"{NUL}@x.io", "password": PASSWORD}, "email"),
        ("POST", "/api/v1/users/", {"username": "nul", "email": "n@x.io", "password": f"Aa1!{NUL}aaaa"}, "password"),
    ],
)
async def test_nul_characters_in_json_bodies_are_422(api: Api, method: str, path: str, body: dict, field: str) -> None:
    alice = await api.account("alice")

    response = await api.client.request(method, path, json=body, headers=alice.headers)

    assert response.status_code == 422, response.text
    if path == "/api/v1/users/":  # registration answers its first error as text (contract section 3)
        assert response.json() == {"detail": f"{field}: {NUL_REFUSED}"}
    else:
        assert only_error(response.json()) == {"loc": ["body", field], "msg": NUL_REFUSED, "type": "value_error"}
    assert (await api.client.get(ME, headers=alice.headers)).json()["bio"] is None  # nothing was stored


async def test_nul_characters_in_the_login_form_and_queries_are_422(api: Api) -> None:
    alice = await api.account("alice")

    login = await api.login(f"alice{NUL}")
    delete = await api.client.delete(ME, params={"password": f"x{NUL}"}, headers=alice.headers)
    search = await api.client.get("/api/v1/users/search", params={"query": f"al{NUL}"}, headers=alice.headers)

    assert login.status_code == 422, login.text
    assert only_error(login.json())["loc"] == ["body", "username"]
    assert delete.status_code == 422, delete.text
    assert only_error(delete.json())["loc"] == ["query", "password"]
    assert search.status_code == 422, search.text
    assert only_error(search.json())["loc"] == ["query", "query"]


async def test_over_long_strings_are_422_never_500(api: Api) -> None:
    alice = await api.account("alice")
    huge = "x" * 20_000

    for method, path, body in (
        ("PUT", ME, {"bio": huge}),
        ("PUT", ME, {"display_name": huge}),
        ("POST", f"{ME}/consent", {"consent_type": huge, "consent_version": "1"}),
        ("POST", f"{ME}/consent", {"consent_type": "t", "consent_version": "1", "ip_address": "1" * 46}),
        ("POST", "/api/v1/users/forgot-password", {"email": huge + "@example.com"}),
        ("POST", "/api/v1/users/", {"username": huge, "email": "x@example.com", "password": PASSWORD}),
        ("POST", "/api/v1/users/", {"username": "ok_name", "email": huge + "@x.io", "password": PASSWORD}),
        ("POST", "/api/v1/users/token/refresh", {"refresh_token": huge}),
    ):
        response = await api.client.request(method, path, json=body, headers=alice.headers)
        assert response.status_code == 422, (path, body.keys(), response.text[:200])
        detail = response.json()["detail"]
        assert detail.startswith(tuple(body)) if path == "/api/v1/users/" else detail[0]["loc"][0] == "body"
    login = await api.login(huge)
    assert login.status_code == 422


async def test_odd_unicode_round_trips(api: Api) -> None:
    alice = await api.account("alice")
    bio = "🎵 مرحبا e\u0301 \u202eevil\u202c 𝄞 \ufeff"

    response = await api.client.put(ME, json={"bio": bio, "display_name": "Zoë 🎧"}, headers=alice.headers)

    kept = "🎵 مرحبا e\u0301 evil 𝄞 \ufeff"  # all but the bidirectional controls
    assert response.status_code == 200, response.text
    assert (response.json()["bio"], response.json()["display_name"]) == (kept, "Zoë 🎧")
    assert (await api.client.get(ME, headers=alice.headers)).json()["bio"] == kept
    lone_surrogate = await api.client.put(
        ME, content=b'{"bio": "\\ud800"}', headers=alice.headers | {"Content-Type": "application/json"}
    )
    assert lone_surrogate.status_code in (400, 422), lone_surrogate.text


async def test_deeply_nested_json_is_a_malformed_body(api: Api) -> None:
    alice = await api.account("alice")
    for depth in (1000, 100_000):
        body = b"[" * depth + b"]" * depth
        response = await api.client.put(ME, content=body, headers=alice.headers | {"Content-Type": "application/json"})
        assert (response.status_code, response.json()) == (400, {"detail": "Invalid JSON body"})
    nested = b'{"bio": ' + b"[" * 500 + b"]" * 500 + b"}"
    wrong_type = await api.client.put(ME, content=nested, headers=alice.headers | {"Content-Type": "application/json"})
    assert wrong_type.status_code == 422


async def test_unknown_json_fields_are_ignored_and_null_clears(api: Api) -> None:
    alice = await api.account("alice")
    await api.client.put(ME, json={"bio": "something"}, headers=alice.headers)

    response = await api.client.put(
        ME, json={"bio": None, "track_id": 7, "nested": {"x": [1, 2]}, "is_superuser": True}, headers=alice.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["bio"] is None
    assert response.json()["is_superuser"] is False  # not a field of the request: ignored, not applied


async def test_usernames_are_unique_case_insensitively_and_keep_their_spelling(api: Api) -> None:
    first = await api.register("Alice")
    clash = await api.register("ALICE", email="other@example.com")

    assert first.status_code == 201 and first.json()["username"] == "Alice"
    assert (clash.status_code, clash.json()) == (409, {"detail": "Username already taken"})
    for login in ("alice", "ALICE", "Alice", "ALICE@example.com"):
        response = await api.login(login)
        assert response.status_code == 200, (login, response.text)
    token = (await api.login("aLiCe")).json()["access_token"]
    me = await api.client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "Alice"


async def test_an_invalid_or_expired_token_is_ignored_where_anonymous_callers_are_served(api: Api) -> None:
    stale = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl"}

    for method, path in (
        ("GET", "/"),
        ("GET", "/health"),
        ("GET", "/api/v1/users/public-key"),
        ("GET", "/api/v1/admin/maintenance/status"),
    ):
        response = await api.client.request(method, path, headers=stale)
        assert response.status_code == 200, (path, response.text)
    register = await api.register("bob", headers=stale)
    assert register.status_code == 201, register.text
    assert (await api.login("bob", headers=stale)).status_code == 200
    assert (await api.client.get(ME, headers=stale)).status_code == 401  # a protected route still refuses it


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def bidi_free(value: object) -> bool:
    return not set(str(value)) & set(BIDI)


async def test_bidi_controls_are_dropped_from_every_text_and_file_name(api: Api) -> None:
    """``invoice\u202efdp.mp3`` would show as ``invoice3pm.pdf``: no text a user submits keeps a
    bidirectional control, in what is answered, stored, downloaded or archived."""
    alice = await api.account("alice")
    root = await api.account("root", admin=True)

    me = await api.client.put(ME, json={"bio": f"a{BIDI}b", "display_name": "\u202eZoë"}, headers=alice.headers)
    made = await api.client.post(
        "/api/v1/collections/",
        json={
            "title": f"Mix{BIDI}",
            "description": "d\u2066x\u2069",
            "artist": "\u200eA",
            "curator_note": "n\u200f",
            "collection_type": "album",
        },
        headers=alice.headers,
    )
    news = await api.client.post(
        "/api/v1/admin/announcements", json={"title": "T\u202e", "content": "c\u2067"}, headers=root.headers
    )
    song = await api.client.post(
        "/api/v1/audio/upload",
        files={"file": ("invoice\u202efdp.mp3", mp3_bytes(), "audio/mpeg")},
        data={"title": "Song\u202e1", "description": "x\u2068y", "is_public": "true"},
        headers=alice.headers,
    )

    assert (me.status_code, me.json()["bio"], me.json()["display_name"]) == (200, "ab", "Zoë"), me.text
    assert made.status_code == 201, made.text
    assert [made.json()[k] for k in ("title", "description", "artist", "curator_note")] == ["Mix", "dx", "A", "n"]
    assert (news.status_code, news.json()["title"], news.json()["content"]) == (201, "T", "c"), news.text
    assert song.status_code == 201, song.text
    assert [song.json()[k] for k in ("original_filename", "title", "description")] == ["invoicefdp.mp3", "Song1", "xy"]

    stored_me = (await api.client.get(ME, headers=alice.headers)).json()
    assert (stored_me["bio"], stored_me["display_name"]) == ("ab", "Zoë")
    download = await api.client.get(f"/api/v1/audio/{song.json()['id']}/download", headers=alice.headers)
    assert download.status_code == 200
    assert download.headers["content-disposition"].endswith("filename*=UTF-8''invoicefdp.mp3")
    added = await api.client.post(
        f"/api/v1/collections/{made.json()['id']}/tracks",
        json={"audio_file_id": song.json()["id"]},
        headers=alice.headers,
    )
    assert added.status_code == 201, added.text
    archive = await api.client.get(f"/api/v1/collections/{made.json()['id']}/download", headers=alice.headers)
    assert archive.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(archive.content)).namelist() == ["01 - Song1.mp3"]
    assert bidi_free(unquote(archive.headers["content-disposition"]))


async def test_passwords_keep_their_bidi_controls(api: Api) -> None:
    """A password is not text to show: kept exactly as typed (some keyboards type U+200E)."""
    password = "Str0ng!\u200ePassw0rd"
    registered = await api.register("marked", password=password)

    assert registered.status_code == 201, registered.text
    assert (await api.login("marked", password)).status_code == 200
    assert (await api.login("marked", password.replace("\u200e", ""))).status_code == 401
