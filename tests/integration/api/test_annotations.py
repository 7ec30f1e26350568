"""Stars and plays over HTTP, on SQLite and on PostgreSQL (with Redis): ``/audio/{id}/star`` and
``/audio/{id}/plays``, the caller's ``starred``/``play_count``/``last_played`` on every audio shape
(never leaking between callers through the kept pages), the GDPR export and erasure, and races:
users starring the same file together, listens counted together, and a star racing the file's
deletion (never a 500, nothing left behind)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.fixtures.media import mp3_bytes
from tests.integration.api.audio_support import counted_statements, upload
from tests.integration.api.conftest import PASSWORD, Account, Api, MakeApi

AUDIO = "/api/v1/audio"
COLLECTIONS = "/api/v1/collections"
ANNOTATIONS = {"starred", "play_count", "last_played"}
ROUNDS = 8


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api(SONO_RATE_LIMITS_ENABLED="false")


async def a_file(api: Api, owner: Account, *, public: bool = True) -> int:
    response = await upload(api, owner, mp3_bytes(), is_public="true" if public else "false")
    assert response.status_code == 201, response.text
    audio_id: int = response.json()["id"]
    return audio_id


def star(api: Api, who: Account | None, audio_id: int) -> Any:
    return api.client.post(f"{AUDIO}/{audio_id}/star", headers=who.headers if who else {})


def unstar(api: Api, who: Account | None, audio_id: int) -> Any:
    return api.client.delete(f"{AUDIO}/{audio_id}/star", headers=who.headers if who else {})


def play(api: Api, who: Account | None, audio_id: int) -> Any:
    return api.client.post(f"{AUDIO}/{audio_id}/plays", headers=who.headers if who else {})


async def rows(api: Api, sql: str, **params: object) -> set[tuple[Any, ...]]:
    async with api.uow() as uow:
        return {tuple(row) for row in await uow.session.execute(text(sql), params)}


async def annotations(api: Api, who: Account | None, audio_id: int) -> dict[str, Any]:
    response = await api.client.get(f"{AUDIO}/{audio_id}", headers=who.headers if who else {})
    assert response.status_code == 200, response.text
    return {key: value for key, value in response.json().items() if key in ANNOTATIONS}


def starred(items: list[dict[str, Any]]) -> dict[int, bool]:
    return {item["id"]: item["starred"] is not None for item in items}


async def test_star_unstar_and_plays_show_on_the_callers_audio_shape(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    audio_id = await a_file(api, alice)
    assert await annotations(api, bob, audio_id) == {"starred": None, "play_count": 0, "last_played": None}
    assert await annotations(api, None, audio_id) == {}  # anonymous callers have none

    for _ in range(2):  # idempotent
        response = await star(api, bob, audio_id)
        assert (response.status_code, response.content) == (204, b"")
    first = (await annotations(api, bob, audio_id))["starred"]
    assert datetime.fromisoformat(first.replace("Z", "+00:00")).tzinfo is not None
    await star(api, bob, audio_id)
    assert (await annotations(api, bob, audio_id))["starred"] == first  # the first time stays

    assert (await play(api, bob, audio_id)).status_code == 204
    assert (await play(api, bob, audio_id)).status_code == 204
    shown = await annotations(api, bob, audio_id)
    assert shown["play_count"] == 2 and shown["last_played"] is not None
    assert await annotations(api, alice, audio_id) == {"starred": None, "play_count": 0, "last_played": None}

    for _ in range(2):
        assert (await unstar(api, bob, audio_id)).status_code == 204
    assert (await annotations(api, bob, audio_id))["starred"] is None


async def test_files_the_caller_may_not_see_are_404_and_anonymous_callers_401(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    private = await a_file(api, alice, public=False)
    for request in (star, unstar, play):
        for audio_id in (private, 999_999):
            response = await request(api, bob, audio_id)
            assert response.status_code == 404, response.text
            assert response.json() == {"detail": "Audio file not found"}
        assert (await request(api, None, private)).status_code == 401
        assert (await request(api, bob, 2**31)).status_code in (404, 422)  # never a 500
        assert (await request(api, alice, private)).status_code == 204  # the owner sees it
    assert await rows(api, "SELECT user_id FROM stars") == set()  # alice starred, then unstarred
    assert await rows(api, "SELECT count FROM play_counts") == {(1,)}


async def test_two_callers_see_their_own_stars_on_the_same_kept_pages(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    first, second = await a_file(api, alice), await a_file(api, alice)
    await star(api, alice, first)
    await star(api, bob, second)
    await play(api, bob, second)

    mix = await api.client.post(f"{COLLECTIONS}/", json={"title": "Mix", "is_public": True}, headers=alice.headers)
    assert mix.status_code == 201, mix.text
    mix_id = mix.json()["id"]
    for audio_id in (first, second):
        added = await api.client.post(
            f"{COLLECTIONS}/{mix_id}/tracks", json={"audio_file_id": audio_id}, headers=alice.headers
        )
        assert added.status_code == 201, added.text
        assert (added.json()["audio_file"]["starred"] is not None) is (audio_id == first)  # alice's star

    for _ in range(2):  # the second round reads the kept pages
        for who, mine in ((alice, first), (bob, second), (None, None)):
            headers = who.headers if who else {}
            public = (await api.client.get(f"{AUDIO}/public", headers=headers)).json()
            detail = (await api.client.get(f"{COLLECTIONS}/{mix_id}", headers=headers)).json()
            shapes = [public["items"], public["files"], [track["audio_file"] for track in detail["tracks"]]]
            for items in shapes:
                if who is None:
                    assert all(not ANNOTATIONS & set(item) for item in items)
                else:
                    assert starred(items) == {first: mine == first, second: mine == second}
            plays = {item["id"]: item["play_count"] for item in public["items"]} if who else {}
            if who is bob:
                assert plays == {first: 0, second: 1}
            elif who is alice:
                assert plays == {first: 0, second: 0}

    mine = (await api.client.get(f"{AUDIO}/my-files", headers=alice.headers)).json()
    assert starred(mine["items"]) == {first: True, second: False}


async def test_a_signed_in_callers_page_costs_one_statement_more_whatever_its_size(api: Api) -> None:
    alice = await api.account("alice")
    for _ in range(12):
        await star(api, alice, await a_file(api, alice))
    counts: dict[tuple[str, int], int] = {}
    for who in ("anonymous", "alice"):
        headers = alice.headers if who == "alice" else {}
        for limit in (1, 12):
            await api.client.get(f"{AUDIO}/public?limit={limit}", headers=headers)  # the page kept (SQLite)
            await api.client.get("/api/v1/users/me", headers=headers)  # the session looked up once before
            with counted_statements(api) as statements:
                page = await api.client.get(f"{AUDIO}/public?limit={limit}", headers=headers)
            assert len(page.json()["items"]) == limit
            counts[who, limit] = len(statements)
    assert counts["anonymous", 1] == counts["anonymous", 12], counts
    assert counts["alice", 1] == counts["alice", 12], counts
    # the caller's stars and plays of the page: one statement (the caller's session is kept)
    assert counts["alice", 1] - counts["anonymous", 1] == 1, counts


async def test_the_export_lists_stars_and_plays_and_erasure_removes_them(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    alices, bobs = await a_file(api, alice), await a_file(api, bob)
    for who in (alice, bob):
        for audio_id in (alices, bobs):
            assert (await star(api, who, audio_id)).status_code == 204
            assert (await play(api, who, audio_id)).status_code == 204

    export = (await api.client.get("/api/v1/users/me/export-data", headers=alice.headers)).json()
    assert {(s["item_type"], s["item_id"]) for s in export["stars"]} == {("song", alices), ("song", bobs)}
    assert all(s["starred_at"] for s in export["stars"])
    assert {(p["audio_file_id"], p["play_count"]) for p in export["plays"]} == {(alices, 1), (bobs, 1)}

    deleted = await api.client.delete(
        "/api/v1/users/me", params={"password": PASSWORD, "deletion_type": "hard"}, headers=alice.headers
    )
    assert deleted.status_code == 200, deleted.text
    # alice's own stars and plays, and everyone's on her files, are gone; bob's on his file stay
    assert await rows(api, "SELECT item_id FROM stars") == {(bobs,)}
    assert await rows(api, "SELECT audio_file_id FROM play_counts") == {(bobs,)}


async def test_deleting_a_file_removes_everyones_stars_of_it(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    gone, kept = await a_file(api, alice), await a_file(api, alice)
    for who in (alice, bob):
        for audio_id in (gone, kept):
            await star(api, who, audio_id)
            await play(api, who, audio_id)
    assert (await api.client.delete(f"{AUDIO}/{gone}", headers=alice.headers)).status_code == 200
    assert await rows(api, "SELECT DISTINCT item_id FROM stars") == {(kept,)}
    assert await rows(api, "SELECT DISTINCT audio_file_id FROM play_counts") == {(kept,)}


async def test_users_starring_unstarring_and_playing_the_same_file_together(api: Api) -> None:
    alice = await api.account("alice")
    people = [await api.account(name) for name in ("bob", "carol", "dave")]
    audio_id = await a_file(api, alice)
    for _ in range(ROUNDS):
        answers = await asyncio.gather(*(star(api, who, audio_id) for who in people for _ in range(3)))
        assert {a.status_code for a in answers} == {204}, [a.text for a in answers]
        assert len(await rows(api, "SELECT user_id FROM stars WHERE item_id = :a", a=audio_id)) == len(people)
        mixed = [unstar(api, who, audio_id) for who in people for _ in range(2)] + [
            play(api, p, audio_id) for p in people
        ]
        answers = await asyncio.gather(*mixed)
        assert {a.status_code for a in answers} == {204}, [a.text for a in answers]
        assert await rows(api, "SELECT user_id FROM stars") == set()
    counts = await rows(api, "SELECT count FROM play_counts WHERE audio_file_id = :a", a=audio_id)
    assert counts == {(ROUNDS,)}  # every listen counted, none lost to a concurrent one


async def test_a_star_or_a_play_racing_the_deletion_of_the_file(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    for round_ in range(ROUNDS):
        audio_id = await a_file(api, alice)
        request = star if round_ % 2 == 0 else play
        answer, deleted = await asyncio.gather(
            request(api, bob, audio_id), api.client.delete(f"{AUDIO}/{audio_id}", headers=alice.headers)
        )
        assert deleted.status_code == 200, deleted.text
        assert answer.status_code in (204, 404), answer.text
        assert await rows(api, "SELECT user_id FROM stars WHERE item_id = :a", a=audio_id) == set()
        assert await rows(api, "SELECT user_id FROM play_counts WHERE audio_file_id = :a", a=audio_id) == set()


async def test_a_star_racing_the_erasure_of_the_callers_account(api: Api) -> None:
    alice = await api.account("alice")
    root = await api.account("root", admin=True)
    audio_id = await a_file(api, alice)
    for round_ in range(ROUNDS):
        bob = await api.account(f"bob{round_}")
        me = (await api.client.get("/api/v1/users/me", headers=bob.headers)).json()
        answers: list[httpx.Response] = await asyncio.gather(
            star(api, bob, audio_id), api.client.delete(f"/api/v1/admin/users/{me['id']}", headers=root.headers)
        )
        assert answers[1].status_code == 200, answers[1].text
        assert answers[0].status_code in (204, 401), answers[0].text
        assert await rows(api, "SELECT item_id FROM stars WHERE user_id = :u", u=me["id"]) == set()
