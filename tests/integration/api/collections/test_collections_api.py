"""Collections over HTTP on SQLite and on PostgreSQL + Redis: shapes, the rules and error paths of
contract section 6, tracks, bulk add, collaborators, lists, cover art, the ZIP download, statistics
and hostile input."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import httpx
import pytest

from sono.domain.media import IMAGE_MAX_BYTES
from tests.fixtures.media import png_bytes
from tests.integration.api.collections.conftest import COLLECTIONS, Library, audio_bytes
from tests.integration.api.conftest import PASSWORD, local_url

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
COLLECTION_KEYS = {
    "id", "title", "description", "collection_type", "artist", "curator_note", "cover_art_url", "is_public",
    "is_collaborative", "owner_id", "owner", "created_date", "updated_date", "track_count", "total_duration",
    "can_edit", "collaborators",
}  # fmt: skip
PUBLIC_USER_KEYS = {"id", "username", "display_name", "bio", "profile_picture_url"}
TRACK_KEYS = {"id", "collection_id", "audio_file_id", "track_order", "added_date", "added_by_id", "audio_file"}
COLLABORATOR_KEYS = {"id", "collection_id", "user_id", "permission_level", "added_date", "added_by_id", "user"}


def detail(response: Any) -> Any:
    return response.json()["detail"]


# --------------------------------------------------------------------------- one collection


async def test_create_read_update_delete(library: Library) -> None:
    api, client = library.api, library.client
    alice = await api.account("alice")
    body = {
        "title": "Blue",
        "description": "Songs",
        "collection_type": "album",
        "artist": "The Band",
        "curator_note": None,
        "is_public": False,
        "is_collaborative": True,
        "unknown_field": "ignored",
    }
    created = await client.post(f"{COLLECTIONS}/", json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    made = created.json()
    assert set(made) == COLLECTION_KEYS | {"tracks"}
    assert set(made["owner"]) == PUBLIC_USER_KEYS and made["owner"]["username"] == "alice"
    assert isinstance(made["id"], int) and made["owner_id"] == made["owner"]["id"]
    assert TIMESTAMP.match(made["created_date"]) and TIMESTAMP.match(made["updated_date"])
    assert (made["title"], made["collection_type"], made["artist"], made["is_public"]) == (
        "Blue",
        "album",
        "The Band",
        False,
    )
    assert (made["track_count"], made["total_duration"], made["can_edit"], made["tracks"], made["collaborators"]) == (
        0, 0.0, True, [], [],
    )  # fmt: skip

    shown = await library.get(made["id"], alice)
    assert shown.status_code == 200 and shown.json() == made
    assert (await library.get(made["id"])).status_code == 404  # private: not there for anonymous callers

    updated = await client.put(
        f"{COLLECTIONS}/{made['id']}",
        json={"title": "Bluer", "description": None, "is_public": True, "track_id": 3},
        headers=alice.headers,
    )
    assert updated.status_code == 200, updated.text
    changed = updated.json()
    assert (changed["title"], changed["description"], changed["is_public"], changed["artist"]) == (
        "Bluer", None, True, "The Band",
    )  # fmt: skip
    assert (await library.get(made["id"])).json()["title"] == "Bluer"

    deleted = await client.delete(f"{COLLECTIONS}/{made['id']}", headers=alice.headers)
    assert (deleted.status_code, deleted.json()) == (200, {"message": "Collection deleted successfully"})
    assert (await library.get(made["id"], alice)).status_code == 404
    again = await client.delete(f"{COLLECTIONS}/{made['id']}", headers=alice.headers)
    assert (again.status_code, detail(again)) == (404, "Collection not found")


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"title": ""}, ["body", "title"], "Title must not be empty"),
        ({"title": "x" * 201}, ["body", "title"], "Title must be at most 200 characters"),
        (
            {"title": "x", "description": "d" * 5001},
            ["body", "description"],
            "Description must be at most 5000 characters",
        ),
        ({"title": "x" * 20_000}, ["body", "title"], None),
        ({"title": "a\x00b"}, ["body", "title"], None),
        ({"title": "x", "collection_type": "song"}, ["body", "collection_type"], None),
        ({"title": "x", "collection_type": None}, ["body", "collection_type"], None),
        ({"title": "x", "is_public": "yes"}, ["body", "is_public"], None),
        ({"description": "no title"}, ["body", "title"], "Field required"),
    ],
)
async def test_create_refuses_bad_fields_with_422(
    library: Library, body: dict[str, Any], loc: list[str], message: str | None
) -> None:
    alice = await library.api.account("alice")
    response = await library.client.post(f"{COLLECTIONS}/", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    errors = detail(response)
    assert errors[0]["loc"] == loc
    if message is not None:
        assert errors[0]["msg"] == message
    listed = await library.client.get(f"{COLLECTIONS}/my-collections", headers=alice.headers)
    assert listed.json()["total"] == 0


async def test_an_album_without_an_artist_is_created(library: Library) -> None:
    alice = await library.api.account("alice")

    response = await library.client.post(
        f"{COLLECTIONS}/", json={"title": "Album", "collection_type": "album"}, headers=alice.headers
    )

    assert response.status_code == 201, response.text
    assert (response.json()["collection_type"], response.json()["artist"]) == ("album", None)
    stored = await library.get(response.json()["id"], alice)
    assert (stored.json()["collection_type"], stored.json()["artist"]) == ("album", None)
    named = await library.client.put(
        f"{COLLECTIONS}/{response.json()['id']}", json={"artist": "Band"}, headers=alice.headers
    )
    assert named.status_code == 200, named.text
    again = await library.client.put(
        f"{COLLECTIONS}/{response.json()['id']}", json={"artist": None}, headers=alice.headers
    )
    assert (again.status_code, again.json()["artist"]) == (200, None)


async def test_odd_text_round_trips(library: Library) -> None:
    alice = await library.api.account("alice")
    title = "\u202eRTL \u0301 combining 😀 \U0010ffff tab\t"
    made = await library.collection(alice, title=title, curator_note="Ünïcødé" * 100, collection_type="compilation")
    shown = (await library.get(made["id"], alice)).json()
    assert (shown["title"], shown["curator_note"]) == (title[1:], "Ünïcødé" * 100)  # the bidi override dropped


async def test_curator_notes_on_any_type_and_the_type_changes_with_or_without_an_artist(library: Library) -> None:
    client = library.client
    alice = await library.api.account("alice")
    made = await library.collection(alice, title="Mix", curator_note="a note", artist="Someone")
    assert made["curator_note"] == "a note"  # the reference's own example: a playlist with a note
    url = f"{COLLECTIONS}/{made['id']}"
    to_album = await client.put(url, json={"collection_type": "album"}, headers=alice.headers)
    assert (to_album.status_code, to_album.json()["collection_type"]) == (200, "album")
    clear_artist = await client.put(url, json={"artist": None}, headers=alice.headers)
    assert (clear_artist.status_code, clear_artist.json()["artist"]) == (200, None)  # optional for every type
    to_compilation = await client.put(
        url, json={"collection_type": "compilation", "artist": None}, headers=alice.headers
    )
    assert (to_compilation.status_code, to_compilation.json()["artist"]) == (200, None)


async def test_edit_collaborators_update_descriptive_fields_only(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob, carol = await api.account("alice"), await api.account("bob"), await api.account("carol")
    made = await library.collection(alice, is_public=False, is_collaborative=True)
    await library.share(alice, made["id"], "bob", "edit")
    await library.share(alice, made["id"], "carol", "view")
    url = f"{COLLECTIONS}/{made['id']}"
    as_the_web_sends = {
        "title": "Renamed",
        "description": "by bob",
        "artist": "Art",
        "curator_note": "note",
        "collection_type": "playlist",
        "is_public": False,
        "is_collaborative": True,
    }
    by_editor = await client.put(url, json=as_the_web_sends, headers=bob.headers)
    assert by_editor.status_code == 200, by_editor.text
    assert (by_editor.json()["title"], by_editor.json()["can_edit"]) == ("Renamed", True)
    for field, value in (("is_public", True), ("is_collaborative", False), ("collection_type", "compilation")):
        refused = await client.put(url, json={field: value}, headers=bob.headers)
        assert (refused.status_code, detail(refused)) == (403, f"Only the owner can change {field}")
    by_viewer = await client.put(url, json={"title": "x"}, headers=carol.headers)
    assert (by_viewer.status_code, detail(by_viewer)) == (403, "You do not have permission to edit this collection")
    shown = (await library.get(made["id"], carol)).json()
    assert (shown["title"], shown["is_public"], shown["can_edit"]) == ("Renamed", False, False)


# --------------------------------------------------------------------------- tracks


async def test_tracks_insert_append_remove_and_reorder(library: Library) -> None:
    client, api = library.client, library.api
    alice = await api.account("alice")
    a, b, c, d, e = await library.audio("alice", "a", "b", "c", "d", "e", public=False, duration=30.25)
    made = await library.collection(alice)
    url = f"{COLLECTIONS}/{made['id']}/tracks"

    first = await client.post(url, json={"audio_file_id": a}, headers=alice.headers)
    assert first.status_code == 201, first.text
    track = first.json()
    assert set(track) == TRACK_KEYS
    assert (track["track_order"], track["audio_file_id"], track["collection_id"], track["added_by_id"]) == (
        1, a, made["id"], track["added_by_id"],
    )  # fmt: skip
    assert track["audio_file"]["id"] == a and track["audio_file"]["file_url"].startswith("http")
    appended = await client.post(url, json={"audio_file_id": b, "track_order": 2}, headers=alice.headers)  # count + 1
    assert appended.json()["track_order"] == 2
    inserted = await client.post(url, json={"audio_file_id": c, "track_order": 1}, headers=alice.headers)
    assert inserted.json()["track_order"] == 1
    beyond = await client.post(url, json={"audio_file_id": d, "track_order": 10**15}, headers=alice.headers)
    assert beyond.json()["track_order"] == 4
    below = await client.post(url, json={"audio_file_id": e, "track_order": -7}, headers=alice.headers)
    assert below.json()["track_order"] == 1
    assert await library.order(made["id"], alice) == [e, c, a, b, d]

    shown = (await library.get(made["id"], alice)).json()
    assert (shown["track_count"], shown["total_duration"]) == (5, 151.25)
    ids = {t["audio_file_id"]: t["id"] for t in shown["tracks"]}

    moved = await client.put(
        f"{url}/{ids[e]}/reorder", json={"new_order": 4, "track_id": ids[e]}, headers=alice.headers
    )
    assert (moved.status_code, moved.json()["track_order"]) == (200, 4)
    assert await library.order(made["id"], alice) == [c, a, b, e, d]
    legacy = await client.put(f"{url}/{ids[d]}/reorder", json={"track_order": 1}, headers=alice.headers)
    assert (legacy.status_code, legacy.json()["track_order"]) == (200, 1)
    assert await library.order(made["id"], alice) == [d, c, a, b, e]
    far = await client.put(f"{url}/{ids[d]}/reorder", json={"new_order": 2**62}, headers=alice.headers)
    assert far.json()["track_order"] == 5
    missing_order = await client.put(f"{url}/{ids[d]}/reorder", json={"track_id": 1}, headers=alice.headers)
    assert missing_order.status_code == 422 and detail(missing_order)[0]["loc"] == ["body", "new_order"]

    removed = await client.delete(f"{url}/{ids[a]}", headers=alice.headers)
    assert (removed.status_code, removed.json()) == (200, {"message": "Track removed from collection"})
    assert await library.order(made["id"], alice) == [c, b, e, d]
    shown = (await library.get(made["id"], alice)).json()
    assert (shown["track_count"], shown["total_duration"]) == (4, 121.0)
    listed = (await client.get(f"{COLLECTIONS}/my-collections", headers=alice.headers)).json()["items"][0]
    assert (listed["track_count"], listed["total_duration"]) == (4, 121.0)

    for response in (
        await client.delete(f"{url}/{ids[a]}", headers=alice.headers),
        await client.put(f"{url}/{ids[a]}/reorder", json={"new_order": 1}, headers=alice.headers),
        await client.delete(f"{url}/{2**31 - 1}", headers=alice.headers),
    ):
        assert (response.status_code, detail(response)) == (404, "Track not found in collection")
    beyond = await client.delete(f"{url}/{2**70}", headers=alice.headers)  # no id is that large
    assert (beyond.status_code, detail(beyond)[0]["loc"]) == (422, ["path", "track_id"])


async def test_track_errors_name_the_file(library: Library) -> None:
    client, api = library.client, library.api
    alice = await api.account("alice")
    await api.account("bob")
    (mine,) = await library.audio("alice", "mine")
    bobs_private, bobs_public = await library.audio("bob", "hidden"), await library.audio("bob", "open", public=True)
    made = await library.collection(alice)
    url = f"{COLLECTIONS}/{made['id']}/tracks"
    assert (await client.post(url, json={"audio_file_id": mine}, headers=alice.headers)).status_code == 201
    twice = await client.post(url, json={"audio_file_id": mine}, headers=alice.headers)
    assert (twice.status_code, detail(twice)) == (409, "Audio file already in collection")
    for audio_id in (bobs_private[0], 999_999, -1, 2**63):
        hidden = await client.post(url, json={"audio_file_id": audio_id}, headers=alice.headers)
        assert (hidden.status_code, detail(hidden)) == (404, f"Audio file {audio_id} not found")
    public = await client.post(url, json={"audio_file_id": bobs_public[0]}, headers=alice.headers)
    assert public.status_code == 201
    wrong_type = await client.post(url, json={"audio_file_id": "one"}, headers=alice.headers)
    assert wrong_type.status_code == 422 and detail(wrong_type)[0]["loc"] == ["body", "audio_file_id"]
    no_body = await client.post(url, headers=alice.headers)
    assert no_body.status_code in (400, 422)
    assert await library.order(made["id"], alice) == [mine, bobs_public[0]]


async def test_bulk_add_is_all_or_nothing(library: Library) -> None:
    client, api = library.client, library.api
    alice = await api.account("alice")
    await api.account("bob")
    ids = await library.audio("alice", *[f"s{i}" for i in range(6)])
    (bobs_private,) = await library.audio("bob", "hidden")
    made = await library.collection(alice)
    url = f"{COLLECTIONS}/{made['id']}/tracks/bulk-add"

    added = await client.post(url, json={"audio_file_ids": [ids[2], ids[0]]}, headers=alice.headers)
    assert added.status_code == 201, added.text
    assert [(t["audio_file_id"], t["track_order"]) for t in added.json()] == [(ids[2], 1), (ids[0], 2)]
    assert all(set(t) == TRACK_KEYS for t in added.json())

    refusals = [
        (
            [ids[3], ids[0], ids[2]],
            409,
            f"Audio files already in collection: {min(ids[0], ids[2])}, {max(ids[0], ids[2])}",
        ),
        ([ids[3], bobs_private, 999_999], 404, f"Audio files not found: {bobs_private}, 999999"),
        ([ids[4]], 201, None),
    ]
    for wanted, status, message in refusals:
        response = await client.post(url, json={"audio_file_ids": wanted}, headers=alice.headers)
        assert response.status_code == status, response.text
        if message:
            assert detail(response) == message
    assert await library.order(made["id"], alice) == [ids[2], ids[0], ids[4]]

    repeated = await client.post(url, json={"audio_file_ids": [ids[5], ids[1], ids[5]]}, headers=alice.headers)
    assert repeated.status_code == 422
    assert detail(repeated) == [
        {
            "loc": ["body", "audio_file_ids"],
            "msg": f"Audio file ids repeated in the request: {ids[5]}",
            "type": "value_error",
        }
    ]
    too_many = await client.post(url, json={"audio_file_ids": list(range(1, 102))}, headers=alice.headers)
    assert too_many.status_code == 422
    assert detail(too_many)[0]["msg"] == "At most 100 audio files can be added at once"
    empty = await client.post(url, json={"audio_file_ids": []}, headers=alice.headers)
    assert empty.status_code == 422
    not_ints = await client.post(url, json={"audio_file_ids": ["a"]}, headers=alice.headers)
    assert not_ints.status_code == 422 and detail(not_ints)[0]["loc"][:2] == ["body", "audio_file_ids"]
    assert await library.order(made["id"], alice) == [ids[2], ids[0], ids[4]]


async def test_a_hundred_tracks_at_once(library: Library) -> None:
    alice = await library.api.account("alice")
    ids = await library.audio("alice", *[f"t{i:03d}" for i in range(100)], duration=1.5)
    made = await library.collection(alice)
    added = await library.add(alice, made["id"], *reversed(ids))
    assert [t["track_order"] for t in added] == list(range(1, 101))
    assert await library.order(made["id"], alice) == list(reversed(ids))
    shown = (await library.get(made["id"], alice)).json()
    assert (shown["track_count"], shown["total_duration"]) == (100, 150.0)


# --------------------------------------------------------------------------- collaborators


async def test_collaborators_by_id_or_username(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob, carol = await api.account("alice"), await api.account("bob"), await api.account("carol")
    await api.account("dave")
    solo = await library.collection(alice, is_collaborative=False)
    made = await library.collection(alice, is_collaborative=True, is_public=False)
    url = f"{COLLECTIONS}/{made['id']}/collaborators"
    bob_id = (await library.get(made["id"], alice)).json()["owner_id"] + 1

    by_id = await client.post(url, json={"user_id": bob_id, "permission_level": "edit"}, headers=alice.headers)
    assert by_id.status_code == 201, by_id.text
    collaborator = by_id.json()
    assert set(collaborator) == COLLABORATOR_KEYS and set(collaborator["user"]) == PUBLIC_USER_KEYS
    assert (collaborator["user_id"], collaborator["user"]["username"], collaborator["permission_level"]) == (
        bob_id, "bob", "edit",
    )  # fmt: skip
    by_name = await client.post(url, json={"username": "CAROL"}, headers=alice.headers)
    assert (by_name.status_code, by_name.json()["permission_level"]) == (201, "view")
    carol_id = by_name.json()["user_id"]

    errors = [
        (f"{COLLECTIONS}/{solo['id']}/collaborators", {"username": "bob"}, 400, "Collection is not collaborative"),
        (url, {"username": "alice"}, 400, "The owner cannot be added as a collaborator"),
        (url, {"user_id": bob_id}, 409, "User is already a collaborator"),
        (url, {"username": "nobody"}, 404, "User not found"),
        (url, {"user_id": 10**30}, 404, "User not found"),
        (url, {"user_id": -5}, 404, "User not found"),
        (url, {"permission_level": "edit"}, 422, None),
        (url, {"username": "dave", "permission_level": "owner"}, 422, None),
    ]
    for target, body, status, message in errors:
        response = await client.post(target, json=body, headers=alice.headers)
        assert response.status_code == status, (body, response.text)
        if message:
            assert detail(response) == message
    await api.set_active("dave", False)
    inactive = await client.post(url, json={"username": "dave"}, headers=alice.headers)
    assert (inactive.status_code, detail(inactive)) == (404, "User not found")

    listed = (await client.get(f"{COLLECTIONS}/collaborative", headers=carol.headers)).json()
    assert [c["id"] for c in listed["items"]] == [made["id"]] and listed["collections"] == listed["items"]
    assert [c["user"]["username"] for c in listed["items"][0]["collaborators"]] == ["bob", "carol"]
    assert "tracks" not in listed["items"][0]

    promoted = await client.put(f"{url}/{carol_id}", json={"permission_level": "edit"}, headers=alice.headers)
    assert (promoted.status_code, promoted.json()["permission_level"]) == (200, "edit")
    assert (await library.get(made["id"], carol)).json()["can_edit"] is True
    bad_level = await client.put(f"{url}/{carol_id}", json={"permission_level": "admin"}, headers=alice.headers)
    assert bad_level.status_code == 422
    removed = await client.delete(f"{url}/{carol_id}", headers=alice.headers)
    assert (removed.status_code, removed.json()) == (200, {"message": "Collaborator removed"})
    assert (await library.get(made["id"], carol)).status_code == 404  # private again for carol
    for response in (
        await client.delete(f"{url}/{carol_id}", headers=alice.headers),
        await client.put(f"{url}/{carol_id}", json={"permission_level": "view"}, headers=alice.headers),
        await client.delete(f"{url}/{2**31 - 1}", headers=alice.headers),
    ):
        assert (response.status_code, detail(response)) == (404, "Collaborator not found")
    by_editor = await client.post(url, json={"username": "carol"}, headers=bob.headers)
    assert (by_editor.status_code, detail(by_editor)) == (403, "Only the owner can manage this collection")


# --------------------------------------------------------------------------- lists


async def test_lists_show_what_the_caller_may_see(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob = await api.account("alice"), await api.account("bob")
    mine_private = (await library.collection(alice, title="mine private", is_public=False))["id"]
    mine_album = (await library.collection(alice, title="album", collection_type="album", artist="A"))["id"]
    shared = (await library.collection(bob, title="shared", is_public=False, is_collaborative=True))["id"]
    await library.share(bob, shared, "alice", "view")
    bobs_private = (await library.collection(bob, title="bob private", is_public=False))["id"]
    bobs_public = (await library.collection(bob, title="bob public", collection_type="compilation"))["id"]

    async def ids(path: str, account: Any = None, **params: Any) -> list[int]:
        response = await client.get(f"{COLLECTIONS}{path}", params=params, headers=account.headers if account else None)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "total", "has_more", "collections"} and body["collections"] == body["items"]
        assert all(set(item) == COLLECTION_KEYS for item in body["items"])
        return [item["id"] for item in body["items"]]

    assert await ids("/") == [bobs_public, mine_album]
    assert await ids("/", alice) == [bobs_public, shared, mine_album, mine_private]
    assert await ids("/", alice, public_only="false") == [bobs_public, shared, mine_album, mine_private]
    assert await ids("/", alice, public_only="true") == [bobs_public, mine_album]
    assert await ids("/", alice, collection_type="album") == [mine_album]
    assert await ids("/", bob) == [bobs_public, bobs_private, shared, mine_album]
    assert await ids("/my-collections", alice) == [mine_album, mine_private]
    assert await ids("/collaborative", alice) == [shared]
    assert await ids("/albums") == [mine_album]
    assert await ids("/compilations", alice) == [bobs_public]
    assert await ids("/playlists") == []
    invalid = await client.get(f"{COLLECTIONS}/", headers={"Authorization": "Bearer not-a-token"})
    assert invalid.status_code == 200 and [c["id"] for c in invalid.json()["items"]] == [bobs_public, mine_album]

    page = (await client.get(f"{COLLECTIONS}/", params={"skip": 1, "limit": 2}, headers=alice.headers)).json()
    assert ([c["id"] for c in page["items"]], page["total"], page["has_more"]) == ([shared, mine_album], 4, True)
    last = (await client.get(f"{COLLECTIONS}/", params={"skip": 3, "limit": 2}, headers=alice.headers)).json()
    assert (len(last["items"]), last["total"], last["has_more"]) == (1, 4, False)
    items = (await client.get(f"{COLLECTIONS}/", headers=alice.headers)).json()["items"]
    assert {i["id"]: i["can_edit"] for i in items} == {
        bobs_public: False,
        shared: False,
        mine_album: True,
        mine_private: True,
    }

    refused = ({"skip": -1}, {"limit": 0}, {"limit": 101}, {"collection_type": "song"}, {"collection_type": "\x00"})
    for params in (*refused, {"public_only": "maybe"}, {"skip": "1e400"}):
        response = await client.get(f"{COLLECTIONS}/", params=params)
        assert response.status_code == 422, params
        assert detail(response)[0]["loc"][0] == "query"
    huge = await client.get(f"{COLLECTIONS}/", params={"skip": 10**30})  # out of range: a 422, not a clamp
    assert (huge.status_code, detail(huge)[0]["loc"]) == (422, ["query", "skip"])
    far = await client.get(f"{COLLECTIONS}/", params={"skip": 2**31 - 1})
    assert (far.status_code, far.json()["items"], far.json()["total"]) == (200, [], 2)
    for path in ("/my-collections", "/collaborative", "/stats"):
        assert (await client.get(f"{COLLECTIONS}{path}")).status_code == 401


async def test_a_private_file_in_a_collection_is_playable_by_its_audience(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob = await api.account("alice"), await api.account("bob")
    (secret,) = await library.audio("alice", "secret", public=False)
    made = await library.collection(alice, is_public=True)
    await library.add(alice, made["id"], secret)
    for account in (bob, None):
        shown = (await library.get(made["id"], account)).json()
        audio = shown["tracks"][0]["audio_file"]
        assert (audio["id"], audio["is_public"]) == (secret, False)
        assert "signature=" in audio["file_url"]
        fetched = await client.get(local_url(audio["file_url"]))
        assert (fetched.status_code, fetched.content) == (200, audio_bytes("secret"))


async def test_deactivated_owners_collections_are_hidden_but_from_admins(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob, root = await api.account("alice"), await api.account("bob"), await api.account("root", admin=True)
    public = await library.collection(alice, is_collaborative=True)
    await library.share(alice, public["id"], "bob", "edit")
    (song,) = await library.audio("alice", "song", public=True)
    bobs = await library.collection(bob, title="bob's")
    await library.add(bob, bobs["id"], song)
    await api.set_active("alice", False)

    for account in (bob, None):
        assert (await library.get(public["id"], account)).status_code == 404
        listed = (await client.get(f"{COLLECTIONS}/", headers=account.headers if account else None)).json()
        assert public["id"] not in [c["id"] for c in listed["items"]]
    assert (await client.get(f"{COLLECTIONS}/collaborative", headers=bob.headers)).json()["total"] == 0
    assert (await library.get(public["id"], root)).status_code == 200
    recent = (await client.get("/api/v1/admin/collections/recent", headers=root.headers)).json()
    assert public["id"] in [c["id"] for c in recent["items"]]
    # Their files stay in other people's collections (documented choice): positions stay 1..n.
    assert await library.order(bobs["id"], bob) == [song]
    assert (await library.get(bobs["id"], bob)).json()["track_count"] == 1


async def test_a_hard_deleted_users_tracks_leave_every_collection(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob = await api.account("alice"), await api.account("bob")
    a1, a2 = await library.audio("alice", "a1", "a2", public=True)
    b1, b2 = await library.audio("bob", "b1", "b2", duration=10.0)
    bobs = await library.collection(bob, is_collaborative=True)
    await library.share(bob, bobs["id"], "alice", "edit")
    await library.add(bob, bobs["id"], b1, a1, b2, a2)
    (await library.collection(alice, title="alice's own"))["id"]
    gone = await client.delete(
        "/api/v1/users/me", params={"password": PASSWORD, "deletion_type": "hard"}, headers=alice.headers
    )
    assert gone.status_code == 200, gone.text
    shown = (await library.get(bobs["id"], bob)).json()
    assert [t["audio_file_id"] for t in shown["tracks"]] == [b1, b2]
    assert [t["track_order"] for t in shown["tracks"]] == [1, 2]
    assert (shown["track_count"], shown["total_duration"], shown["collaborators"]) == (2, 20.0, [])
    assert (await client.get(f"{COLLECTIONS}/", headers=bob.headers)).json()["total"] == 1


# --------------------------------------------------------------------------- cover art and download


async def test_cover_art(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob = await api.account("alice"), await api.account("bob")
    made = await library.collection(alice, is_collaborative=True)
    await library.share(alice, made["id"], "bob", "edit")
    url = f"{COLLECTIONS}/{made['id']}/cover-art"

    first = await client.post(url, files={"file": ("c.png", png_bytes(), "image/png")}, headers=bob.headers)
    assert first.status_code == 200, first.text
    first_url = first.json()["cover_art_url"]
    assert first.json()["id"] == made["id"] and "tracks" in first.json()
    assert f"/covers/{made['id']}/" in first_url and "signature" not in first_url
    fetched = await client.get(local_url(first_url) + "?t=123")
    assert fetched.status_code == 200 and fetched.headers["content-type"].startswith("image/")

    second = await client.post(url, files={"file": ("c.png", png_bytes((32, 32)), "image/png")}, headers=alice.headers)
    second_url = second.json()["cover_art_url"]
    assert second_url != first_url
    await api.deliver()  # what a worker does shortly after the commit
    assert (await client.get(local_url(first_url))).status_code == 404
    listed = (await client.get(f"{COLLECTIONS}/", headers=alice.headers)).json()["items"][0]
    assert listed["cover_art_url"] == second_url

    not_image = await client.post(url, files={"file": ("c.png", b"not an image", "image/png")}, headers=alice.headers)
    assert not_image.status_code == 415
    empty = await client.post(url, files={"file": ("c.png", b"", "image/png")}, headers=alice.headers)
    assert empty.status_code == 400
    huge = await client.post(
        url, files={"file": ("c.png", b"\x89PNG" + b"\0" * (IMAGE_MAX_BYTES + 10), "image/png")}, headers=alice.headers
    )
    assert huge.status_code == 413
    no_file = await client.post(url, data={"x": "y"}, files={"other": ("a", b"a")}, headers=alice.headers)
    assert no_file.status_code == 422
    assert (await library.get(made["id"], alice)).json()["cover_art_url"] == second_url

    deleted = await client.delete(f"{COLLECTIONS}/{made['id']}", headers=alice.headers)
    assert deleted.status_code == 200
    await api.deliver()
    assert (await client.get(local_url(second_url))).status_code == 404


async def test_download_is_a_zip_of_the_tracks_in_order(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob = await api.account("alice"), await api.account("bob")
    ids = await library.audio("alice", "Intro", "Ünïcode/Song", "Outro", public=False)
    made = await library.collection(alice, title="Best of 2026: «live»", is_public=False, is_collaborative=True)
    await library.add(alice, made["id"], ids[2], ids[0], ids[1])
    await library.share(alice, made["id"], "bob", "view")

    response = await client.get(f"{COLLECTIONS}/{made['id']}/download", headers=bob.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert (
        disposition.startswith('attachment; filename="')
        and "filename*=UTF-8''Best%20of%202026_%20%C2%ABlive%C2%BB.zip" in disposition
    )
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert bundle.namelist() == ["01 - Outro.mp3", "02 - Intro.mp3", "03 - Ünïcode_Song.mp3"]
    assert [bundle.read(n) for n in bundle.namelist()] == [audio_bytes(t) for t in ("Outro", "Intro", "Ünïcode/Song")]
    assert {info.compress_type for info in bundle.infolist()} == {zipfile.ZIP_STORED}
    assert bundle.testzip() is None

    assert (await client.get(f"{COLLECTIONS}/{made['id']}/download")).status_code == 404
    stranger = await api.account("carol")
    assert (await client.get(f"{COLLECTIONS}/{made['id']}/download", headers=stranger.headers)).status_code == 404
    empty = await library.collection(alice, title="empty")
    nothing = await client.get(f"{COLLECTIONS}/{empty['id']}/download")
    assert nothing.status_code == 200 and zipfile.ZipFile(io.BytesIO(nothing.content)).namelist() == []


# --------------------------------------------------------------------------- statistics and admin


async def test_my_stats(library: Library) -> None:
    alice = await library.api.account("alice")
    await library.collection(alice, collection_type="album", artist="A", is_public=False)
    await library.collection(alice, is_collaborative=True)
    response = await library.client.get(f"{COLLECTIONS}/stats", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "user_id": body["user_id"], "username": "alice", "total_collections": 2, "total_albums": 1,
        "total_playlists": 1, "total_compilations": 0, "albums": 1, "playlists": 1, "compilations": 0,
        "public_collections": 1, "collaborative_collections": 1,
    }  # fmt: skip


async def test_admin_collection_routes(library: Library) -> None:
    client, api = library.client, library.api
    alice, bob, root = await api.account("alice"), await api.account("bob"), await api.account("root", admin=True)
    await library.collection(alice, collection_type="album", artist="A")
    covered = await library.collection(alice, collection_type="compilation", is_public=False, is_collaborative=True)
    cover = await client.post(
        f"{COLLECTIONS}/{covered['id']}/cover-art",
        files={"file": ("c.png", png_bytes(), "image/png")},
        headers=alice.headers,
    )
    cover_url = cover.json()["cover_art_url"]
    bobs = await library.collection(bob, is_public=False)
    (song,) = await library.audio("bob", "song")
    await library.add(bob, bobs["id"], song)
    admin = "/api/v1/admin"

    stats = await client.get(f"{admin}/collections/stats", headers=root.headers)
    assert stats.json() == {
        "total_collections": 3, "total_albums": 1, "total_playlists": 1, "total_compilations": 1,
        "public_collections": 1, "collaborative_collections": 1,
    }  # fmt: skip
    alice_id = covered["owner_id"]
    user_stats = (await client.get(f"{admin}/users/{alice_id}/collections/stats", headers=root.headers)).json()
    counted = ("username", "total_collections", "albums", "compilations")
    assert tuple(user_stats[key] for key in counted) == ("alice", 2, 1, 1)
    response = await client.get(f"{admin}/users/{10**6}/collections/stats", headers=root.headers)
    assert (response.status_code, detail(response)) == (404, "User not found")
    for impossible in (2**70, -1):
        response = await client.get(f"{admin}/users/{impossible}/collections/stats", headers=root.headers)
        assert (response.status_code, detail(response)[0]["loc"]) == (422, ["path", "user_id"])

    recent = (await client.get(f"{admin}/collections/recent", params={"limit": 2}, headers=root.headers)).json()
    assert ([c["id"] for c in recent["items"]], recent["total"], recent["has_more"]) == (
        [bobs["id"], covered["id"]],
        3,
        True,
    )
    assert recent["collections"] == recent["items"] and recent["items"][0]["track_count"] == 1
    summary = (await client.get(f"{admin}/collections/summary", headers=root.headers)).json()
    assert {k: v for k, v in summary.items() if k != "recent"} == {
        "total_collections": 3, "by_type": {"album": 1, "playlist": 1, "compilation": 1}, "public_collections": 1,
        "private_collections": 2, "collaborative_collections": 1, "total_tracks": 1,
    }  # fmt: skip
    assert [c["id"] for c in summary["recent"]][:2] == [bobs["id"], covered["id"]]

    for path in (
        "/collections/stats",
        "/collections/recent",
        "/collections/summary",
        f"/users/{alice_id}/collections/stats",
    ):
        assert (await client.get(f"{admin}{path}", headers=alice.headers)).status_code == 403
        assert (await client.get(f"{admin}{path}")).status_code == 401
    assert (await client.delete(f"{admin}/users/{alice_id}/collections/all", headers=bob.headers)).status_code == 403

    deleted = await client.delete(f"{admin}/users/{alice_id}/collections/all", headers=root.headers)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Deleted 2 collections", "deleted_count": 2}
    assert await api.deliver() == 1  # the cover's release, which a worker runs shortly after
    assert (await client.get(local_url(cover_url))).status_code == 404
    assert (await client.get(f"{COLLECTIONS}/my-collections", headers=alice.headers)).json()["total"] == 0
    assert (await client.get(f"{admin}/collections/stats", headers=root.headers)).json()["total_collections"] == 1
    nobody = await client.delete(f"{admin}/users/{10**6}/collections/all", headers=root.headers)
    assert nobody.status_code == 404
    async with api.uow() as uow:
        entries = await uow.audit.list_for_user(alice_id)
    action = [e for e in entries if e.event == "admin.action"][-1]
    assert action.details == {"action": "delete_all_collections", "deleted_count": 2}
    assert action.actor_id is not None and action.actor_id != alice_id


async def test_the_lists_follow_every_change_at_once(library: Library) -> None:
    """Pages kept for an unchanged database are dropped by any commit, of this app or another;
    ``can_edit`` is always the caller's."""
    api, client = library.api, library.client
    alice, bob = await api.account("alice"), await api.account("bob")
    made = await library.collection(alice, title="first", is_collaborative=True)
    url = f"{COLLECTIONS}/?public_only=true"

    def shown(response: httpx.Response) -> list[tuple[str, bool, list[str]]]:
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return [(c["title"], c["can_edit"], [x["user"]["username"] for x in c["collaborators"]]) for c in items]

    assert shown(await client.get(url, headers=bob.headers)) == [("first", False, [])]
    assert shown(await client.get(url, headers=alice.headers)) == [("first", True, [])]
    assert shown(await client.get(url)) == [("first", False, [])]
    await library.share(alice, made["id"], "bob", "edit")
    assert shown(await client.get(url, headers=bob.headers)) == [("first", True, ["bob"])]
    assert shown(await client.get(url)) == [("first", False, ["bob"])]
    async with api.uow() as uow:  # another connection, as another process would
        loaded = await uow.collections.get(made["id"])
        assert loaded is not None
        loaded.title = "renamed"
        await uow.commit()
    assert shown(await client.get(url, headers=bob.headers)) == [("renamed", True, ["bob"])]
    async with api.uow() as uow:
        loaded = await uow.collections.get(made["id"])
        assert loaded is not None
        loaded.is_public = False
        await uow.commit()
    assert shown(await client.get(url, headers=bob.headers)) == []
