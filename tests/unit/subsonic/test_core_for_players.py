"""The core use cases the Subsonic entrypoint maps onto, on the in-memory fakes: a player's edit of
a playlist's tracks (positions before the call, removed at once; songs appended in order, present
ones skipped; all or nothing) and the accounts a player may read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sono.application.collections.messages import (
    CreateCollection,
    EditCollection,
    GetCollection,
    ListCollections,
    NewCollection,
)
from sono.application.messages import Actor, Via
from sono.application.players.messages import GetAccount, GetOwnAccount, GetProfilePicture
from sono.domain.collections import Collection, CollectionType
from sono.domain.errors import NotFound, PermissionDenied, ValidationFailed
from tests.unit.conftest import World
from tests.unit.test_collections import _file, _people, _shared

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _with(*audio_ids: int) -> Collection:
    collection = Collection(owner_id=1, title="Mix", collection_type=CollectionType.PLAYLIST)
    for audio_id in audio_ids:
        collection.add_track(audio_id, now=NOW, added_by_id=1)
    return collection


@pytest.mark.parametrize(
    ("before", "remove", "add", "after"),
    [
        ([10, 20, 30, 40], [0, 2], [], [20, 40]),  # positions before the call, all at once
        ([10, 20, 30], [2, 2, 0], [50], [20, 50]),  # a position twice counts once
        ([10, 20], [], [30, 10, 40, 30], [10, 20, 30, 40]),  # present and repeated songs skipped
        ([10, 20, 30], [0], [10], [20, 30, 10]),  # removed then added back: moved to the end
        ([], [], [7], [7]),
    ],
)
def test_a_players_track_edit(before: list[int], remove: list[int], add: list[int], after: list[int]) -> None:
    collection = _with(*before)
    changed = collection.edit_tracks(remove, add, now=NOW, added_by_id=1)
    assert collection.audio_file_ids == after
    assert [t.track_order for t in collection.tracks] == list(range(1, len(after) + 1))
    assert changed is (after != before)


def test_replacing_the_tracks_and_positions_out_of_range() -> None:
    collection = _with(10, 20, 30)
    assert collection.edit_tracks([], [30, 5], now=NOW, added_by_id=1, replace=True)
    assert collection.audio_file_ids == [30, 5]
    with pytest.raises(ValidationFailed) as refused:
        collection.edit_tracks([0, 2, -1], [9], now=NOW, added_by_id=1)
    assert refused.value.errors[0].msg == "Track positions out of range: -1, 2"
    assert collection.audio_file_ids == [30, 5]  # nothing changed
    assert collection.edit_tracks([], [30], now=NOW, added_by_id=1) is False


async def test_an_edit_is_all_or_nothing_and_needs_the_edit_right(world: World) -> None:
    people = await _people(world)
    owner, editor = people["owner"].actor, people["editor"].actor
    collection_id = await _shared(world, people)
    first, second = await _file(world, people["owner"], "one"), await _file(world, people["owner"], "two")
    hidden = await _file(world, people["other"], "hidden", public=False)
    view = await world.send(EditCollection(collection_id, {"title": "Renamed"}, add_ids=(first, second)), editor)
    assert (view.collection.title, [t.audio.id for t in view.tracks or ()]) == ("Renamed", [first, second])
    lost = EditCollection(collection_id, {"title": "Lost"}, remove_positions=(0,), add_ids=(hidden,))
    with pytest.raises(NotFound):
        await world.send(lost, owner)
    unchanged = (await world.send(GetCollection(collection_id), owner)).view
    assert unchanged.collection.title == "Renamed" and unchanged.totals.count == 2
    with pytest.raises(PermissionDenied):  # sees it, may not change it
        await world.send(EditCollection(collection_id, {}, remove_positions=(0,)), people["viewer"].actor)
    with pytest.raises(PermissionDenied):  # public is the owner's
        await world.send(EditCollection(collection_id, {"is_public": True}), editor)
    with pytest.raises(NotFound):  # does not see it
        await world.send(EditCollection(collection_id, {}, remove_positions=(0,)), people["other"].actor)
    view = await world.send(EditCollection(collection_id, {}, add_ids=(second,), replace_tracks=True), owner)
    assert [t.audio.id for t in view.tracks or ()] == [second]


async def test_create_with_tracks_in_one_step(world: World) -> None:
    people = await _people(world)
    owner = people["owner"].actor
    first, second = await _file(world, people["owner"], "one"), await _file(world, people["owner"], "two")
    hidden = await _file(world, people["other"], "hidden", public=False)
    view = (await world.send(CreateCollection(NewCollection("Mine"), (second, first, second)), owner)).view
    assert [t.audio.id for t in view.tracks or ()] == [second, first]
    assert view.collection.is_public is False and view.collection.is_collaborative is False
    with pytest.raises(NotFound):
        await world.send(CreateCollection(NewCollection("Never"), (first, hidden)), owner)
    page = await world.send(ListCollections(public_only=False, collection_type=None, skip=0, limit=10), owner)
    assert [v.collection.title for v in page.items] == ["Mine"]


async def test_the_accounts_a_player_reads(world: World) -> None:
    people = await _people(world)
    bus = world.app.bus

    def as_(name: str) -> Actor:
        p = people[name]
        return Actor.user(p.user_id, is_admin=p.is_admin, via=Via.APP_PASSWORD)

    assert (await bus(GetOwnAccount(), as_("owner"))).username == "owner"
    assert (await bus(GetAccount("owner"), as_("owner"))).username == "owner"
    assert (await bus(GetAccount("other"), as_("admin"))).username == "other"
    for name in ("other", "nobody"):  # the same answer whether the name exists or not
        with pytest.raises(PermissionDenied):
            await bus(GetAccount(name), as_("owner"))
    with pytest.raises(NotFound):
        await bus(GetAccount("nobody"), as_("admin"))
    assert await bus(GetProfilePicture("other"), as_("owner")) is None
    with pytest.raises(NotFound):
        await bus(GetProfilePicture("nobody"), as_("owner"))


async def test_resized_images_are_cached_by_object_and_size(world: World) -> None:
    from sono.adapters.media.image_cache import MemoryImageCache
    from sono.application.media.service import MediaService
    from tests.fakes.media import FAKE_IMAGE

    await world.storage.put_bytes("covers/1/a.webp", FAKE_IMAGE + b"x" * 100, "image/webp")
    cache = MemoryImageCache(max_bytes=250)
    media = MediaService(
        world.storage,
        world.app.ports.signer,
        world.inspector,
        world.clock,
        world.app.outbox,
        image_cache=cache,
    )
    info = await media.info("covers/1/a.webp")
    small = await media.resized(info, 32)
    assert (small.width, small.height) == (32, 32)
    assert await media.resized(info, 32) is small and (cache.hits, cache.misses) == (1, 1)
    larger = await media.resized(info, 4000)  # never enlarged
    assert larger.width == 64 and (cache.hits, cache.misses) == (1, 2)
    assert len(cache) == 2 and cache.size_bytes <= 250
    await media.resized(info, 16)  # the least recently used goes
    assert len(cache) == 2 and await cache.get(f"{info.etag}:32") is None
