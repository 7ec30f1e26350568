"""The collection rules (the aggregate) and the collections use cases on the in-memory fakes."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from sono.adapters.collection_details import MemoryCollectionDetails, approximate_bytes
from sono.application.accounts.messages import SetProfilePicture
from sono.application.bus import MessageBus
from sono.application.collections.archive import zip_stream
from sono.application.collections.handlers import CollectionHandlers, _constraint_messages
from sono.application.collections.messages import (
    AddCollaborator,
    AddTrack,
    AddTracks,
    CountCollections,
    CreateCollection,
    DeleteCollection,
    DeleteUserCollections,
    GetCollection,
    GetCollectionArchive,
    GetCollectionStats,
    GetCollectionSummary,
    GetUserCollectionStats,
    ListAllCollections,
    ListCollections,
    ListOwnCollections,
    ListPublicCollections,
    ListSharedCollections,
    MoveTrack,
    NewCollection,
    SetCollectionCover,
    UpdateCollection,
)
from sono.application.collections.ports import Listing
from sono.application.collections.views import CollectionDetail, CollectionView, Listed, Shown, TrackTotals, shown_keys
from sono.application.common import Principal
from sono.application.messages import ANONYMOUS, Actor, Message
from sono.application.values import Page
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import (
    Collection,
    CollectionType,
    Permission,
    track_filenames,
)
from sono.domain.errors import (
    BadRequest,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    UnsupportedMedia,
    ValidationFailed,
)
from sono.domain.gdpr import AuditEvent
from sono.domain.users import User
from sono.entrypoints.http.collections.schemas import Presenter, detail_out
from tests.fakes.catalog import FakeCollectionCatalog
from tests.fakes.media import FAKE_IMAGE
from tests.fakes.metrics import RecordingMetrics
from tests.unit.conftest import World

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OWNER, EDITOR, VIEWER, OTHER, ADMIN = 1, 2, 3, 4, 5


def a_collection(**fields: object) -> Collection:
    collection = Collection(owner_id=OWNER, title="Mix", collection_type=CollectionType.PLAYLIST, **fields)  # type: ignore[arg-type]
    collection.is_collaborative = True
    collection.add_collaborator(EDITOR, Permission.EDIT, now=NOW, added_by_id=OWNER)
    collection.add_collaborator(VIEWER, Permission.VIEW, now=NOW, added_by_id=OWNER)
    return collection


# --------------------------------------------------------------------------- the aggregate


@pytest.mark.parametrize("public", [True, False])
def test_who_sees_and_who_changes_a_collection(public: bool) -> None:
    collection = a_collection(is_public=public)
    seen = {who: collection.visible_to(Viewer(who, who == ADMIN)) for who in (OWNER, EDITOR, VIEWER, OTHER, ADMIN)}
    assert seen == {OWNER: True, EDITOR: True, VIEWER: True, OTHER: public, ADMIN: True}
    assert collection.visible_to(Viewer()) is public
    edits = {who: collection.editable_by(Viewer(who, who == ADMIN)) for who in (OWNER, EDITOR, VIEWER, OTHER, ADMIN)}
    assert edits == {OWNER: True, EDITOR: True, VIEWER: False, OTHER: False, ADMIN: True}
    manages = {
        who: collection.manageable_by(Viewer(who, who == ADMIN)) for who in (OWNER, EDITOR, VIEWER, OTHER, ADMIN)
    }
    assert manages == {OWNER: True, EDITOR: False, VIEWER: False, OTHER: False, ADMIN: True}


def test_a_deactivated_owners_collections_are_seen_by_admins_only() -> None:
    collection = a_collection(is_public=True)
    for who in (OWNER, EDITOR, VIEWER, OTHER, None):
        assert not collection.visible_to(Viewer(who), owner_active=False)
    assert collection.visible_to(Viewer(ADMIN, True), owner_active=False)


def test_edit_collaborators_change_descriptive_fields_and_may_repeat_the_owners() -> None:
    collection = a_collection(is_public=True)
    editor = Viewer(EDITOR)
    changed = collection.revise(
        editor,
        {
            "title": "New",
            "description": "d",
            "is_public": True,
            "is_collaborative": True,
            "collection_type": "playlist",
        },
        now=NOW,
    )
    assert changed == ["title", "description"]
    assert (collection.title, collection.description, collection.updated_date) == ("New", "d", NOW)
    for field, value in (("is_public", False), ("is_collaborative", False), ("collection_type", "compilation")):
        with pytest.raises(PermissionDenied):
            collection.revise(editor, {field: value}, now=NOW)
    with pytest.raises(PermissionDenied):
        collection.revise(Viewer(VIEWER), {"title": "x"}, now=NOW)
    assert collection.revise(Viewer(OWNER), {"is_public": False}, now=NOW) == ["is_public"]
    assert collection.revise(Viewer(ADMIN, True), {"collection_type": "compilation"}, now=NOW) == ["collection_type"]


def test_an_album_needs_no_artist() -> None:
    """Contract section 2: ``artist`` is optional for every type (the web sends it only when filled
    in)."""
    collection = a_collection()
    owner = Viewer(OWNER)
    assert collection.revise(owner, {"collection_type": CollectionType.ALBUM}, now=NOW) == ["collection_type"]
    assert (collection.collection_type, collection.artist) == (CollectionType.ALBUM, None)
    collection.revise(owner, {"artist": "Band"}, now=NOW)
    collection.revise(owner, {"artist": None}, now=NOW)
    assert (collection.collection_type, collection.artist) == (CollectionType.ALBUM, None)
    with pytest.raises(ValidationFailed):
        collection.revise(owner, {"artist": "x" * 201}, now=NOW)  # its length is still bounded


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Title must not be empty"),
        ({"title": "   "}, "title", "Title must not be empty"),
        ({"title": None}, "title", "Title must not be empty"),
        ({"title": "x" * 201}, "title", "Title must be at most 200 characters"),
        ({"description": "x" * 5001}, "description", "Description must be at most 5000 characters"),
        ({"artist": "x" * 201}, "artist", "Artist must be at most 200 characters"),
        ({"curator_note": "x" * 2001}, "curator_note", "Curator note must be at most 2000 characters"),
    ],
)
def test_field_rules(changes: dict[str, object], field: str, message: str) -> None:
    collection = a_collection()
    with pytest.raises(ValidationFailed) as refused:
        collection.revise(Viewer(OWNER), changes, now=NOW)
    assert [(e.field, e.msg) for e in refused.value.errors] == [(field, message)]
    assert collection.title == "Mix"


def test_bulk_add_is_all_or_nothing_and_names_the_ids() -> None:
    collection = a_collection()
    collection.add_tracks([10, 11], now=NOW, added_by_id=OWNER)
    with pytest.raises(Conflict) as present:
        collection.add_tracks([12, 11, 10], now=NOW, added_by_id=OWNER)
    assert present.value.detail == "Audio files already in collection: 10, 11"
    with pytest.raises(ValidationFailed) as repeated:
        collection.add_tracks([13, 14, 13], now=NOW, added_by_id=OWNER)
    assert repeated.value.errors[0].msg == "Audio file ids repeated in the request: 13"
    assert collection.audio_file_ids == [10, 11]


def test_collaborator_rules() -> None:
    collection = a_collection()
    with pytest.raises(Conflict):
        collection.add_collaborator(EDITOR, Permission.VIEW, now=NOW, added_by_id=OWNER)
    with pytest.raises(BadRequest):
        collection.add_collaborator(OWNER, Permission.VIEW, now=NOW, added_by_id=OWNER)
    collection.is_collaborative = False
    with pytest.raises(BadRequest):
        collection.add_collaborator(OTHER, Permission.VIEW, now=NOW, added_by_id=OWNER)
    assert collection.set_permission(VIEWER, Permission.EDIT).permission_level == Permission.EDIT
    assert collection.editable_by(Viewer(VIEWER))
    collection.remove_collaborator(VIEWER)
    assert not collection.visible_to(Viewer(VIEWER))
    with pytest.raises(NotFound):
        collection.remove_collaborator(VIEWER)


def test_archive_names_are_numbered_clean_and_unique() -> None:
    names = track_filenames([(1, "Intro", "mp3"), (2, 'a/b: "c"?', "flac"), (3, "", "ogg"), (10, "x" * 400, "wav")])
    assert names[:3] == ["01 - Intro.mp3", "02 - a_b_ _c_.flac", "03 - .ogg"]
    assert names[3].startswith("10 - xxx") and names[3].endswith(".wav") and len(names[3]) <= 255
    assert track_filenames([(1, "a", "mp3"), (1, "a", "mp3")]) == ["01 - a.mp3", "01 - a (2).mp3"]
    assert track_filenames([(100, "a", "mp3")]) == ["100 - a.mp3"]
    assert track_filenames([(1, "cod\u202e3pm.exe", "mp\u202e3")]) == ["01 - cod3pm.exe.mp3"]  # no bidi controls


# --------------------------------------------------------------------------- the use cases


async def _people(world: World) -> dict[str, Principal]:
    names = ("owner", "editor", "viewer", "other")
    people = {name: await world.principal(await world.register(name)) for name in names}
    people["admin"] = await world.principal(await world.register("admin", superuser=True))
    return people


async def _file(world: World, owner: User | Principal, title: str, *, public: bool = True, data: bytes = b"") -> int:
    user_id = owner.user_id if isinstance(owner, Principal) else owner.id
    key = f"audio/{user_id}/{title}.mp3"
    await world.storage.put_bytes(key, data or title.encode() * 100, "audio/mpeg")
    async with world.uow() as uow:
        audio = await uow.audio_files.add(
            AudioFile(user_id, title, f"{title}.mp3", key, "audio/mpeg", 100, "mp3", duration=30.5, is_public=public)  # type: ignore[arg-type]
        )
        await uow.commit()
    assert audio.id is not None
    return audio.id


async def _shared(world: World, people: dict[str, Principal], *, public: bool = False) -> int:
    owner = people["owner"].actor
    created = await world.send(CreateCollection(NewCollection("Mix", is_public=public, is_collaborative=True)), owner)
    collection_id = created.view.collection.id
    assert collection_id is not None
    await world.send(AddCollaborator(collection_id, Permission.EDIT, username="editor"), owner)
    await world.send(AddCollaborator(collection_id, Permission.VIEW, user_id=people["viewer"].user_id), owner)
    return collection_id


async def _view(world: World, collection_id: int, actor: Actor) -> CollectionView:
    """The collection as ``actor`` is shown it (``GetCollection``'s view)."""
    return (await world.send(GetCollection(collection_id), actor)).view


async def test_create_validates_and_answers_the_whole_collection(world: World) -> None:
    people = await _people(world)
    owner = people["owner"].actor
    with pytest.raises(ValidationFailed) as refused:
        await world.send(CreateCollection(NewCollection("", CollectionType.ALBUM)), owner)
    assert {e.field for e in refused.value.errors} == {"title"}  # an album needs no artist
    new = NewCollection("Note", CollectionType.PLAYLIST, curator_note="A note", is_public=True)
    created = await world.send(CreateCollection(new), owner)
    view = created.view
    assert (view.collection.curator_note, view.can_edit, view.tracks, view.totals.count) == ("A note", True, [], 0)
    assert created.urls == {}  # nothing stored shown yet
    async with world.uow() as uow:
        entries = await uow.audit.list_for_user(people["owner"].user_id)
    assert AuditEvent.COLLECTION_CREATED in [e.event for e in entries]


async def test_a_private_file_in_a_collection_is_shown_to_its_audience(world: World) -> None:
    people = await _people(world)
    collection_id = await _shared(world, people, public=True)
    private = await _file(world, people["owner"], "secret", public=False)
    await world.send(AddTrack(collection_id, private), people["owner"].actor)
    for who in ("viewer", "other"):
        view = await _view(world, collection_id, people[who].actor)
        assert view.tracks is not None and [t.audio.id for t in view.tracks] == [private]
    anonymous = await _view(world, collection_id, ANONYMOUS)
    assert anonymous.can_edit is False and anonymous.totals.count == 1


async def test_tracks_only_of_files_the_caller_may_see(world: World) -> None:
    people = await _people(world)
    editor, admin = people["editor"].actor, people["admin"].actor
    collection_id = await _shared(world, people)
    others_private = await _file(world, people["other"], "theirs", public=False)
    editors_private = await _file(world, people["editor"], "mine", public=False)
    with pytest.raises(NotFound) as hidden:
        await world.send(AddTrack(collection_id, others_private), editor)
    assert hidden.value.detail == f"Audio file {others_private} not found"
    with pytest.raises(NotFound) as unknown:
        await world.send(AddTracks(collection_id, (editors_private, 999, others_private, -4)), editor)
    assert unknown.value.detail == f"Audio files not found: -4, {others_private}, 999"
    added = await world.send(AddTrack(collection_id, editors_private), editor)
    assert (added.track.track.track_order, added.track.track.added_by_id) == (1, people["editor"].user_id)
    assert set(added.urls) == {added.track.audio.storage_key}  # the file's URL came with it
    with pytest.raises(Conflict):
        await world.send(AddTrack(collection_id, editors_private), editor)
    with pytest.raises(NotFound) as admin_refused:  # an admin never shares another user's private file
        await world.send(AddTrack(collection_id, others_private), admin)
    assert admin_refused.value.detail == f"Audio file {others_private} not found"
    with pytest.raises(NotFound):
        await world.send(AddTracks(collection_id, (others_private,)), admin)


async def test_bulk_add_limits(world: World) -> None:
    people = await _people(world)
    owner = people["owner"].actor
    collection_id = await _shared(world, people)
    with pytest.raises(ValidationFailed):
        await world.send(AddTracks(collection_id, ()), owner)
    with pytest.raises(ValidationFailed) as too_many:
        await world.send(AddTracks(collection_id, tuple(range(1, 102))), owner)
    assert too_many.value.errors[0].msg == "At most 100 audio files can be added at once"


async def test_view_collaborators_and_strangers_cannot_change_anything(world: World) -> None:
    people = await _people(world)
    collection_id = await _shared(world, people)
    audio = await _file(world, people["viewer"], "v")
    with pytest.raises(PermissionDenied):
        await world.send(AddTrack(collection_id, audio), people["viewer"].actor)
    with pytest.raises(NotFound):  # a private collection is not even there for strangers
        await world.send(AddTrack(collection_id, audio), people["other"].actor)
    with pytest.raises(PermissionDenied):
        await world.send(AddCollaborator(collection_id, Permission.VIEW, username="other"), people["editor"].actor)
    with pytest.raises(PermissionDenied):
        await world.send(DeleteCollection(collection_id), people["editor"].actor)


async def test_collaborators_must_be_active_users(world: World) -> None:
    people = await _people(world)
    owner = people["owner"].actor
    collection_id = await _shared(world, people)
    with pytest.raises(NotFound):
        await world.send(AddCollaborator(collection_id, Permission.VIEW, username="nobody"), owner)
    with pytest.raises(NotFound):
        await world.send(AddCollaborator(collection_id, Permission.VIEW, user_id=2**40), owner)
    async with world.uow() as uow:
        other = await uow.users.get(people["other"].user_id)
        assert other is not None
        other.deactivate(world.clock.now())
        await uow.commit()
    with pytest.raises(NotFound):
        await world.send(AddCollaborator(collection_id, Permission.VIEW, username="other"), owner)
    with pytest.raises(BadRequest):
        await world.send(AddCollaborator(collection_id, Permission.VIEW, username="owner"), owner)
    with pytest.raises(Conflict):
        await world.send(AddCollaborator(collection_id, Permission.EDIT, username="EDITOR"), owner)


async def test_cover_art_replaces_the_old_object_and_rights_come_before_decoding(world: World) -> None:
    people = await _people(world)
    owner, editor = people["owner"].actor, people["editor"].actor
    collection_id = await _shared(world, people)
    with pytest.raises(PermissionDenied):  # not a 415: the caller may not change it at all
        await world.send(SetCollectionCover(collection_id, io.BytesIO(b"not an image")), people["viewer"].actor)
    with pytest.raises(UnsupportedMedia):
        await world.send(SetCollectionCover(collection_id, io.BytesIO(b"not an image")), editor)
    first = await world.send(SetCollectionCover(collection_id, io.BytesIO(FAKE_IMAGE + b"1")), editor)
    first_key = first.view.collection.cover_art_key
    assert first_key is not None and first.urls[first_key] == await world.app.media.url(first_key)
    assert first_key is not None and first_key.startswith(f"covers/{collection_id}/")
    second = await world.send(SetCollectionCover(collection_id, io.BytesIO(FAKE_IMAGE + b"2")), owner)
    assert second.view.collection.cover_art_key != first_key
    await world.deliver()
    assert first_key not in world.storage.objects
    assert world.storage.objects[second.view.collection.cover_art_key][0] == FAKE_IMAGE + b"2"  # type: ignore[index]
    async with world.uow() as uow:
        assert await uow.pending_objects.older_than(datetime(2100, 1, 1, tzinfo=UTC), 10) == []

    await world.send(DeleteCollection(collection_id), owner)
    await world.deliver()
    assert not [key for key in world.storage.objects if key.startswith("covers/")]
    with pytest.raises(NotFound):
        await world.send(GetCollection(collection_id), people["admin"].actor)


async def test_lists_by_scope_and_deactivated_owners(world: World) -> None:
    people = await _people(world)
    owner, other = people["owner"].actor, people["other"].actor

    async def create(new: NewCollection, actor: Actor) -> int | None:
        return (await world.send(CreateCollection(new), actor)).view.collection.id

    own_private = await create(NewCollection("own private"), owner)
    own_public = await create(NewCollection("own public", is_public=True), owner)
    shared = await _shared(world, people)
    others = await create(NewCollection("other public", is_public=True), other)
    new_album = NewCollection("album", CollectionType.ALBUM, artist="A", is_public=True)
    album = (await world.send(CreateCollection(new_album), other)).view.collection.id

    async def listed(who: str, message: Message[Page[CollectionView]]) -> list[int | None]:
        page = await world.send(message, people[who].actor)
        return [view.collection.id for view in page.items]

    assert await listed("editor", ListCollections()) == [album, others, shared, own_public]
    assert await listed("owner", ListOwnCollections()) == [shared, own_public, own_private]
    assert await listed("viewer", ListSharedCollections()) == [shared]
    assert await listed("viewer", ListPublicCollections(CollectionType.ALBUM)) == [album]
    library = await world.send(ListCollections(limit=2), ANONYMOUS)
    assert ([v.collection.id for v in library.items], library.total, library.has_more) == ([album, others], 3, True)

    async with world.uow() as uow:
        owner_user = await uow.users.get(people["owner"].user_id)
        assert owner_user is not None
        owner_user.deactivate(world.clock.now())
        await uow.commit()
    assert await listed("editor", ListCollections()) == [album, others]
    assert await listed("viewer", ListSharedCollections()) == []
    with pytest.raises(NotFound):
        await world.send(GetCollection(shared), people["editor"].actor)
    assert (await _view(world, shared, people["admin"].actor)).collection.id == shared


async def test_stats_and_admin_deletion(world: World) -> None:
    people = await _people(world)
    owner, admin = people["owner"].actor, people["admin"].actor
    await world.send(CreateCollection(NewCollection("a", CollectionType.ALBUM, artist="x", is_public=True)), owner)
    await _shared(world, people)
    with_cover = await world.send(CreateCollection(NewCollection("c", CollectionType.COMPILATION)), owner)
    await world.send(SetCollectionCover(with_cover.view.collection.id, io.BytesIO(FAKE_IMAGE)), owner)  # type: ignore[arg-type]
    await world.send(CreateCollection(NewCollection("o")), people["other"].actor)
    stats = (await world.send(GetCollectionStats(), owner)).counts
    assert (stats.total, stats.albums, stats.playlists, stats.compilations, stats.public, stats.collaborative) == (
        3, 1, 1, 1, 1, 1,
    )  # fmt: skip
    everything = await world.send(CountCollections(), admin)
    assert (everything.total, everything.playlists) == (4, 2)

    assert await world.send(DeleteUserCollections(people["owner"].user_id), admin) == 3
    await world.deliver()
    assert not [key for key in world.storage.objects if key.startswith("covers/")]
    assert (await world.send(GetUserCollectionStats(people["owner"].user_id), admin)).counts.total == 0
    assert (await world.send(CountCollections(), admin)).total == 1
    async with world.uow() as uow:
        entries = await uow.audit.list_for_user(people["owner"].user_id)
    deleted = [e for e in entries if e.event == AuditEvent.ADMIN_ACTION]
    assert deleted[-1].actor_id == people["admin"].user_id
    assert deleted[-1].details == {"action": "delete_all_collections", "deleted_count": 3}
    with pytest.raises(NotFound):
        await world.send(DeleteUserCollections(10**12), admin)


async def test_the_archive_holds_the_tracks_in_order_stored_not_recompressed(world: World) -> None:
    people = await _people(world)
    owner = people["owner"].actor
    collection_id = await _shared(world, people)
    payloads = {title: title.encode() * 50_000 for title in ("b", "a", "c")}
    ids = [await _file(world, people["owner"], title, data=data) for title, data in payloads.items()]
    await world.send(AddTracks(collection_id, tuple(ids)), owner)
    await world.send(AddTrack(collection_id, await _file(world, people["owner"], "gone")), owner)
    world.storage.objects.pop(f"audio/{people['owner'].user_id}/gone.mp3")  # its object vanished

    archive = await world.send(GetCollectionArchive(collection_id), people["viewer"].actor)
    pieces = [piece async for piece in zip_stream(world.app.media, archive, flush_bytes=10_000)]
    assert len(pieces) > 3, "the archive must be produced piece by piece"
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert bundle.namelist() == ["01 - b.mp3", "02 - a.mp3", "03 - c.mp3"]
    assert all(info.compress_type == zipfile.ZIP_STORED for info in bundle.infolist())
    assert [bundle.read(name) for name in bundle.namelist()] == list(payloads.values())
    assert bundle.testzip() is None
    with pytest.raises(NotFound):
        await world.send(GetCollectionArchive(collection_id), people["other"].actor)


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("uq_collection_tracks_collection_id_audio_file_id", "Audio file already in collection"),
        ("uq_collaborators_collection_id_user_id", "User is already a collaborator"),
        ("uq_collection_tracks_collection_id_track_order", "The collection changed meanwhile, please try again"),
    ],
)
def test_a_tripped_constraint_names_the_rule_it_kept(constraint: str, message: str) -> None:
    with pytest.raises(Conflict) as refused, _constraint_messages():
        raise Conflict(constraint=constraint)
    assert (refused.value.detail, refused.value.constraint) == (message, constraint)


# --------------------------------------------------------------------------- a collection read again


class _VersionedShown:
    """A catalog handing back the very same ``Shown`` while ``version`` stays (as the SQL one does
    while nothing it shows changed), read anew through the fake catalog (which names no versions)
    with the next version when ``changed`` is called."""

    def __init__(self, world: World) -> None:
        self._catalog = FakeCollectionCatalog(world.uow.database)
        self.version = 1
        self.kept: Shown | None = None
        self.reads = 0

    def changed(self) -> None:
        self.version += 1

    async def page(self, listing: Listing, *, skip: int, limit: int) -> Page[Listed]:
        raise NotImplementedError

    async def shown(self, collection_id: int) -> Shown | None:
        if self.kept is None or self.kept.version != self.version or self.kept.collection.id != collection_id:
            shown = await self._catalog.shown(collection_id)
            self.reads += 1
            self.kept = None if shown is None else replace(shown, version=self.version)
        return self.kept


def _kept_by(world: World, catalog: _VersionedShown, details: MemoryCollectionDetails) -> MessageBus:
    """A bus whose collection handlers read through ``catalog`` and keep details in ``details``."""
    bus = MessageBus(world.uow)
    bus.register(CollectionHandlers(world.clock, world.app.media, catalog, details))
    return bus


async def test_a_kept_collection_is_seen_by_each_caller_as_their_own(world: World) -> None:
    people = await _people(world)
    collection_id = await _shared(world, people)
    private = await _file(world, people["owner"], "a", public=False)
    await world.send(AddTrack(collection_id, private), people["owner"].actor)
    catalog, metrics = _VersionedShown(world), RecordingMetrics()
    details = MemoryCollectionDetails(metrics=metrics)
    bus = _kept_by(world, catalog, details)
    seen = {
        who: await bus(GetCollection(collection_id), people[who].actor)
        for who in ("owner", "editor", "viewer", "admin")
    }
    assert {who: found.view.can_edit for who, found in seen.items()} == {
        "owner": True,
        "editor": True,
        "viewer": False,
        "admin": True,
    }
    assert len({id(found.view.tracks) for found in seen.values()}) == 1  # made once, for every caller
    assert (details.misses, details.hits, len(details)) == (1, 3, 1)
    assert metrics.lookups == [("collection_detail", False)] + [("collection_detail", True)] * 3
    assert metrics.sizes[-1][:2] == ("collection_detail", 1) and metrics.sizes[-1][2] > 0
    track = seen["viewer"].view.tracks[0]  # type: ignore[index]
    assert seen["viewer"].urls[track.audio.storage_key] == await world.app.media.url(track.audio.storage_key)
    for actor in (people["other"].actor, ANONYMOUS):  # a private collection stays hidden from the others
        with pytest.raises(NotFound):
            await bus(GetCollection(collection_id), actor)


async def test_a_kept_collection_follows_its_changes_and_the_urls_expiry(world: World) -> None:
    people = await _people(world)
    collection_id = await _shared(world, people)
    owner = people["owner"].actor
    await world.send(AddTrack(collection_id, await _file(world, people["owner"], "a", public=False)), owner)
    catalog = _VersionedShown(world)
    details = MemoryCollectionDetails()
    bus = _kept_by(world, catalog, details)
    first = await bus(GetCollection(collection_id), people["viewer"].actor)
    assert (await bus(GetCollection(collection_id), people["viewer"].actor)) is first
    assert (details.misses, details.hits) == (1, 1)

    await world.send(AddTrack(collection_id, await _file(world, people["owner"], "b")), owner)
    catalog.changed()  # what the SQL catalog sees when the rows it reads differ
    after = await bus(GetCollection(collection_id), people["viewer"].actor)
    assert [t.audio.title for t in after.view.tracks or ()] == ["a", "b"] and after.view.totals.count == 2
    assert (details.misses, details.hits, len(details)) == (2, 1, 1)  # the old state's detail is dropped

    url = after.urls[(after.view.tracks or [])[0].audio.storage_key]
    world.clock.advance(24 * 3600)  # URLs signed now expire later: the same state, made again
    later = await bus(GetCollection(collection_id), people["viewer"].actor)
    assert later is not after and later.urls[(later.view.tracks or [])[0].audio.storage_key] != url
    assert (details.misses, details.hits, catalog.reads) == (3, 1, 2)


async def test_the_detail_is_the_one_presenting_the_view_gives(world: World) -> None:
    """The URLs come with the detail: presenting it asks the media for none and answers what
    presenting the view with the media's URLs answers."""
    people = await _people(world)
    collection_id = await _shared(world, people)
    private = await _file(world, people["owner"], "private", public=False)
    await world.send(AddTrack(collection_id, private), people["owner"].actor)
    found = await world.app.bus(GetCollection(collection_id), people["viewer"].actor)
    urls = await world.app.media.urls(shown_keys(found.view))
    assert found.urls == urls  # every URL the screen shows, resolved through the media port
    assert msgspec.json.encode(await detail_out(found)) == msgspec.json.encode(await Presenter(urls).detail(found.view))
    assert await detail_out(found) is await detail_out(found)  # presented once for the detail
    owners = await world.app.bus(GetCollection(collection_id), people["owner"].actor)
    assert msgspec.json.decode(msgspec.json.encode(await detail_out(owners)))["can_edit"] is True


async def test_the_lists_carry_the_urls_of_the_covers_and_pictures_they_show(world: World) -> None:
    people = await _people(world)
    collection_id = await _shared(world, people, public=True)
    owner = people["owner"].actor
    await world.send(SetProfilePicture(io.BytesIO(FAKE_IMAGE + b"me")), people["editor"].actor)
    cover = (await world.send(SetCollectionCover(collection_id, io.BytesIO(FAKE_IMAGE)), owner)).view.collection
    editor = await world.user(people["editor"].user_id)
    assert editor is not None and editor.profile_picture_key and cover.cover_art_key
    url = world.app.media.url
    expected = {key: await url(key) for key in (cover.cover_art_key, editor.profile_picture_key)}

    for message, actor in (
        (ListCollections(public_only=True), ANONYMOUS),
        (ListPublicCollections(CollectionType.PLAYLIST), ANONYMOUS),
        (ListOwnCollections(), owner),
        (ListSharedCollections(), people["editor"].actor),
        (ListAllCollections(), people["admin"].actor),
    ):
        page = await world.send(message, actor)
        assert [view.collection.id for view in page.items] == [collection_id], message
        assert page.urls == expected, message
    summary = await world.send(GetCollectionSummary(), people["admin"].actor)
    assert summary.recent.urls == expected


async def test_the_changes_answer_with_the_urls_of_what_they_show(world: World) -> None:
    people = await _people(world)
    owner = people["owner"].actor
    collection_id = await _shared(world, people)
    await world.send(SetProfilePicture(io.BytesIO(FAKE_IMAGE + b"other")), people["other"].actor)
    other = await world.user(people["other"].user_id)
    assert other is not None and other.profile_picture_key is not None
    url = world.app.media.url

    first, second = await _file(world, other, "one"), await _file(world, other, "two")
    added = await world.send(AddTracks(collection_id, (first, second)), owner)
    keys = [key for t in added.tracks for key in (t.audio.storage_key, other.profile_picture_key)]
    assert added.urls == {key: await url(key) for key in keys}
    moved = await world.send(MoveTrack(collection_id, added.tracks[1].track.id, 1), owner)  # type: ignore[arg-type]
    assert moved.urls[other.profile_picture_key] == await url(other.profile_picture_key)
    joined = await world.send(AddCollaborator(collection_id, Permission.VIEW, username="other"), owner)
    assert joined.urls == {other.profile_picture_key: await url(other.profile_picture_key)}
    updated = await world.send(UpdateCollection(collection_id, {"title": "Renamed"}), owner)
    assert updated.view.collection.title == "Renamed"
    assert updated.urls == {key: await url(key) for key in shown_keys(updated.view)}
    assert other.profile_picture_key in updated.urls


async def test_the_detail_cache_keeps_one_state_per_collection_within_its_bound() -> None:
    details = MemoryCollectionDetails(2)
    view = CollectionView(a_collection(id=1), User("o", "o@example.com", "x", id=OWNER), [], TrackTotals(), False, [])
    detail = CollectionDetail(view, {"k": "https://u"})
    assert await details.get(1, (1, 0)) is None
    await details.put(1, (1, 0), detail)
    assert await details.get(1, (1, 0)) is detail
    assert await details.get(1, (2, 0)) is None and len(details) == 0  # another state: dropped
    for collection_id in (1, 2, 3):
        await details.put(collection_id, (1, 0), detail)
    assert len(details) == 2 and await details.get(1, (1, 0)) is None  # the least recently used went
    assert details.size_bytes == 2 * approximate_bytes(detail)


async def test_who_may_send_the_collection_messages_is_declared_on_them(world: World) -> None:
    """Anonymous callers read (public collections); changes need a signed-in caller; statistics of
    everyone and deleting a user's collections need an admin, whatever the entrypoint."""
    people = await _people(world)
    bus = world.app.bus
    public = (await world.send(CreateCollection(NewCollection("Open", is_public=True)), people["owner"].actor)).view
    assert public.collection.id is not None
    assert (await bus(GetCollection(public.collection.id), ANONYMOUS)).view.can_edit is False
    assert (await bus(ListCollections(), ANONYMOUS)).total == 1
    signed_in: tuple[Message[Any], ...] = (
        CreateCollection(NewCollection("x")),
        DeleteCollection(public.collection.id),
        GetCollectionStats(),
    )
    for message in signed_in:
        with pytest.raises(NotAuthenticated):
            await bus(message, ANONYMOUS)
    admins_only: tuple[Message[Any], ...] = (
        CountCollections(),
        GetUserCollectionStats(people["owner"].user_id),
        ListAllCollections(),
    )
    for admins in admins_only:
        with pytest.raises(PermissionDenied):
            await bus(admins, people["owner"].actor)
    with pytest.raises(PermissionDenied):
        await bus(DeleteUserCollections(people["owner"].user_id), people["owner"].actor)
    assert (await bus(CountCollections(), Actor.operator())).total == 1
    assert await bus(DeleteUserCollections(people["owner"].user_id), Actor.operator()) == 1
