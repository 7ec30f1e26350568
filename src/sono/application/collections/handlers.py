"""Collections: creating, reading, changing and deleting them, their tracks, collaborators and
cover art; and the administrators' statistics and deletions.

Every change loads the aggregate with ``for_update`` first, in the unit of work the bus opened:
writers of one collection queue on its row lock (PostgreSQL) or the writer lock (SQLite), so each
sees the track list the previous one committed and the positions stay 1..n at every commit. The
aggregate holds the rules; this module finds the files and users the message names, and saves.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sono.application.bus import Context, ProcessContext, handles
from sono.application.collections.messages import (
    COLLECTION_NOT_FOUND,
    USER_NOT_FOUND,
    AddCollaborator,
    AddTrack,
    AddTracks,
    Archive,
    ArchiveEntry,
    CheckCoverEditable,
    CollectionStats,
    CollectionSummary,
    CountCollections,
    CreateCollection,
    DeleteCollection,
    DeleteUserCollections,
    EditCollection,
    FileCollectionCover,
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
    RemoveCollaborator,
    RemoveTrack,
    SetCollaboratorPermission,
    SetCollectionCover,
    StageCollectionCover,
    UpdateCollection,
)
from sono.application.collections.ports import CollectionCatalog, CollectionCounts, CollectionDetails, Listing, Scope
from sono.application.collections.views import (
    CollaboratorDetail,
    CollaboratorView,
    CollectionDetail,
    CollectionList,
    CollectionView,
    Shown,
    TrackDetail,
    TrackList,
    TrackTotals,
    TrackView,
    assemble,
    cards,
    listed_keys,
    shown_keys,
    track_keys,
    whole,
)
from sono.application.common import audit
from sono.application.media.messages import ForgetPendingObjects
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.application.values import CALLER_GONE
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import (
    ALREADY_COLLABORATOR,
    BULK_ADD_MAX,
    TRACK_ALREADY_PRESENT,
    Collection,
    check_fields,
    ids_text,
    shareable_by,
    track_filenames,
)
from sono.domain.errors import Conflict, FieldError, NotFound, PermissionDenied, SessionEnded, ValidationFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.media import COVERS, clean_filename, object_key
from sono.domain.users import User

ID_MAX = 2**31 - 1
"""Ids are positive 32-bit integers: a larger (or negative) one names nothing."""

AUDIO_NOT_FOUND = "Audio file {id} not found"
AUDIOS_NOT_FOUND = "Audio files not found: {ids}"
BULK_EMPTY = "At least one audio file id is required"
BULK_TOO_MANY = f"At most {BULK_ADD_MAX} audio files can be added at once"
COLLABORATOR_NEEDS_USER = "Either user_id or username is required"
SUMMARY_RECENT = 5

CHANGED_MEANWHILE = "The collection changed meanwhile, please try again"
NOT_A_COVER = "Not a cover of this collection"
_CONSTRAINT_MESSAGES = {
    "uq_collection_tracks_collection_id_audio_file_id": TRACK_ALREADY_PRESENT,
    "uq_collaborators_collection_id_user_id": ALREADY_COLLABORATOR,
    "uq_collection_tracks_collection_id_track_order": CHANGED_MEANWHILE,
}


@contextmanager
def _constraint_messages() -> Iterator[None]:
    """The database's unique constraints are the last line of defence behind the aggregate's rules
    (writers are serialised, so they should never trip): if one does, say which rule it kept."""
    try:
        yield
    except Conflict as exc:
        message = _CONSTRAINT_MESSAGES.get(exc.constraint or "")
        if message is None:
            raise
        raise Conflict(message, constraint=exc.constraint) from None


def known_id(value: int) -> bool:
    return 1 <= value <= ID_MAX


def bounded_skip(skip: int) -> int:
    """No list holds more than ``ID_MAX`` rows: a larger ``skip`` (which the database could not
    take as an ``OFFSET``) is an empty page all the same."""
    return min(skip, ID_MAX)


class CollectionHandlers:
    """``catalog`` reads every list and single collection (outside the unit of work); ``details``
    keeps the collection screens made for a state of a collection."""

    def __init__(
        self,
        clock: Clock,
        media: MediaService,
        catalog: CollectionCatalog,
        details: CollectionDetails | None = None,
    ) -> None:
        self._clock = clock
        self._media = media
        self._catalog = catalog
        self._details = details

    # ------------------------------------------------------------------ reading

    @handles(GetCollection)
    async def get(self, query: GetCollection, ctx: Context) -> CollectionDetail:
        """The collection's screen for this state of it and this moment of URL expiry, made once
        and kept (``CollectionDetails``); what depends on the caller (``can_edit``) decided here."""
        viewer, collection_id = ctx.actor.viewer, query.collection_id
        shown = await self._visible(ctx, collection_id)
        stamp: Hashable = (shown.version, self._media.expiry())
        details = self._details if shown.version is not None else None  # no version: a state not named
        found = await details.get(collection_id, stamp) if details is not None else None
        if found is None:
            view = whole(shown)
            assert view is not None  # its owner is in ``people``
            found = CollectionDetail(view, await self._media.urls(shown_keys(view)))
            if details is not None:
                await details.put(collection_id, stamp, found)
        return found.for_viewer(viewer)

    async def _visible(self, ctx: Context, collection_id: int) -> Shown:
        """The collection as its screen shows it (from the catalog), if the actor may see it; else
        ``NotFound``."""
        shown = await self._catalog.shown(collection_id) if known_id(collection_id) else None
        owner = shown.people.get(shown.collection.owner_id) if shown is not None else None
        viewer = ctx.actor.viewer
        if shown is None or owner is None or not shown.collection.visible_to(viewer, owner_active=owner.is_active):
            raise NotFound(COLLECTION_NOT_FOUND)
        return shown

    async def _page(self, ctx: Context, listing: Listing, skip: int, limit: int) -> CollectionList:
        """Newest first, from the catalog, with the URLs of what the collections show."""
        page = await self._catalog.page(listing, skip=bounded_skip(skip), limit=limit)
        views = cards(ctx.actor.viewer, page.items)
        return CollectionList(views, page.total, page.skip, urls=await self._media.urls(listed_keys(views)))

    @handles(ListCollections)
    async def library(self, query: ListCollections, ctx: Context) -> CollectionList:
        user_id = ctx.actor.user_id
        if user_id is None or query.public_only:
            listing = Listing(Scope.PUBLIC, collection_type=query.collection_type)
        else:
            listing = Listing(Scope.VISIBLE, user_id, query.collection_type)
        return await self._page(ctx, listing, query.skip, query.limit)

    @handles(ListPublicCollections)
    async def public(self, query: ListPublicCollections, ctx: Context) -> CollectionList:
        listing = Listing(Scope.PUBLIC, collection_type=query.collection_type)
        return await self._page(ctx, listing, query.skip, query.limit)

    @handles(ListOwnCollections)
    async def own(self, query: ListOwnCollections, ctx: Context) -> CollectionList:
        return await self._page(ctx, Listing(Scope.OWNED, ctx.actor.id), query.skip, query.limit)

    @handles(ListSharedCollections)
    async def shared(self, query: ListSharedCollections, ctx: Context) -> CollectionList:
        return await self._page(ctx, Listing(Scope.SHARED, ctx.actor.id), query.skip, query.limit)

    @handles(GetCollectionStats)
    async def stats(self, query: GetCollectionStats, ctx: Context) -> CollectionStats:
        user = await _user(ctx.uow, ctx.actor.id)
        return CollectionStats(user, await ctx.uow.collection_queries.counts(owner_id=ctx.actor.id))

    @handles(GetCollectionArchive)
    async def archive(self, query: GetCollectionArchive, ctx: Context) -> Archive:
        view = whole(await self._visible(ctx, query.collection_id))
        assert view is not None and view.tracks is not None
        names = track_filenames([(t.track.track_order, t.audio.title, _extension(t.audio)) for t in view.tracks])
        entries = [
            ArchiveEntry(name, t.audio.storage_key, t.audio.file_size, t.audio.upload_date)
            for name, t in zip(names, view.tracks, strict=True)
        ]
        return Archive(clean_filename(f"{view.collection.title}.zip", "collection.zip"), entries)

    # ------------------------------------------------------------------ the collection

    @handles(CreateCollection)
    async def create(self, command: CreateCollection, ctx: Context) -> CollectionDetail:
        new, audio_file_ids, uow, actor = command.new, command.audio_file_ids, ctx.uow, ctx.actor
        texts = {"title": new.title, "description": new.description, "artist": new.artist}
        check_fields({**texts, "curator_note": new.curator_note})
        now = self._clock.now()
        collection = Collection(
            owner_id=actor.id,
            title=new.title,
            collection_type=new.collection_type,
            description=new.description,
            artist=new.artist,
            curator_note=new.curator_note,
            is_public=new.is_public,
            is_collaborative=new.is_collaborative,
            created_date=now,
            updated_date=now,
        )
        if not audio_file_ids:
            await uow.collections.add(collection)
        else:
            await uow.audio_files.hold(audio_file_ids)
            await self._visible_files(uow, actor.viewer, list(dict.fromkeys(audio_file_ids)))
            await uow.collections.add(collection)
            collection.edit_tracks((), audio_file_ids, now=now, added_by_id=actor.user_id)
            await self._save(uow, collection)
        await uow.library.file_collection(collection)  # the library's search, in the same transaction
        await audit(uow, self._clock, AuditEvent.COLLECTION_CREATED, user_id=actor.id, collection_id=collection.id)
        if audio_file_ids:
            return await self._detail(await _view(uow, actor.viewer, collection))
        return await self._detail(CollectionView(collection, await _user(uow, actor.id), [], TrackTotals(), True, []))

    @handles(UpdateCollection)
    async def update(self, command: UpdateCollection, ctx: Context) -> CollectionDetail:
        collection, _ = await self._lock(ctx, command.collection_id)
        changed = collection.revise(ctx.actor.viewer, dict(command.changes), now=self._clock.now())
        return await self._detail(await self._changed(ctx, collection, changed))

    @handles(EditCollection)
    async def edit(self, command: EditCollection, ctx: Context) -> CollectionView:
        uow, viewer = ctx.uow, ctx.actor.viewer
        collection, _ = await self._lock(ctx, command.collection_id, audio=list(command.add_ids))
        collection.check_editable(viewer)
        changes = dict(command.changes)
        changed = collection.revise(viewer, changes, now=self._clock.now()) if changes else []
        new_ids = [i for i in dict.fromkeys(command.add_ids) if i not in collection.audio_file_ids]
        if new_ids:
            await self._visible_files(uow, viewer, new_ids)
        if collection.edit_tracks(
            command.remove_positions,
            command.add_ids,
            now=self._clock.now(),
            added_by_id=ctx.actor.user_id,
            replace=command.replace_tracks,
        ):
            collection.updated_date = self._clock.now()
            changed.append("tracks")
        return await self._changed(ctx, collection, changed)

    async def _detail(self, view: CollectionView) -> CollectionDetail:
        """A change's answer: the collection as the actor now sees it, with the URLs it shows."""
        return CollectionDetail(view, await self._media.urls(shown_keys(view)))

    async def _tracks(self, tracks: list[TrackView]) -> TrackList:
        return TrackList(tracks, await self._media.urls(track_keys(tracks)))

    async def _changed(self, ctx: Context, collection: Collection, changed: list[str]) -> CollectionView:
        """Save what an update or an edit changed (the library's search follows a new title, in the
        same transaction), audit it, and answer the collection as the actor now sees it."""
        if changed:
            await self._save(ctx.uow, collection)
            if "title" in changed:
                await ctx.uow.library.file_collection(collection)
            await self._audit(ctx, AuditEvent.COLLECTION_UPDATED, collection, fields=changed)
        return await _view(ctx.uow, ctx.actor.viewer, collection)

    @handles(DeleteCollection)
    async def delete(self, command: DeleteCollection, ctx: Context) -> None:
        collection, _ = await self._lock(ctx, command.collection_id)
        collection.check_manageable(ctx.actor.viewer)
        cover = collection.cover_art_key
        await ctx.uow.collections.delete(collection)
        await self._audit(ctx, AuditEvent.COLLECTION_DELETED, collection)
        if cover:
            await self._media.release(ctx.uow, [cover])

    # ------------------------------------------------------------------ tracks

    @handles(AddTrack)
    async def add_track(self, command: AddTrack, ctx: Context) -> TrackDetail:
        uow, viewer = ctx.uow, ctx.actor.viewer
        collection, _ = await self._lock(ctx, command.collection_id, audio=[command.audio_file_id])
        collection.check_editable(viewer)
        audio, audio_owner = (await self._visible_files(uow, viewer, [command.audio_file_id]))[command.audio_file_id]
        track = collection.add_track(
            command.audio_file_id, now=self._clock.now(), added_by_id=ctx.actor.user_id, position=command.position
        )
        collection.updated_date = self._clock.now()
        await self._save(uow, collection)
        view = TrackView(track, audio, audio_owner)
        return TrackDetail(view, await self._media.urls(track_keys([view])))

    @handles(AddTracks)
    async def add_tracks(self, command: AddTracks, ctx: Context) -> TrackList:
        ids = list(command.audio_file_ids)
        if not ids:
            raise ValidationFailed([FieldError("audio_file_ids", BULK_EMPTY)])
        if len(ids) > BULK_ADD_MAX:
            raise ValidationFailed([FieldError("audio_file_ids", BULK_TOO_MANY)])
        uow, viewer = ctx.uow, ctx.actor.viewer
        collection, _ = await self._lock(ctx, command.collection_id, audio=ids)
        collection.check_editable(viewer)
        files = await self._visible_files(uow, viewer, ids)
        tracks = collection.add_tracks(ids, now=self._clock.now(), added_by_id=ctx.actor.user_id)
        collection.updated_date = self._clock.now()
        await self._save(uow, collection)
        return await self._tracks([TrackView(track, *files[track.audio_file_id]) for track in tracks])

    @handles(RemoveTrack)
    async def remove_track(self, command: RemoveTrack, ctx: Context) -> None:
        collection, _ = await self._lock(ctx, command.collection_id)
        collection.check_editable(ctx.actor.viewer)
        collection.remove_track(command.track_id)
        collection.updated_date = self._clock.now()
        await self._save(ctx.uow, collection)

    @handles(MoveTrack)
    async def move_track(self, command: MoveTrack, ctx: Context) -> TrackDetail:
        collection, _ = await self._lock(ctx, command.collection_id)
        collection.check_editable(ctx.actor.viewer)
        track = collection.move_track(command.track_id, command.position)
        collection.updated_date = self._clock.now()
        await self._save(ctx.uow, collection)
        files = await self._people_of_files(ctx.uow, [track.audio_file_id])
        view = TrackView(track, *files[track.audio_file_id])
        return TrackDetail(view, await self._media.urls(track_keys([view])))

    # ------------------------------------------------------------------ collaborators

    @handles(AddCollaborator)
    async def add_collaborator(self, command: AddCollaborator, ctx: Context) -> CollaboratorDetail:
        user_id, username, uow = command.user_id, command.username, ctx.uow
        if user_id is None and not username:
            raise ValidationFailed([FieldError("user_id", COLLABORATOR_NEEDS_USER)])
        if user_id is None:
            named = await uow.users.get_by_username(username or "")
            user_id = named.id if named is not None else None
        wanted = user_id if user_id is not None and known_id(user_id) else None
        collection, _ = await self._lock(ctx, command.collection_id, users=[wanted])
        collection.check_manageable(ctx.actor.viewer)
        # held by _lock already (holding again only says whether it still exists: a user read by
        # name before the hold may have been deleted meanwhile)
        held = await uow.users.hold([wanted]) if wanted is not None else set()
        user = await uow.users.get(wanted) if wanted is not None and wanted in held else None
        if user is None or user.id is None or not user.is_active:
            raise NotFound(USER_NOT_FOUND)
        collaborator = collection.add_collaborator(
            user.id, command.permission, now=self._clock.now(), added_by_id=ctx.actor.user_id
        )
        await self._save(uow, collection)
        await self._audit(ctx, AuditEvent.COLLECTION_UPDATED, collection, collaborator_added=user.id)
        return await self._collaborator(CollaboratorView(collaborator, user))

    @handles(SetCollaboratorPermission)
    async def set_collaborator_permission(self, command: SetCollaboratorPermission, ctx: Context) -> CollaboratorDetail:
        collection, _ = await self._lock(ctx, command.collection_id)
        collection.check_manageable(ctx.actor.viewer)
        collaborator = collection.set_permission(command.user_id, command.permission)
        await self._save(ctx.uow, collection)
        user = (await ctx.uow.collection_queries.users([command.user_id]))[command.user_id]
        return await self._collaborator(CollaboratorView(collaborator, user))

    async def _collaborator(self, view: CollaboratorView) -> CollaboratorDetail:
        return CollaboratorDetail(view, await self._media.urls([view.user.profile_picture_key]))

    @handles(RemoveCollaborator)
    async def remove_collaborator(self, command: RemoveCollaborator, ctx: Context) -> None:
        uow = ctx.uow
        collection, _ = await self._lock(ctx, command.collection_id)
        collection.check_manageable(ctx.actor.viewer)
        collection.remove_collaborator(command.user_id)
        # their private files leave with them (the rest close up)
        if collection.drop_unshared((await uow.audio_files.get_many(collection.audio_file_ids)).values()):
            collection.updated_date = self._clock.now()
        await self._save(uow, collection)
        await self._audit(ctx, AuditEvent.COLLECTION_UPDATED, collection, collaborator_removed=command.user_id)

    # ------------------------------------------------------------------ admins

    @handles(CountCollections)
    async def counts(self, query: CountCollections, ctx: Context) -> CollectionCounts:
        return await ctx.uow.collection_queries.counts()

    @handles(GetUserCollectionStats)
    async def user_stats(self, query: GetUserCollectionStats, ctx: Context) -> CollectionStats:
        user = await _user(ctx.uow, query.user_id)
        return CollectionStats(user, await ctx.uow.collection_queries.counts(owner_id=query.user_id))

    @handles(ListAllCollections)
    async def everything(self, query: ListAllCollections, ctx: Context) -> CollectionList:
        return await self._page(ctx, Listing(Scope.ALL), query.skip, query.limit)

    @handles(GetCollectionSummary)
    async def summary(self, query: GetCollectionSummary, ctx: Context) -> CollectionSummary:
        queries = ctx.uow.collection_queries
        counts = await queries.counts()
        tracks = await queries.track_entries()
        recent = await self._page(ctx, Listing(Scope.ALL), 0, SUMMARY_RECENT)
        return CollectionSummary(counts, tracks, recent)

    @handles(DeleteUserCollections)
    async def delete_all(self, command: DeleteUserCollections, ctx: Context) -> int:
        uow, user_id = ctx.uow, command.user_id
        await _user(uow, user_id, lock=True)
        deleted = (await uow.collection_queries.counts(owner_id=user_id)).total
        covers = await uow.collections.delete_for_owner(user_id)
        await audit(
            uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            user_id=user_id,
            actor_id=ctx.actor.user_id,
            action="delete_all_collections",
            deleted_count=deleted,
        )
        await self._media.release(uow, covers)
        return deleted

    # ------------------------------------------------------------------ helpers

    async def _save(self, uow: UnitOfWork, collection: Collection) -> None:
        with _constraint_messages():
            await uow.collections.save(collection)

    async def _lock(
        self, ctx: Context, collection_id: int, *, users: Sequence[int | None] = (), audio: Sequence[int] = ()
    ) -> tuple[Collection, User]:
        """``_load`` for a change, after holding (in the lock order of ``sono.application.uow``)
        what the change will refer to: the collection's owner and ``users`` (audit entries,
        collaborators; the bus holds the caller's row first), then the ``audio`` files its new
        entries name."""
        uow = ctx.uow
        owner_id = await uow.collections.owner_of(collection_id) if known_id(collection_id) else None
        wanted = {i for i in (ctx.actor.user_id, owner_id, *users) if i is not None}
        held = await uow.users.hold(wanted)
        if ctx.actor.user_id is not None and ctx.actor.user_id not in held:
            raise SessionEnded(CALLER_GONE)
        if audio:
            await uow.audio_files.hold(audio)
        return await _load(uow, ctx.actor.viewer, collection_id)

    async def _visible_files(
        self, uow: UnitOfWork, viewer: Viewer, audio_file_ids: Sequence[int]
    ) -> dict[int, tuple[AudioFile, User]]:
        """The files (with their owners) the viewer may add (``shareable_by``); ``NotFound`` naming
        the others, as for files that do not exist."""
        found = await self._people_of_files(uow, [i for i in audio_file_ids if known_id(i)])
        missing = [
            i
            for i in audio_file_ids
            if i not in found or not shareable_by(found[i][0], viewer, owner_active=found[i][1].is_active)
        ]
        if len(missing) == 1 and len(audio_file_ids) == 1:
            raise NotFound(AUDIO_NOT_FOUND.format(id=missing[0]))
        if missing:
            raise NotFound(AUDIOS_NOT_FOUND.format(ids=ids_text(missing)))
        return found

    async def _people_of_files(
        self, uow: UnitOfWork, audio_file_ids: Sequence[int]
    ) -> dict[int, tuple[AudioFile, User]]:
        files = await uow.audio_files.get_many(audio_file_ids) if audio_file_ids else {}
        owners = await uow.collection_queries.users({audio.owner_id for audio in files.values()}) if files else {}
        return {i: (audio, owners[audio.owner_id]) for i, audio in files.items() if audio.owner_id in owners}

    async def _audit(self, ctx: Context, event: AuditEvent, collection: Collection, **details: Any) -> None:
        """Changes are logged for the collection's owner, with the caller as the actor (an admin
        acting on someone else's collection is on record)."""
        await audit(
            ctx.uow,
            self._clock,
            event,
            user_id=collection.owner_id,
            actor_id=ctx.actor.user_id,
            collection_id=collection.id,
            **details,
        )


class CollectionCovers:
    """Setting a collection's cover, a process (``SetCollectionCover``) of steps sent through the
    bus: the new object is recorded as pending in a unit of work committed before it is written,
    so that a crash between writing it and pointing the collection at it leaves no untracked
    object; a failure removes it and forgets its record."""

    def __init__(self, clock: Clock, media: MediaService) -> None:
        self._clock = clock
        self._media = media

    @handles(SetCollectionCover)
    async def set_cover(self, process: SetCollectionCover, ctx: ProcessContext) -> CollectionDetail:
        await ctx.send(CheckCoverEditable(process.collection_id))  # before the image is decoded
        processed = await self._media.process_image(process.image)
        key = await ctx.send(StageCollectionCover(process.collection_id, processed.extension))

        async def discard() -> None:
            await self._media.delete([key])
            await ctx.send(ForgetPendingObjects((key,)))

        ctx.on_failure(discard)
        await self._media.put_image(key, processed)
        view = await ctx.send(FileCollectionCover(process.collection_id, key))
        return CollectionDetail(view, await self._media.urls(shown_keys(view)))

    @handles(CheckCoverEditable)
    async def check_editable(self, query: CheckCoverEditable, ctx: Context) -> None:
        viewer = ctx.actor.viewer
        collection, _ = await _load(ctx.uow, viewer, query.collection_id, lock=False)
        collection.check_editable(viewer)

    @handles(StageCollectionCover)
    async def stage(self, command: StageCollectionCover, ctx: Context) -> str:
        viewer = ctx.actor.viewer
        collection, _ = await _load(ctx.uow, viewer, command.collection_id, lock=False)
        collection.check_editable(viewer)
        key = object_key(COVERS, command.collection_id, uuid.uuid4().hex, command.extension)
        await self._media.record_pending(ctx.uow, [key])
        return key

    @handles(FileCollectionCover)
    async def file(self, command: FileCollectionCover, ctx: Context) -> CollectionView:
        uow, viewer, collection_id = ctx.uow, ctx.actor.viewer, command.collection_id
        if not command.key.startswith(object_key(COVERS, collection_id, "", "").removesuffix(".")):
            raise PermissionDenied(NOT_A_COVER)
        owner_id = await uow.collections.owner_of(collection_id) if known_id(collection_id) else None
        if owner_id is not None:
            await uow.users.hold([owner_id])  # the bus holds the caller's row first
        collection, _ = await _load(uow, viewer, collection_id)
        collection.check_editable(viewer)
        old_key, collection.cover_art_key = collection.cover_art_key, command.key
        collection.updated_date = self._clock.now()
        with _constraint_messages():
            await uow.collections.save(collection)
        await self._media.settle(uow, [command.key])
        if old_key:
            await self._media.release(uow, [old_key])
        return await _view(uow, viewer, collection)


async def _load(uow: UnitOfWork, viewer: Viewer, collection_id: int, *, lock: bool = True) -> tuple[Collection, User]:
    """The collection (locked for update unless ``lock`` is false) and its owner, if the viewer may
    see it; else ``NotFound``."""
    collection = await uow.collections.get(collection_id, for_update=lock) if known_id(collection_id) else None
    owner = await uow.users.get(collection.owner_id) if collection is not None else None
    if collection is None or owner is None or not collection.visible_to(viewer, owner_active=owner.is_active):
        raise NotFound(COLLECTION_NOT_FOUND)
    return collection, owner


async def _view(uow: UnitOfWork, viewer: Viewer, collection: Collection) -> CollectionView:
    view = await detail(uow, viewer, collection)
    if view is None:  # the owner was deleted meanwhile
        raise NotFound(COLLECTION_NOT_FOUND)
    return view


async def detail(uow: UnitOfWork, viewer: Viewer, collection: Collection) -> CollectionView | None:
    """``assemble`` for an aggregate loaded to be changed: two statements more, its files, then
    everyone shown (owner, collaborators, file owners)."""
    files = await uow.audio_files.get_many(collection.audio_file_ids)
    wanted = {collection.owner_id, *(c.user_id for c in collection.collaborators)}
    people = await uow.collection_queries.users(wanted | {audio.owner_id for audio in files.values()})
    return assemble(viewer, Shown(collection, files, people))


async def _user(uow: UnitOfWork, user_id: int, *, lock: bool = False) -> User:
    user = await uow.users.get(user_id, for_update=lock) if known_id(user_id) else None
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def _extension(audio: AudioFile) -> str:
    """The archive name's extension: the file's format, else its original name's."""
    if audio.format:
        return audio.format
    _, dot, extension = audio.original_filename.rpartition(".")
    return extension if dot else "bin"
