"""The steps of the upload processes, sent on their own: a step names its owner or collection, and
a caller may only stage and file for themselves (an admin for anyone, as the library import)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sono.application.audio.messages import FileAudio, StageAudio
from sono.application.collections.messages import (
    CreateCollection,
    FileCollectionCover,
    NewCollection,
    StageCollectionCover,
)
from sono.application.messages import Actor
from sono.domain.audio import AudioFile
from sono.domain.collections import CollectionType
from sono.domain.errors import NotFound, PermissionDenied
from tests.unit.conftest import World


async def _people(world: World) -> tuple[Actor, Actor]:
    alice, bob = await world.register("alice"), await world.register("bob")
    assert alice.id is not None and bob.id is not None
    return Actor.user(alice.id), Actor.user(bob.id)


def _audio(owner_id: int, key: str) -> AudioFile:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return AudioFile(
        owner_id=owner_id,
        title="t",
        original_filename="t.mp3",
        storage_key=key,
        content_type="audio/mpeg",
        file_size=1,
        format="mp3",
        upload_date=now,
        updated_at=now,
    )


async def test_a_caller_stages_and_files_audio_for_themselves_only(world: World) -> None:
    alice, bob = await _people(world)
    assert alice.user_id is not None and bob.user_id is not None

    with pytest.raises(PermissionDenied):
        await world.app.bus(StageAudio(alice.user_id, "mp3"), bob)
    with pytest.raises(PermissionDenied):
        await world.app.bus(FileAudio(_audio(alice.user_id, "audio/1/x.mp3")), bob)
    assert list(world.uow.database.pending_objects) == [] and world.uow.database.audio_files == {}

    with pytest.raises(PermissionDenied):  # someone else's object
        await world.app.bus(FileAudio(_audio(alice.user_id, f"audio/{bob.user_id}/x.mp3")), alice)
    staged = await world.app.bus(StageAudio(alice.user_id, "mp3", "webp"), alice)
    assert sorted(world.uow.database.pending_objects) == sorted(staged.keys)
    assert staged.keys[0].startswith(f"audio/{alice.user_id}/") and staged.keys[1].endswith(".webp")


async def test_an_admin_stages_for_anyone_who_exists(world: World) -> None:
    alice, _ = await _people(world)
    assert alice.user_id is not None
    staged = await world.app.bus(StageAudio(alice.user_id, "mp3"), Actor.operator())
    assert staged.cover_key is None and list(world.uow.database.pending_objects) == [staged.audio_key]
    with pytest.raises(NotFound):
        await world.app.bus(StageAudio(alice.user_id + 100, "mp3"), Actor.operator())


async def test_a_cover_is_filed_only_under_a_key_of_its_own_collection(world: World) -> None:
    alice, bob = await _people(world)
    new = NewCollection("Mine", CollectionType.PLAYLIST, is_public=True)  # bob sees it, may not edit it
    collection = (await world.app.bus(CreateCollection(new, ()), alice)).view
    assert collection.collection.id is not None
    collection_id = collection.collection.id

    with pytest.raises(PermissionDenied):
        await world.app.bus(StageCollectionCover(collection_id, "webp"), bob)
    key = await world.app.bus(StageCollectionCover(collection_id, "webp"), alice)
    assert key.startswith(f"covers/{collection_id}/")
    with pytest.raises(PermissionDenied):
        await world.app.bus(FileCollectionCover(collection_id, f"avatars/{alice.user_id}/x.webp"), alice)

    filed = await world.app.bus(FileCollectionCover(collection_id, key), alice)
    assert filed.collection.cover_art_key == key and list(world.uow.database.pending_objects) == []
