"""Races between users that reference rows another request deletes (issue 12, section 2): each
request answers what it would answer a moment before or after the other (the 404 of the file or
user that is gone, never a 500), and nothing is left half written: no track or collaborator pointing
at a deleted row, positions 1..n. Each race is driven many rounds, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.integration.api.collections.conftest import COLLECTIONS, Library

ROUNDS = 30


async def _rows(library: Library, sql: str, **values: object) -> list[tuple[object, ...]]:
    async with library.api.uow() as uow:
        return [tuple(row) for row in await uow.session.execute(text(sql), values)]


async def test_adding_a_track_while_its_file_is_deleted(crowd: Library) -> None:
    alice = await crowd.api.account("alice")
    bob = await crowd.api.account("bob")
    collection = (await crowd.collection(alice))["id"]
    await crowd.add(alice, collection, *await crowd.audio("alice", "a1", "a2"))
    seen: set[tuple[int, int]] = set()
    for round_ in range(ROUNDS):
        (audio_id,) = await crowd.audio("bob", f"bob {round_}", public=True)
        added, deleted = await asyncio.gather(
            crowd.client.post(
                f"{COLLECTIONS}/{collection}/tracks",
                json={"audio_file_id": audio_id, "track_order": 1},
                headers=alice.headers,
            ),
            crowd.client.delete(f"/api/v1/audio/{audio_id}", headers=bob.headers),
        )
        assert deleted.status_code == 200, deleted.text
        assert added.status_code in (201, 404), added.text
        if added.status_code == 404:
            assert added.json() == {"detail": f"Audio file {audio_id} not found"}
        seen.add((added.status_code, deleted.status_code))
        order = await crowd.order(collection, alice)
        assert audio_id not in order and len(order) == 2
        stored = await _rows(
            crowd,
            "SELECT track_order FROM collection_tracks WHERE collection_id = :c ORDER BY track_order",
            c=collection,
        )
        assert [row[0] for row in stored] == [1, 2]
    orphans = await _rows(
        crowd,
        "SELECT t.id FROM collection_tracks t LEFT JOIN audio_files a ON a.id = t.audio_file_id WHERE a.id IS NULL",
    )
    assert orphans == []


async def test_adding_tracks_in_bulk_while_one_file_is_deleted(crowd: Library) -> None:
    alice = await crowd.api.account("alice")
    bob = await crowd.api.account("bob")
    collection = (await crowd.collection(alice))["id"]
    for round_ in range(ROUNDS):
        kept, doomed = await crowd.audio("bob", f"kept {round_}", f"doomed {round_}", public=True)
        added, deleted = await asyncio.gather(
            crowd.client.post(
                f"{COLLECTIONS}/{collection}/tracks/bulk-add",
                json={"audio_file_ids": [kept, doomed]},
                headers=alice.headers,
            ),
            crowd.client.delete(f"/api/v1/audio/{doomed}", headers=bob.headers),
        )
        assert deleted.status_code == 200, deleted.text
        assert added.status_code in (201, 404), added.text
        order = await crowd.order(collection, alice)
        assert doomed not in order
        if added.status_code == 404:  # all or nothing
            assert kept not in order
        else:
            assert kept in order
        # start the next round from an empty collection
        for track in (await crowd.get(collection, alice)).json()["tracks"]:
            removed = await crowd.client.delete(
                f"{COLLECTIONS}/{collection}/tracks/{track['id']}", headers=alice.headers
            )
            assert removed.status_code in (200, 204), removed.text


async def test_adding_a_collaborator_while_the_user_is_deleted(crowd: Library) -> None:
    admin = await crowd.api.account("root", admin=True)
    alice = await crowd.api.account("alice")
    collection = (await crowd.collection(alice, is_collaborative=True))["id"]
    for round_ in range(ROUNDS):
        registered = await crowd.api.register(f"user{round_}")
        assert registered.status_code == 201, registered.text
        user_id = registered.json()["id"]
        # the user has a public file in the collection: the deletion must close the gap it leaves
        (audio_id,) = await crowd.audio(f"user{round_}", f"song {round_}", public=True)
        await crowd.add(alice, collection, audio_id)
        added, deleted = await asyncio.gather(
            crowd.client.post(
                f"{COLLECTIONS}/{collection}/collaborators",
                json={"user_id": user_id, "permission_level": "edit"},
                headers=alice.headers,
            ),
            crowd.client.delete(f"/api/v1/admin/users/{user_id}", headers=admin.headers),
        )
        assert deleted.status_code == 200, deleted.text
        assert added.status_code in (201, 404), added.text
        if added.status_code == 404:
            assert added.json() == {"detail": "User not found"}
        shown = await crowd.get(collection, alice)
        assert shown.json()["collaborators"] == []
        assert await crowd.order(collection, alice) == []
    orphans = await _rows(
        crowd, "SELECT c.id FROM collaborators c LEFT JOIN users u ON u.id = c.user_id WHERE u.id IS NULL"
    )
    assert orphans == []


async def test_a_user_adding_to_their_collection_while_being_deleted(crowd: Library) -> None:
    """The caller's own row is referenced too (the track's ``added_by_id``, the audit's actor)."""
    admin = await crowd.api.account("root", admin=True)
    for round_ in range(ROUNDS):
        user = await crowd.api.account(f"user{round_}")
        me = await crowd.client.get("/api/v1/users/me", headers=user.headers)
        collection = (await crowd.collection(user))["id"]
        (audio_id,) = await crowd.audio(f"user{round_}", f"song {round_}")
        added, deleted = await asyncio.gather(
            crowd.client.post(
                f"{COLLECTIONS}/{collection}/tracks", json={"audio_file_id": audio_id}, headers=user.headers
            ),
            crowd.client.delete(f"/api/v1/admin/users/{me.json()['id']}", headers=admin.headers),
        )
        assert deleted.status_code == 200, deleted.text
        assert added.status_code in (201, 401, 404), added.text
    left = await _rows(crowd, "SELECT count(*) FROM collection_tracks")
    assert left == [(0,)]


async def test_deleting_a_file_twice_at_once(crowd: Library) -> None:
    alice = await crowd.api.account("alice")
    admin = await crowd.api.account("root", admin=True)
    collection = (await crowd.collection(alice))["id"]
    for round_ in range(ROUNDS):
        first, doomed, last = await crowd.audio("alice", f"first {round_}", f"doomed {round_}", f"last {round_}")
        await crowd.add(alice, collection, first, doomed, last)
        answers = await asyncio.gather(
            crowd.client.delete(f"/api/v1/audio/{doomed}", headers=alice.headers),
            crowd.client.delete(f"/api/v1/audio/{doomed}", headers=admin.headers),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 404], [a.text for a in answers]
        assert (await crowd.order(collection, alice))[-2:] == [first, last]
