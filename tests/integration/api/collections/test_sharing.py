"""Sharing through collections (contract section 6, issue 12 section 3), on SQLite and PostgreSQL:
sharing a private file is its owner's decision alone (a file made private leaves the collections
its owner neither owns nor collaborates on; a removed collaborator's private files leave; an admin
cannot add another user's private file), and whoever may play a track may also download it and
see its cover art."""

from __future__ import annotations

from typing import Any

from tests.integration.api.collections.conftest import COLLECTIONS, Library, audio_bytes
from tests.integration.api.conftest import Account

AUDIO = "/api/v1/audio"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def _tracks(library: Library, collection_id: int, account: Account) -> list[int]:
    return await library.order(collection_id, account)


async def _set_private(library: Library, account: Account, audio_id: int) -> dict[str, Any]:
    response = await library.client.put(f"{AUDIO}/{audio_id}", json={"is_public": False}, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json()["is_public"] is False
    return response.json()


async def _with_cover(library: Library, audio_id: int) -> None:
    key = f"audio/cover-{audio_id}.png"
    async with library.api.uow() as uow:
        audio = await uow.audio_files.get(audio_id)
        assert audio is not None
        audio.cover_art_key = key
        await uow.commit()
    await library.api.container.ports.storage.put_bytes(key, PNG, "image/png")


async def test_a_file_made_private_leaves_the_collections_its_owner_has_no_part_in(library: Library) -> None:
    alice = await library.api.account("alice")
    bob = await library.api.account("bob")
    carol = await library.api.account("carol")
    first, last = await library.audio("alice", "first", "last")
    (song,) = await library.audio("bob", "song", public=True)
    strangers = (await library.collection(alice, title="Alice's public mix"))["id"]
    await library.add(alice, strangers, first, song, last)
    bobs_own = (await library.collection(bob, title="Bob's own", is_public=False))["id"]
    await library.add(bob, bobs_own, song)
    shared = (await library.collection(alice, title="Bob plays here", is_collaborative=True, is_public=False))["id"]
    await library.share(alice, shared, "bob", "edit")
    await library.add(alice, shared, first, song)
    assert (await library.client.get(f"{AUDIO}/{song}/download", headers=carol.headers)).status_code == 200

    await _set_private(library, bob, song)

    assert await _tracks(library, strangers, alice) == [first, last]  # left, and the rest closed up
    assert await _tracks(library, bobs_own, bob) == [song]  # his own collection keeps it
    assert await _tracks(library, shared, alice) == [first, song]  # he collaborates there
    for path in ("", "/download"):  # no longer readable by carol through any collection
        assert (await library.client.get(f"{AUDIO}/{song}{path}", headers=carol.headers)).status_code == 404
    # alice still reads it through the collection she owns and bob collaborates on
    assert (await library.client.get(f"{AUDIO}/{song}/download", headers=alice.headers)).status_code == 200
    # editing something else takes nothing out
    edited = await library.client.put(f"{AUDIO}/{song}", json={"title": "renamed"}, headers=bob.headers)
    assert edited.status_code == 200, edited.text
    assert await _tracks(library, shared, alice) == [first, song]


async def test_a_removed_collaborators_private_files_leave_the_collection(library: Library) -> None:
    alice = await library.api.account("alice")
    bob = await library.api.account("bob")
    own, other = await library.audio("alice", "own", "other")
    private, public = await library.audio("bob", "private", "public")
    await library.client.put(f"{AUDIO}/{public}", json={"is_public": True}, headers=bob.headers)
    collection = (await library.collection(alice, is_collaborative=True))["id"]
    await library.share(alice, collection, "bob", "edit")
    await library.add(alice, collection, own)
    await library.add(bob, collection, private, public)
    await library.add(alice, collection, other)
    assert await _tracks(library, collection, alice) == [own, private, public, other]
    me = (await library.client.get("/api/v1/users/me", headers=bob.headers)).json()

    removed = await library.client.delete(f"{COLLECTIONS}/{collection}/collaborators/{me['id']}", headers=alice.headers)
    assert removed.status_code in (200, 204), removed.text

    assert await _tracks(library, collection, alice) == [own, public, other]
    stranger = await library.api.account("carol")
    assert (await library.client.get(f"{AUDIO}/{private}/download", headers=stranger.headers)).status_code == 404


async def test_an_admin_cannot_add_another_users_private_file(library: Library) -> None:
    admin = await library.api.account("root", admin=True)
    alice = await library.api.account("alice")
    await library.api.account("bob")
    (bobs_private,) = await library.audio("bob", "bob's private")
    (admins_own,) = await library.audio("root", "admin's own")
    collection = (await library.collection(alice))["id"]
    one = await library.client.post(
        f"{COLLECTIONS}/{collection}/tracks", json={"audio_file_id": bobs_private}, headers=admin.headers
    )
    assert one.status_code == 404, one.text
    assert one.json() == {"detail": f"Audio file {bobs_private} not found"}
    bulk = await library.client.post(
        f"{COLLECTIONS}/{collection}/tracks/bulk-add",
        json={"audio_file_ids": [admins_own, bobs_private]},
        headers=admin.headers,
    )
    assert bulk.status_code == 404, bulk.text
    assert str(bobs_private) in bulk.json()["detail"]
    assert await _tracks(library, collection, alice) == []  # nothing added, all or nothing
    own = await library.client.post(
        f"{COLLECTIONS}/{collection}/tracks", json={"audio_file_id": admins_own}, headers=admin.headers
    )
    assert own.status_code == 201, own.text


async def test_download_and_cover_art_follow_playback(library: Library) -> None:
    alice = await library.api.account("alice")
    bob = await library.api.account("bob")
    (song,) = await library.audio("alice", "secret song")  # private
    await _with_cover(library, song)
    playlist = (await library.collection(alice, is_public=True))["id"]
    hidden = (await library.collection(alice, title="Hidden", is_public=False))["id"]
    await library.add(alice, hidden, song)
    for account in (bob, None):  # a private file in no collection they see: nothing
        headers = account.headers if account else None
        for path in ("", "/download", "/cover-art"):
            assert (await library.client.get(f"{AUDIO}/{song}{path}", headers=headers)).status_code == 404

    tracks = await library.add(alice, playlist, song)

    shown = await library.get(playlist, bob)
    assert shown.json()["tracks"][0]["audio_file"]["file_url"]  # bob may play it ...
    for account in (bob, None):  # ... so he (and anyone seeing the public playlist) may download it
        headers = account.headers if account else None
        download = await library.client.get(f"{AUDIO}/{song}/download", headers=headers)
        assert download.status_code == 200, download.text
        assert download.content == audio_bytes("secret song")
        cover = await library.client.get(f"{AUDIO}/{song}/cover-art", headers=headers)
        assert cover.status_code == 200, cover.text
        assert cover.content == PNG
        metadata = await library.client.get(f"{AUDIO}/{song}", headers=headers)
        assert metadata.status_code == 200 and metadata.json()["id"] == song
    # reading is all it shares: changing and deleting stay the owner's
    assert (await library.client.put(f"{AUDIO}/{song}", json={"title": "x"}, headers=bob.headers)).status_code == 403
    assert (await library.client.delete(f"{AUDIO}/{song}", headers=bob.headers)).status_code == 403

    removed = await library.client.delete(f"{COLLECTIONS}/{playlist}/tracks/{tracks[0]['id']}", headers=alice.headers)
    assert removed.status_code in (200, 204), removed.text
    for path in ("/download", "/cover-art"):
        assert (await library.client.get(f"{AUDIO}/{song}{path}", headers=bob.headers)).status_code == 404
