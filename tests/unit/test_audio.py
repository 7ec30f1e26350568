"""The audio use cases on fakes: uploads (content-decided, tags, cover art, quota, atomic storage),
visibility, updates, deletions that close collection gaps, and the admins' bulk operations."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest

from sono.application.audio.messages import (
    AudioDetails,
    CheckUploadQuota,
    DeleteAllAudioOf,
    DeleteAudio,
    GetAudio,
    GetUploadStats,
    ListAllAudio,
    ListMyAudio,
    ListPublicAudio,
    UpdateAudio,
    UploadAudio,
    UploadedFile,
)
from sono.application.audio.ports import AudioView
from sono.application.bus import ProcessContext
from sono.application.common import Principal
from sono.application.messages import ANONYMOUS, Actor
from sono.application.values import UNSET, Page
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection, CollectionType
from sono.domain.errors import NotFound, PermissionDenied, ServiceUnavailable, UnsupportedMedia, ValidationFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.media import AudioTags
from sono.domain.users import User
from sono.entrypoints.worker import run_due_jobs
from tests.fakes.media import FAKE_AUDIO, FAKE_IMAGE
from tests.fakes.repositories.audio import FakeAudioFileRepository
from tests.fakes.stores import FakeTemporaryFiles
from tests.unit.conftest import World

KEY = re.compile(r"audio/(\d+)/([0-9a-f]{32})\.(mp3|webp)")


def a_file(tmp_path, content: bytes = FAKE_AUDIO + b"-" * 100, filename: str | None = "song.mp3") -> UploadedFile:
    path = tmp_path / f"upload-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(content)
    return UploadedFile(path=str(path), data=io.BytesIO(content), filename=filename)


async def signed_in(world: World, name: str = "alice", **user: object) -> Principal:
    registered = await world.register(name, superuser=bool(user.pop("superuser", False)))
    if user:
        async with world.uow() as uow:
            stored = await uow.users.get(registered.id)  # type: ignore[arg-type]
            assert stored is not None
            for field, value in user.items():
                setattr(stored, field, value)
            await uow.commit()
    return await world.principal(registered)


async def upload(world: World, principal: Principal, tmp_path, **details: object) -> AudioFile:
    file = details.pop("file", None) or a_file(tmp_path)
    return (await world.send(UploadAudio(file, AudioDetails(**details)), principal.actor)).audio  # type: ignore[arg-type]


async def rows(world: World) -> list[AudioFile]:
    return list(world.uow.database.audio_files.values())


def pending(world: World) -> list[str]:
    return list(world.uow.database.pending_objects)


# --------------------------------------------------------------------------- uploading


async def test_upload_stores_the_object_under_a_generated_key_and_the_row(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    file = a_file(tmp_path, filename='../../etc/pa"ss\x01wd<>.mp3')

    audio = await upload(world, alice, tmp_path, file=file, title=" My song ", description="d", is_public=True)

    match = KEY.fullmatch(audio.storage_key)
    assert match and match.group(1) == str(alice.user_id) and match.group(3) == "mp3"
    assert world.storage.read(audio.storage_key) == FAKE_AUDIO + b"-" * 100
    assert world.storage.objects[audio.storage_key][1] == "audio/mpeg"
    assert (audio.title, audio.description, audio.is_public) == ("My song", "d", True)
    assert audio.original_filename == "pa_ss_wd_.mp3"
    assert (audio.format, audio.content_type, audio.file_size) == ("mp3", "audio/mpeg", 109)
    assert (audio.duration, audio.bitrate, audio.sample_rate, audio.channels) == (180.0, 128_000, 44_100, 2)
    assert audio.upload_date == world.clock.now() and audio.cover_art_key is None
    assert await rows(world) == [audio] and pending(world) == []
    async with world.uow() as uow:
        events = [e.event for e in await uow.audit.list_for_user(alice.user_id)]
    assert AuditEvent.AUDIO_UPLOADED in events


async def test_the_upload_keeps_the_sha256_of_the_stored_bytes(world: World, tmp_path) -> None:
    """Hashed in the pass that stores the bytes when the receiver did not hash them on the way in;
    taken as given when it did (the HTTP spool and the library import hash while they spool)."""
    alice = await signed_in(world)
    content = FAKE_AUDIO + b"some audio bytes" * 1000

    hashed_here = await upload(world, alice, tmp_path, file=a_file(tmp_path, content))
    assert hashed_here.content_hash == hashlib.sha256(content).hexdigest()
    assert world.storage.read(hashed_here.storage_key) == content

    given = a_file(tmp_path, content)
    received = UploadedFile(given.path, given.data, given.filename, sha256="f" * 64)
    assert (await upload(world, alice, tmp_path, file=received)).content_hash == "f" * 64
    assert sorted(audio.content_hash for audio in await rows(world)) == sorted(  # type: ignore[type-var]
        [hashlib.sha256(content).hexdigest(), "f" * 64]
    )


async def test_the_title_comes_from_the_form_else_the_tags_else_the_file_name(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    world.inspector.tags = AudioTags(title="Tagged title")

    from_form = await upload(world, alice, tmp_path, title="Form title")
    from_tags = await upload(world, alice, tmp_path, title=None)
    world.inspector.tags = AudioTags()
    from_name = await upload(world, alice, tmp_path, file=a_file(tmp_path, filename="My Track.final.mp3"))
    no_name = await upload(world, alice, tmp_path, file=a_file(tmp_path, filename=None))

    assert [a.title for a in (from_form, from_tags, from_name)] == ["Form title", "Tagged title", "My Track.final"]
    assert (no_name.title, no_name.original_filename) == ("audio", "audio.mp3")


async def test_descriptive_fields_come_from_the_form_else_the_tags(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    world.inspector.tags = AudioTags(artist="Tag A", album="Tag B", track_number=4, year=1999, genre="Tag G")

    tagged = await upload(world, alice, tmp_path)
    overridden = await upload(
        world, alice, tmp_path, artist="Form A", album="Form B", track_number=7, year=2024, genre="Form G"
    )

    assert (tagged.artist, tagged.album, tagged.track_number, tagged.year, tagged.genre) == (
        "Tag A",
        "Tag B",
        4,
        1999,
        "Tag G",
    )
    assert (overridden.artist, overridden.album, overridden.track_number, overridden.year, overridden.genre) == (
        "Form A",
        "Form B",
        7,
        2024,
        "Form G",
    )


async def test_an_embedded_picture_becomes_the_cover_art(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE + b"cover")

    audio = await upload(world, alice, tmp_path)

    assert audio.cover_art_key is not None
    audio_key, cover_key = KEY.fullmatch(audio.storage_key), KEY.fullmatch(audio.cover_art_key)
    assert audio_key and cover_key and cover_key.group(3) == "webp"
    assert audio_key.group(2) == cover_key.group(2)  # the cover sits beside its audio
    assert world.storage.read(audio.cover_art_key) == FAKE_IMAGE + b"cover"
    assert pending(world) == []


async def test_a_picture_that_is_no_image_is_left_out(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    world.inspector.tags = AudioTags(picture=b"not an image")

    audio = await upload(world, alice, tmp_path)

    assert audio.cover_art_key is None
    assert list(world.storage.objects) == [audio.storage_key]


async def test_content_that_is_no_audio_is_refused_and_nothing_stored(world: World, tmp_path) -> None:
    alice = await signed_in(world)

    with pytest.raises(UnsupportedMedia):
        await upload(world, alice, tmp_path, file=a_file(tmp_path, b"ID3 but not audio", "x.mp3"))

    assert world.storage.objects == {} and await rows(world) == [] and pending(world) == []


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        ({"title": "t" * 201}, "title", "Title must be at most 200 characters"),
        ({"description": "d" * 5001}, "description", "Description must be at most 5000 characters"),
        ({"artist": "a" * 201}, "artist", "Artist must be at most 200 characters"),
        ({"album": "a" * 201}, "album", "Album must be at most 200 characters"),
        ({"genre": "g" * 101}, "genre", "Genre must be at most 100 characters"),
        ({"track_number": 0}, "track_number", "Track number must be between 1 and 9999"),
        ({"year": 10**30}, "year", "Year must be between 1 and 9999"),
    ],
)
async def test_upload_details_are_checked_before_anything_is_stored(
    world: World, tmp_path, details: dict[str, object], field: str, message: str
) -> None:
    alice = await signed_in(world)

    with pytest.raises(ValidationFailed) as caught:
        await upload(world, alice, tmp_path, **details)

    assert [(e.field, e.msg) for e in caught.value.errors] == [(field, message)]
    assert world.storage.objects == {} and world.inspector.inspected == []


async def test_a_full_quota_is_refused_before_the_body(world: World, tmp_path) -> None:
    alice = await signed_in(world, max_audio_uploads=1)
    await world.send(CheckUploadQuota(), alice.actor)
    await upload(world, alice, tmp_path)

    with pytest.raises(PermissionDenied, match=r"^Upload limit reached\. You have 1 out of 1 audio files\.$"):
        await world.send(CheckUploadQuota(), alice.actor)


async def test_the_quota_is_checked_again_when_the_row_is_inserted(world: World, tmp_path) -> None:
    """Another upload filled the quota between the early check and the insert: refused, and the
    stored objects are removed again."""
    alice = await signed_in(world, max_audio_uploads=1)
    await world.send(CheckUploadQuota(), alice.actor)  # passes: 0 of 1
    first = await upload(world, alice, tmp_path)
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE)

    with pytest.raises(PermissionDenied, match="You have 1 out of 1"):
        await upload(world, alice, tmp_path)

    assert await rows(world) == [first]
    assert list(world.storage.objects) == [first.storage_key]
    assert pending(world) == []


async def test_a_failed_store_leaves_no_row_and_no_object(world: World, tmp_path, monkeypatch) -> None:
    alice = await signed_in(world)

    async def unavailable(*args: object, **kwargs: object) -> None:
        raise ServiceUnavailable("Storage unavailable")

    monkeypatch.setattr(world.storage, "put", unavailable)
    with pytest.raises(ServiceUnavailable):
        await upload(world, alice, tmp_path)

    assert await rows(world) == [] and world.storage.objects == {} and pending(world) == []


async def test_a_failed_insert_removes_the_stored_objects(world: World, tmp_path, monkeypatch) -> None:
    alice = await signed_in(world)
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE)

    async def broken(self: FakeAudioFileRepository, audio: AudioFile) -> AudioFile:
        raise RuntimeError("database went away")

    monkeypatch.setattr(FakeAudioFileRepository, "add", broken)
    with pytest.raises(RuntimeError):
        await upload(world, alice, tmp_path)

    assert await rows(world) == [] and world.storage.objects == {} and pending(world) == []


async def test_a_crash_between_store_and_insert_leaves_an_orphan_the_jobs_remove(
    world: World, tmp_path, monkeypatch
) -> None:
    """The process dies after storing (no clean-up runs): the staged record stays, and the jobs
    remove the object once it is over an hour old."""
    alice = await signed_in(world)

    async def crash(self: FakeAudioFileRepository, audio: AudioFile) -> AudioFile:
        raise SystemExit("killed")

    def no_cleanup(self: ProcessContext, undo: object) -> None:
        return None

    monkeypatch.setattr(FakeAudioFileRepository, "add", crash)
    monkeypatch.setattr(ProcessContext, "on_failure", no_cleanup)
    with pytest.raises(SystemExit):
        await upload(world, alice, tmp_path)
    (orphan,) = world.storage.objects
    assert pending(world) == [orphan]

    world.clock.advance(59 * 60)
    assert (await run_due_jobs(world.app)).orphaned_objects_purged == 0
    assert orphan in world.storage.objects

    world.clock.advance(2 * 60)
    assert (await run_due_jobs(world.app)).orphaned_objects_purged == 1
    assert world.storage.objects == {} and pending(world) == []


async def test_the_jobs_remove_spooled_uploads_untouched_for_an_hour(world: World) -> None:
    """A process that dies while receiving an upload leaves its spool file; the jobs remove it
    once nothing has written to it for an hour, and leave younger ones (live uploads) alone."""
    spool = world.app.ports.temporary_files
    assert isinstance(spool, FakeTemporaryFiles)
    now = world.clock.now()
    spool.files = {"dead": now - timedelta(minutes=61), "live": now - timedelta(minutes=59)}

    assert (await run_due_jobs(world.app)).spool_files_purged == 1
    assert set(spool.files) == {"live"}


# --------------------------------------------------------------------------- reading


async def test_visibility(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world, "alice"), await signed_in(world, "bob")
    admin = await signed_in(world, "root", superuser=True)
    private = await upload(world, alice, tmp_path)
    public = await upload(world, alice, tmp_path, is_public=True)

    async def get(actor: Actor, audio_id: int) -> AudioView:
        return await world.send(GetAudio(audio_id), actor)

    for viewer in (alice.actor, admin.actor):
        assert (await get(viewer, private.id)).audio is private  # type: ignore[arg-type]
    for viewer in (bob.actor, ANONYMOUS):
        with pytest.raises(NotFound, match="Audio file not found"):
            await get(viewer, private.id)  # type: ignore[arg-type]
        assert (await get(viewer, public.id)).owner.user.username == "alice"  # type: ignore[arg-type]

    async with world.uow() as uow:
        (await uow.users.get(alice.user_id)).is_active = False  # type: ignore[union-attr]
        await uow.commit()
    with pytest.raises(NotFound):
        await get(bob.actor, public.id)  # type: ignore[arg-type]
    assert (await get(admin.actor, public.id)).audio is public  # type: ignore[arg-type]


@pytest.mark.parametrize("audio_id", [0, -1, 2**31, 10**40])
async def test_ids_out_of_range_are_not_found(world: World, audio_id: int) -> None:
    with pytest.raises(NotFound):
        await world.send(GetAudio(audio_id), Actor.user(1, is_admin=True))


async def test_lists_newest_first(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world, "alice"), await signed_in(world, "bob")
    first = await upload(world, alice, tmp_path, is_public=True)
    world.clock.advance(1)
    mine_private = await upload(world, alice, tmp_path)
    world.clock.advance(1)
    bobs = await upload(world, bob, tmp_path, is_public=True)

    public = await world.send(ListPublicAudio(skip=0, limit=10))
    found = await world.send(ListMyAudio(skip=0, limit=1), alice.actor)
    mine = Page([view.audio for view in found.items], found.total, found.skip)

    assert [(e.audio, e.owner.user.username) for e in public.items] == [(bobs, "bob"), (first, "alice")]
    assert (list(mine.items), mine.total, mine.has_more) == ([mine_private], 2, True)


async def test_stats(world: World, tmp_path) -> None:
    alice = await signed_in(world, max_audio_uploads=5)
    await upload(world, alice, tmp_path)
    await upload(world, alice, tmp_path, file=a_file(tmp_path, FAKE_AUDIO + b"x" * 991))

    stats = await world.send(GetUploadStats(), alice.actor)

    assert (stats.used_uploads, stats.max_uploads, stats.remaining_uploads, stats.total_bytes) == (2, 5, 3, 1109)


# --------------------------------------------------------------------------- changing


async def test_owner_and_admins_update_others_may_not(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world, "alice"), await signed_in(world, "bob")
    admin = await signed_in(world, "root", superuser=True)
    public = await upload(world, alice, tmp_path, is_public=True, description="old")
    private = await upload(world, alice, tmp_path)
    assert public.id is not None and private.id is not None
    world.clock.advance(60)

    updated = await world.send(UpdateAudio(public.id, title=" New ", description=None, is_public=UNSET), alice.actor)
    assert (updated.audio.title, updated.audio.description, updated.audio.is_public) == ("New", None, True)
    assert updated.audio.updated_at == world.clock.now()
    by_admin = await world.send(UpdateAudio(private.id, is_public=True, genre="Jazz", year=2020), admin.actor)
    assert (by_admin.audio.is_public, by_admin.audio.genre, by_admin.audio.year) == (True, "Jazz", 2020)
    with pytest.raises(PermissionDenied):
        await world.send(UpdateAudio(public.id, title="Mine now"), bob.actor)
    private_again = await world.send(UpdateAudio(private.id, is_public=False), alice.actor)
    with pytest.raises(NotFound):
        await world.send(UpdateAudio(private_again.audio.id, title="x"), bob.actor)  # type: ignore[arg-type]
    assert public.title == "New"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": None}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"is_public": None}, "is_public"),
        ({"track_number": 10_000}, "track_number"),
    ],
)
async def test_update_rules(world: World, tmp_path, changes: dict[str, object], field: str) -> None:
    alice = await signed_in(world)
    audio = await upload(world, alice, tmp_path, title="Kept")

    with pytest.raises(ValidationFailed) as caught:
        await world.send(UpdateAudio(audio.id, **changes), alice.actor)  # type: ignore[arg-type]

    assert [e.field for e in caught.value.errors] == [field]
    assert audio.title == "Kept"


async def collection_with(world: World, owner: User, *audio: AudioFile) -> Collection:
    async with world.uow() as uow:
        collection = await uow.collections.add(
            Collection(owner_id=owner.id, title="mix", collection_type=CollectionType.PLAYLIST)  # type: ignore[arg-type]
        )
        collection.add_tracks([a.id for a in audio], now=world.clock.now(), added_by_id=owner.id)  # type: ignore[misc]
        await uow.collections.save(collection)
        await uow.commit()
    return collection


async def test_delete_closes_gaps_removes_objects_and_frees_quota(world: World, tmp_path) -> None:
    alice = await signed_in(world, max_audio_uploads=3)
    bob = await signed_in(world, "bob")
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE)
    first, doomed, last = [await upload(world, alice, tmp_path, is_public=True) for _ in range(3)]
    theirs = await collection_with(world, bob.user, last, doomed, first)
    assert doomed.id is not None and doomed.cover_art_key is not None

    await world.send(DeleteAudio(doomed.id), alice.actor)
    await world.deliver()

    async with world.uow() as uow:
        stored = await uow.collections.get(theirs.id)  # type: ignore[arg-type]
        assert stored is not None
        assert [(t.audio_file_id, t.track_order) for t in stored.tracks] == [(last.id, 1), (first.id, 2)]
        assert await uow.audio_files.get(doomed.id) is None
    assert doomed.storage_key not in world.storage.objects
    assert doomed.cover_art_key not in world.storage.objects
    await world.send(CheckUploadQuota(), alice.actor)  # 2 of 3 again


async def test_who_may_delete(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world, "alice"), await signed_in(world, "bob")
    admin = await signed_in(world, "root", superuser=True)
    public = await upload(world, alice, tmp_path, is_public=True)
    private = await upload(world, alice, tmp_path)

    with pytest.raises(PermissionDenied):
        await world.send(DeleteAudio(public.id), bob.actor)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await world.send(DeleteAudio(private.id), bob.actor)  # type: ignore[arg-type]
    await world.send(DeleteAudio(private.id), admin.actor)  # type: ignore[arg-type]

    assert await rows(world) == [public]
    async with world.uow() as uow:
        deleted = [e for e in await uow.audit.list_for_user(alice.user_id) if e.event == AuditEvent.AUDIO_DELETED]
    assert [(e.actor_id, e.details["audio_file_id"]) for e in deleted] == [(admin.user_id, private.id)]


# --------------------------------------------------------------------------- admins


async def test_admins_delete_every_file_of_a_user(world: World, tmp_path) -> None:
    alice, bob = await signed_in(world, "alice", max_audio_uploads=7), await signed_in(world, "bob")
    admin = await signed_in(world, "root", superuser=True)
    world.inspector.tags = AudioTags(picture=FAKE_IMAGE)
    hers = [await upload(world, alice, tmp_path, is_public=True) for _ in range(3)]
    world.inspector.tags = AudioTags()
    his = await upload(world, bob, tmp_path, is_public=True)
    playlist = await collection_with(world, bob.user, hers[0], his, hers[2])

    done = await world.send(DeleteAllAudioOf(alice.user_id), admin.actor)
    deleted, user = done.deleted, done.user
    await world.deliver()

    assert (deleted, user.username, user.max_audio_uploads) == (3, "alice", 7)
    assert await rows(world) == [his]
    assert list(world.storage.objects) == [his.storage_key]
    async with world.uow() as uow:
        stored = await uow.collections.get(playlist.id)  # type: ignore[arg-type]
        assert [(t.audio_file_id, t.track_order) for t in stored.tracks] == [(his.id, 1)]  # type: ignore[union-attr]
        entries = [e for e in await uow.audit.list_for_user(alice.user_id) if e.event == AuditEvent.ADMIN_ACTION]
    assert [(e.actor_id, e.details) for e in entries] == [
        (admin.user_id, {"action": "delete_audio_files", "deleted_count": 3})
    ]


async def test_reset_uploads_also_restores_the_default_limit(world: World, tmp_path) -> None:
    alice = await signed_in(world, "alice", max_audio_uploads=2)
    admin = await signed_in(world, "root", superuser=True)
    await upload(world, alice, tmp_path)

    done = await world.send(DeleteAllAudioOf(alice.user_id, reset_quota=True), admin.actor)
    deleted, user = done.deleted, done.user
    await world.deliver()

    assert (deleted, user.max_audio_uploads) == (1, 20)
    assert await rows(world) == [] and world.storage.objects == {}


async def test_admin_operations_need_an_admin_and_an_existing_user(world: World) -> None:
    alice = await signed_in(world)
    admin = await signed_in(world, "root", superuser=True)

    with pytest.raises(PermissionDenied):
        await world.send(DeleteAllAudioOf(alice.user_id), alice.actor)
    with pytest.raises(PermissionDenied):
        await world.send(ListAllAudio(skip=0, limit=10), alice.actor)
    for missing in (999, 0, -3, 2**40):
        with pytest.raises(NotFound, match="User not found"):
            await world.send(DeleteAllAudioOf(missing), admin.actor)


async def test_admins_list_every_file_and_the_listing_is_audited(world: World, tmp_path) -> None:
    alice = await signed_in(world)
    admin = await signed_in(world, "root", superuser=True)
    private = await upload(world, alice, tmp_path)
    world.clock.advance(1)
    public = await upload(world, alice, tmp_path, is_public=True)

    page = await world.send(ListAllAudio(skip=0, limit=10), admin.actor, ip="10.0.0.1")

    assert [e.audio for e in page.items] == [public, private] and page.total == 2
    listed = [e for e in world.uow.database.audit.values() if e.details.get("action") == "list_audio_files"]
    assert [(e.actor_id, e.ip_address) for e in listed] == [(admin.user_id, "10.0.0.1")]
