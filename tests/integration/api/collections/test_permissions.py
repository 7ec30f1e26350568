"""The permission matrix of contract section 6, over HTTP on SQLite and PostgreSQL: every
collection endpoint x (owner, edit collaborator, view collaborator, other user, admin, anonymous)
x (public, private collection): the status, and where it is a 2xx, the body and its effect.

Each case runs on a fresh collection of the owner: collaborative, shared with ``editor`` (edit) and
``viewer`` (view), holding two tracks."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fixtures.media import png_bytes
from tests.integration.api.collections.conftest import COLLECTIONS, Library
from tests.integration.api.conftest import Account

ROLES = ("owner", "editor", "viewer", "other", "admin", "anonymous")
READERS = {"owner", "editor", "viewer", "admin"}
EDITORS = {"owner", "editor", "admin"}
MANAGERS = {"owner", "admin"}


@dataclass
class Case:
    """One collection of the matrix, and everything a call needs."""

    library: Library
    people: dict[str, Account]
    ids: dict[str, int]  # user ids by role
    collection: dict[str, Any]
    tracks: list[dict[str, Any]]
    spare: list[int]  # public audio files of the owner, not in the collection

    @property
    def url(self) -> str:
        return f"{COLLECTIONS}/{self.collection['id']}"

    async def as_owner(self) -> httpx.Response:
        return await self.library.get(self.collection["id"], self.people["owner"])


Call = Callable[[Case, dict[str, str] | None], Awaitable[httpx.Response]]
Check = Callable[[Case, httpx.Response, str], Awaitable[None]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    audience: set[str]  # who may (2xx); the others: 404 if they may not see it, 401 anonymous, else 403
    call: Call
    check: Check
    status: int = 200


# --------------------------------------------------------------------------- the calls and their checks


async def get_collection(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.get(case.url, headers=headers)


async def check_get(case: Case, response: httpx.Response, role: str) -> None:
    body = response.json()
    assert (body["id"], [t["id"] for t in body["tracks"]]) == (case.collection["id"], [t["id"] for t in case.tracks])
    assert body["can_edit"] is (role in EDITORS)
    assert {c["user"]["username"] for c in body["collaborators"]} == {"editor", "viewer"}
    assert all("signature=" in t["audio_file"]["file_url"] for t in body["tracks"])  # private files, playable


async def rename(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.put(
        case.url, json={"title": "Renamed", "is_public": case.collection["is_public"]}, headers=headers
    )


async def check_rename(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json()["title"] == "Renamed"
    assert (await case.as_owner()).json()["title"] == "Renamed"


async def flip_visibility(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.put(
        case.url, json={"is_public": not case.collection["is_public"]}, headers=headers
    )


async def check_flip(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json()["is_public"] is not case.collection["is_public"]
    assert (await case.as_owner()).json()["is_public"] is not case.collection["is_public"]


async def delete_collection(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.delete(case.url, headers=headers)


async def check_deleted(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json() == {"message": "Collection deleted successfully"}
    assert (await case.as_owner()).status_code == 404


async def cover(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    files = {"file": ("cover.png", png_bytes(), "image/png")}
    return await case.library.client.post(f"{case.url}/cover-art", files=files, headers=headers)


async def check_cover(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json()["cover_art_url"]
    assert (await case.as_owner()).json()["cover_art_url"] == response.json()["cover_art_url"]


async def download(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.get(f"{case.url}/download", headers=headers)


async def check_download(case: Case, response: httpx.Response, role: str) -> None:
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert names == ["01 - one.mp3", "02 - two.mp3"]


async def add_track(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.post(f"{case.url}/tracks", json={"audio_file_id": case.spare[0]}, headers=headers)


async def check_added(case: Case, response: httpx.Response, role: str) -> None:
    assert (response.json()["audio_file_id"], response.json()["track_order"]) == (case.spare[0], 3)
    assert (response.json()["added_by_id"]) == case.ids[role]
    assert (await case.as_owner()).json()["track_count"] == 3


async def bulk_add(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.post(
        f"{case.url}/tracks/bulk-add", json={"audio_file_ids": case.spare}, headers=headers
    )


async def check_bulk(case: Case, response: httpx.Response, role: str) -> None:
    assert [(t["audio_file_id"], t["track_order"]) for t in response.json()] == [(case.spare[0], 3), (case.spare[1], 4)]
    assert (await case.as_owner()).json()["track_count"] == 4


async def remove_track(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.delete(f"{case.url}/tracks/{case.tracks[0]['id']}", headers=headers)


async def check_removed(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json() == {"message": "Track removed from collection"}
    tracks = (await case.as_owner()).json()["tracks"]
    assert [(t["id"], t["track_order"]) for t in tracks] == [(case.tracks[1]["id"], 1)]


async def reorder(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.put(
        f"{case.url}/tracks/{case.tracks[1]['id']}/reorder", json={"new_order": 1}, headers=headers
    )


async def check_reordered(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json()["track_order"] == 1
    tracks = (await case.as_owner()).json()["tracks"]
    assert [t["id"] for t in tracks] == [case.tracks[1]["id"], case.tracks[0]["id"]]


async def add_collaborator(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.post(
        f"{case.url}/collaborators", json={"username": "guest", "permission_level": "view"}, headers=headers
    )


async def check_collaborator_added(case: Case, response: httpx.Response, role: str) -> None:
    assert (response.json()["user"]["username"], response.json()["added_by_id"]) == ("guest", case.ids[role])
    collaborators = (await case.as_owner()).json()["collaborators"]
    assert {c["user"]["username"] for c in collaborators} == {"editor", "viewer", "guest"}


async def change_permission(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.put(
        f"{case.url}/collaborators/{case.ids['viewer']}", json={"permission_level": "edit"}, headers=headers
    )


async def check_permission_changed(case: Case, response: httpx.Response, role: str) -> None:
    assert (response.json()["user_id"], response.json()["permission_level"]) == (case.ids["viewer"], "edit")
    viewer = await case.library.get(case.collection["id"], case.people["viewer"])
    assert viewer.json()["can_edit"] is True


async def remove_collaborator(case: Case, headers: dict[str, str] | None) -> httpx.Response:
    return await case.library.client.delete(f"{case.url}/collaborators/{case.ids['viewer']}", headers=headers)


async def check_collaborator_removed(case: Case, response: httpx.Response, role: str) -> None:
    assert response.json() == {"message": "Collaborator removed"}
    collaborators = (await case.as_owner()).json()["collaborators"]
    assert [c["user"]["username"] for c in collaborators] == ["editor"]


ENDPOINTS = [
    Endpoint("GET /collections/{id}", READERS, get_collection, check_get),
    Endpoint("GET /collections/{id}/download", READERS, download, check_download),
    Endpoint("PUT /collections/{id} (title)", EDITORS, rename, check_rename),
    Endpoint("POST /collections/{id}/cover-art", EDITORS, cover, check_cover),
    Endpoint("POST /collections/{id}/tracks", EDITORS, add_track, check_added, 201),
    Endpoint("POST /collections/{id}/tracks/bulk-add", EDITORS, bulk_add, check_bulk, 201),
    Endpoint("DELETE /collections/{id}/tracks/{track_id}", EDITORS, remove_track, check_removed),
    Endpoint("PUT /collections/{id}/tracks/{track_id}/reorder", EDITORS, reorder, check_reordered),
    Endpoint("PUT /collections/{id} (is_public)", MANAGERS, flip_visibility, check_flip),
    Endpoint("DELETE /collections/{id}", MANAGERS, delete_collection, check_deleted),
    Endpoint("POST /collections/{id}/collaborators", MANAGERS, add_collaborator, check_collaborator_added, 201),
    Endpoint("PUT /collections/{id}/collaborators/{user_id}", MANAGERS, change_permission, check_permission_changed),
    Endpoint(
        "DELETE /collections/{id}/collaborators/{user_id}", MANAGERS, remove_collaborator, check_collaborator_removed
    ),
]


def expected(endpoint: Endpoint, role: str, public: bool) -> int:
    """Readers: everyone on a public collection. Changes: anonymous callers 401; those who may
    not see the collection 404; those who see it but may not do this 403."""
    sees = role in READERS or public
    if endpoint.audience is READERS:
        return endpoint.status if sees else 404
    if role in endpoint.audience:
        return endpoint.status
    if role == "anonymous":
        return 401
    return 403 if sees else 404


# --------------------------------------------------------------------------- the matrix


async def _world(library: Library) -> tuple[dict[str, Account], dict[str, int], list[int], list[int]]:
    api = library.api
    people = {role: await api.account(role) for role in ("owner", "editor", "viewer", "other")}
    people["admin"] = await api.account("admin", admin=True)
    await api.account("guest")
    ids = {}
    for role, account in people.items():
        me = await library.client.get("/api/v1/users/me", headers=account.headers)
        ids[role] = me.json()["id"]
    tracks = await library.audio("owner", "one", "two", public=False)
    spare = await library.audio("owner", "three", "four", public=True)
    return people, ids, tracks, spare


async def _case(
    library: Library, people: dict[str, Account], ids: dict[str, int], audio: list[int], spare: list[int], public: bool
) -> Case:
    collection = await library.collection(people["owner"], title="Matrix", is_public=public, is_collaborative=True)
    await library.share(people["owner"], collection["id"], "editor", "edit")
    await library.share(people["owner"], collection["id"], "viewer", "view")
    tracks = await library.add(people["owner"], collection["id"], *audio)
    return Case(library, people, ids, collection, tracks, spare)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_permission_matrix(library: Library, endpoint: Endpoint) -> None:
    people, ids, audio, spare = await _world(library)
    outcomes = []
    for public in (True, False):
        for role in ROLES:
            case = await _case(library, people, ids, audio, spare, public)
            headers = people[role].headers if role in people else None
            before = (await case.as_owner()).json()
            response = await endpoint.call(case, headers)
            want = expected(endpoint, role, public)
            outcomes.append((role, public, response.status_code, want))
            assert response.status_code == want, (endpoint.name, role, public, response.text)
            if 200 <= want < 300:
                await endpoint.check(case, response, role)
            else:
                assert set(response.json()) == {"detail"}
                if endpoint.audience is not READERS:  # a refused change changed nothing
                    assert (await case.as_owner()).json() == before
    assert len(outcomes) == 2 * len(ROLES)


async def test_lists_matrix(library: Library) -> None:
    """``GET /collections/`` (no ``public_only``) and ``/collaborative`` per role: who finds the
    public and the private collection there."""
    people, ids, audio, spare = await _world(library)
    public = await _case(library, people, ids, audio, spare, True)
    private = await _case(library, people, ids, audio, spare, False)
    listed_in_library = {
        "owner": {True, False}, "editor": {True, False}, "viewer": {True, False},
        "other": {True}, "admin": {True}, "anonymous": {True},
    }  # fmt: skip
    for role in ROLES:
        headers = people[role].headers if role in people else None
        body = (await library.client.get(f"{COLLECTIONS}/", headers=headers)).json()
        found = {c["id"] for c in body["items"]}
        want = {
            case.collection["id"]
            for case in (public, private)
            if case.collection["is_public"] in listed_in_library[role]
        }
        assert found == want, role
        for item in body["items"]:
            assert "tracks" not in item and item["track_count"] == 2
            assert {c["user"]["username"] for c in item["collaborators"]} == {"editor", "viewer"}
            assert item["can_edit"] is (role in EDITORS)
        shared = await library.client.get(f"{COLLECTIONS}/collaborative", headers=headers)
        if role == "anonymous":
            assert shared.status_code == 401
        else:
            expected_shared = 2 if role in ("editor", "viewer") else 0
            assert shared.json()["total"] == expected_shared, role
