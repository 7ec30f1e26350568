"""Collections: creating, reading, changing and deleting them, their tracks, collaborators and
cover art.

Every change loads the aggregate with ``for_update`` first: writers of one collection queue on its
row lock (PostgreSQL) or the writer lock (SQLite), so each sees the track list the previous one
committed and the positions stay 1..n at every commit. The aggregate holds the rules; this module
decides who is asking, finds the files and users the request names, and saves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sono.application.collections.ports import (
    CollectionCatalog,
    CollectionCounts,
    Listing,
    Scope,
    Shown,
    TrackTotals,
)
from sono.application.collections.views import (
    CollaboratorView,
    CollectionView,
    TrackView,
    as_seen_by,
    cards,
    detail,
    whole,
)
from sono.application.common import Page, Principal, audit, hold_users
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import (
    ALREADY_COLLABORATOR,
    BULK_ADD_MAX,
    TRACK_ALREADY_PRESENT,
    Collection,
    CollectionType,
    Permission,
    check_fields,
    ids_text,
    shareable_by,
    track_filenames,
)
from sono.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.media import COVERS, clean_filename, object_key
from sono.domain.users import User

ID_MAX = 2**31 - 1
"""Ids are positive 32-bit integers: a larger (or negative) one names nothing."""

COLLECTION_NOT_FOUND = "Collection not found"
AUDIO_NOT_FOUND = "Audio file {id} not found"
AUDIOS_NOT_FOUND = "Audio files not found: {ids}"
USER_NOT_FOUND = "User not found"
BULK_EMPTY = "At least one audio file id is required"
BULK_TOO_MANY = f"At most {BULK_ADD_MAX} audio files can be added at once"
COLLABORATOR_NEEDS_USER = "Either user_id or username is required"
VIEWS_KEPT = 256
"""Collections whose caller-independent view is remembered (see ``CollectionService.get``)."""


CHANGED_MEANWHILE = "The collection changed meanwhile, please try again"
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


@dataclass(frozen=True, slots=True)
class NewCollection:
    title: str
    collection_type: CollectionType = CollectionType.PLAYLIST
    description: str | None = None
    artist: str | None = None
    curator_note: str | None = None
    is_public: bool = False
    is_collaborative: bool = False


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    name: str
    key: str
    size: int
    modified: datetime | None


@dataclass(frozen=True, slots=True)
class Archive:
    """A collection's tracks in order, as the files of a ZIP archive named ``filename``."""

    filename: str
    entries: list[ArchiveEntry]


@dataclass(frozen=True, slots=True)
class CollectionStats:
    """One user's collections counted."""

    user: User
    counts: CollectionCounts


class CollectionService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, media: MediaService, catalog: CollectionCatalog | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._media = media
        self._catalog = catalog
        self._seen: dict[int | None, tuple[Shown, CollectionView | None]] = {}

    # ------------------------------------------------------------------ reading

    async def get(self, viewer: Viewer, collection_id: int) -> CollectionView:
        """From the catalog when there is one (it may hand back the same ``Shown`` as before, and
        then the same view is reused for what does not depend on the caller), else in a unit of
        work."""
        shown = await self._shown(collection_id) if known_id(collection_id) else None
        seen = self._whole(shown) if shown is not None else None
        if seen is None or not seen.collection.visible_to(viewer, owner_active=seen.owner.is_active):
            raise NotFound(COLLECTION_NOT_FOUND)
        return as_seen_by(viewer, seen)

    async def _shown(self, collection_id: int) -> Shown | None:
        if self._catalog is not None:
            return await self._catalog.shown(collection_id)
        async with self._uow(read_only=True) as uow:
            return await uow.collection_queries.shown(collection_id)

    def _whole(self, shown: Shown) -> CollectionView | None:
        """``whole(shown)``, made once for a ``Shown`` the catalog hands back again."""
        collection_id = shown.collection.id
        last = self._seen.get(collection_id)
        if last is not None and last[0] is shown:
            return last[1]
        seen = whole(shown)
        if len(self._seen) >= VIEWS_KEPT:
            self._seen.clear()
        self._seen[collection_id] = (shown, seen)
        return seen

    async def page(self, viewer: Viewer, listing: Listing, *, skip: int, limit: int) -> Page[CollectionView]:
        """Newest first (from the catalog when there is one, else in a unit of work)."""
        if self._catalog is not None:
            page = await self._catalog.page(listing, skip=bounded_skip(skip), limit=limit)
        else:
            async with self._uow(read_only=True) as uow:
                page = await uow.collection_queries.page(listing, skip=bounded_skip(skip), limit=limit)
        return Page(cards(viewer, page.items), page.total, page.skip)

    async def library(
        self, viewer: Viewer, *, public_only: bool, collection_type: CollectionType | None, skip: int, limit: int
    ) -> Page[CollectionView]:
        """``GET /collections/``: public collections for anonymous callers or with
        ``public_only``; otherwise everything the caller sees (own, shared, public)."""
        if viewer.user_id is None or public_only:
            listing = Listing(Scope.PUBLIC, collection_type=collection_type)
        else:
            listing = Listing(Scope.VISIBLE, viewer.user_id, collection_type)
        return await self.page(viewer, listing, skip=skip, limit=limit)

    async def stats(self, user: User) -> CollectionStats:
        assert user.id is not None
        async with self._uow(read_only=True) as uow:
            return CollectionStats(user, await uow.collection_queries.counts(owner_id=user.id))

    async def archive(self, viewer: Viewer, collection_id: int) -> Archive:
        """What ``GET /collections/{id}/download`` packs: the tracks in order, named
        ``NN - title.ext``."""
        view = await self.get(viewer, collection_id)
        assert view.tracks is not None
        names = track_filenames([(t.track.track_order, t.audio.title, _extension(t.audio)) for t in view.tracks])
        entries = [
            ArchiveEntry(name, t.audio.storage_key, t.audio.file_size, t.audio.upload_date)
            for name, t in zip(names, view.tracks, strict=True)
        ]
        return Archive(clean_filename(f"{view.collection.title}.zip", "collection.zip"), entries)

    # ------------------------------------------------------------------ the collection

    async def create(
        self, principal: Principal, new: NewCollection, audio_file_ids: Sequence[int] = ()
    ) -> CollectionView:
        """A new collection of the caller's, with ``audio_file_ids`` as its tracks in order (a file
        named twice once; one the caller may not add: ``NotFound`` and nothing is created)."""
        texts = {"title": new.title, "description": new.description, "artist": new.artist}
        check_fields({**texts, "curator_note": new.curator_note})
        now = self._clock.now()
        collection = Collection(
            owner_id=principal.user_id,
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
        async with self._uow() as uow:
            await hold_users(uow, principal)
            if not audio_file_ids:
                await uow.collections.add(collection)
            else:
                await uow.audio_files.hold(audio_file_ids)
                await self._visible_files(uow, principal.viewer, list(dict.fromkeys(audio_file_ids)))
                await uow.collections.add(collection)
                collection.edit_tracks((), audio_file_ids, now=now, added_by_id=principal.user_id)
                await self._save(uow, collection)
            await uow.library.file_collection(collection)  # the library's search, in the same transaction
            await audit(
                uow, self._clock, AuditEvent.COLLECTION_CREATED, user_id=principal.user_id, collection_id=collection.id
            )
            view = await self._view(uow, principal.viewer, collection) if audio_file_ids else None
            await self._commit(uow)
        return view or CollectionView(collection, principal.user, [], TrackTotals(), True, [])

    async def update(self, principal: Principal, collection_id: int, changes: dict[str, Any]) -> CollectionView:
        """Change the fields that were sent (``None`` clears an optional text)."""
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id)
            changed = collection.revise(viewer, changes, now=self._clock.now())
            if changed:
                await self._save(uow, collection)
                if "title" in changed:
                    await uow.library.file_collection(collection)  # the library's search, in the same transaction
                await self._audit(uow, AuditEvent.COLLECTION_UPDATED, principal, collection, fields=changed)
            view = await self._view(uow, viewer, collection)
            await self._commit(uow)
        return view

    async def edit(
        self,
        principal: Principal,
        collection_id: int,
        changes: dict[str, Any],
        *,
        remove_positions: Sequence[int] = (),
        add_ids: Sequence[int] = (),
        replace_tracks: bool = False,
    ) -> CollectionView:
        """Fields (as ``update``) and tracks (``Collection.edit_tracks``) in one change, all or
        nothing: the edit right for tracks and descriptive fields, the owner's for theirs; a file
        to add that the caller may not add is ``NotFound`` and nothing changes."""
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id, audio=list(add_ids))
            collection.check_editable(viewer)
            changed = collection.revise(viewer, changes, now=self._clock.now()) if changes else []
            new_ids = [i for i in dict.fromkeys(add_ids) if i not in collection.audio_file_ids]
            if new_ids:
                await self._visible_files(uow, viewer, new_ids)
            if collection.edit_tracks(
                remove_positions, add_ids, now=self._clock.now(), added_by_id=principal.user_id, replace=replace_tracks
            ):
                collection.updated_date = self._clock.now()
                changed.append("tracks")
            if changed:
                await self._save(uow, collection)
                if "title" in changed:
                    await uow.library.file_collection(collection)  # the library's search, in the same transaction
                await self._audit(uow, AuditEvent.COLLECTION_UPDATED, principal, collection, fields=changed)
            view = await self._view(uow, viewer, collection)
            await self._commit(uow)
        return view

    async def delete(self, principal: Principal, collection_id: int) -> None:
        """Delete the collection (its tracks and collaborators go with it), then its cover."""
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id)
            collection.check_manageable(principal.viewer)
            cover = collection.cover_art_key
            await uow.collections.delete(collection)
            await self._audit(uow, AuditEvent.COLLECTION_DELETED, principal, collection)
            if cover:
                await self._media.release(uow, [cover])
            await self._commit(uow)

    async def set_cover(self, principal: Principal, collection_id: int, image: BinaryIO) -> CollectionView:
        """Re-encode the image, store it under a new public key (so its URL changes), point the
        collection at it and remove the old cover. A failure leaves neither a new object nor a
        changed collection behind. The caller's rights are checked before the image is decoded."""
        viewer = principal.viewer
        async with self._uow(read_only=True) as uow:
            collection, _ = await self._load(uow, viewer, collection_id, lock=False)
            collection.check_editable(viewer)
        processed = await self._media.process_image(image)
        key = object_key(COVERS, collection_id, uuid.uuid4().hex, processed.extension)
        await self._media.stage([key])
        try:
            await self._media.put_image(key, processed)
            async with self._uow() as uow:
                collection, _ = await self._lock(uow, principal, collection_id)
                collection.check_editable(viewer)
                old_key, collection.cover_art_key = collection.cover_art_key, key
                collection.updated_date = self._clock.now()
                await self._save(uow, collection)
                await self._media.settle(uow, [key])
                if old_key:
                    await self._media.release(uow, [old_key])
                view = await self._view(uow, viewer, collection)
                await self._commit(uow)
        except BaseException:
            await self._media.discard([key])
            raise
        return view

    # ------------------------------------------------------------------ tracks

    async def add_track(
        self, principal: Principal, collection_id: int, audio_file_id: int, position: int | None = None
    ) -> TrackView:
        """Insert at ``position`` (beyond the end, or None, appends)."""
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id, audio=[audio_file_id])
            collection.check_editable(viewer)
            audio, audio_owner = (await self._visible_files(uow, viewer, [audio_file_id]))[audio_file_id]
            track = collection.add_track(
                audio_file_id, now=self._clock.now(), added_by_id=principal.user_id, position=position
            )
            collection.updated_date = self._clock.now()
            await self._save(uow, collection)
            await self._commit(uow)
        return TrackView(track, audio, audio_owner)

    async def add_tracks(
        self, principal: Principal, collection_id: int, audio_file_ids: Sequence[int]
    ) -> list[TrackView]:
        """Append several, in the order given; all or nothing. The 4xx names the ids that cannot
        be added: unknown or invisible (404), repeated in the request (422), already present (409)."""
        ids = list(audio_file_ids)
        if not ids:
            raise ValidationFailed([FieldError("audio_file_ids", BULK_EMPTY)])
        if len(ids) > BULK_ADD_MAX:
            raise ValidationFailed([FieldError("audio_file_ids", BULK_TOO_MANY)])
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id, audio=ids)
            collection.check_editable(viewer)
            files = await self._visible_files(uow, viewer, ids)
            tracks = collection.add_tracks(ids, now=self._clock.now(), added_by_id=principal.user_id)
            collection.updated_date = self._clock.now()
            await self._save(uow, collection)
            await self._commit(uow)
        return [TrackView(track, *files[track.audio_file_id]) for track in tracks]

    async def remove_track(self, principal: Principal, collection_id: int, track_id: int) -> None:
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id)
            collection.check_editable(viewer)
            collection.remove_track(track_id)
            collection.updated_date = self._clock.now()
            await self._save(uow, collection)
            await self._commit(uow)

    async def move_track(self, principal: Principal, collection_id: int, track_id: int, position: int) -> TrackView:
        """Move to ``position`` (clamped to 1..n), shifting the tracks in between."""
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id)
            collection.check_editable(viewer)
            track = collection.move_track(track_id, position)
            collection.updated_date = self._clock.now()
            await self._save(uow, collection)
            files = await self._people_of_files(uow, [track.audio_file_id])
            await self._commit(uow)
        return TrackView(track, *files[track.audio_file_id])

    # ------------------------------------------------------------------ collaborators

    async def add_collaborator(
        self,
        principal: Principal,
        collection_id: int,
        permission: Permission,
        *,
        user_id: int | None = None,
        username: str | None = None,
    ) -> CollaboratorView:
        """By ``user_id`` or ``username``: an active user (404 otherwise), not the owner (400), not
        already one (409), on a collaborative collection (400)."""
        if user_id is None and not username:
            raise ValidationFailed([FieldError("user_id", COLLABORATOR_NEEDS_USER)])
        viewer = principal.viewer
        async with self._uow() as uow:
            if user_id is None:
                named = await uow.users.get_by_username(username or "")
                user_id = named.id if named is not None else None
            wanted = user_id if user_id is not None and known_id(user_id) else None
            collection, _ = await self._lock(uow, principal, collection_id, users=[wanted])
            collection.check_manageable(viewer)
            # held by _lock already (holding again only says whether it still exists: a user read by
            # name before the hold may have been deleted meanwhile)
            held = await uow.users.hold([wanted]) if wanted is not None else set()
            user = await uow.users.get(wanted) if wanted is not None and wanted in held else None
            if user is None or user.id is None or not user.is_active:
                raise NotFound(USER_NOT_FOUND)
            collaborator = collection.add_collaborator(
                user.id, permission, now=self._clock.now(), added_by_id=principal.user_id
            )
            await self._save(uow, collection)
            await self._audit(uow, AuditEvent.COLLECTION_UPDATED, principal, collection, collaborator_added=user.id)
            await self._commit(uow)
        return CollaboratorView(collaborator, user)

    async def set_collaborator_permission(
        self, principal: Principal, collection_id: int, user_id: int, permission: Permission
    ) -> CollaboratorView:
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id)
            collection.check_manageable(viewer)
            collaborator = collection.set_permission(user_id, permission)
            await self._save(uow, collection)
            user = (await uow.collection_queries.users([user_id]))[user_id]
            await self._commit(uow)
        return CollaboratorView(collaborator, user)

    async def remove_collaborator(self, principal: Principal, collection_id: int, user_id: int) -> None:
        viewer = principal.viewer
        async with self._uow() as uow:
            collection, _ = await self._lock(uow, principal, collection_id)
            collection.check_manageable(viewer)
            collection.remove_collaborator(user_id)
            # their private files leave with them (the rest close up)
            if collection.drop_unshared((await uow.audio_files.get_many(collection.audio_file_ids)).values()):
                collection.updated_date = self._clock.now()
            await self._save(uow, collection)
            await self._audit(uow, AuditEvent.COLLECTION_UPDATED, principal, collection, collaborator_removed=user_id)
            await self._commit(uow)

    # ------------------------------------------------------------------ helpers

    async def _save(self, uow: UnitOfWork, collection: Collection) -> None:
        with _constraint_messages():
            await uow.collections.save(collection)

    async def _commit(self, uow: UnitOfWork) -> None:
        with _constraint_messages():
            await uow.commit()

    async def _load(
        self, uow: UnitOfWork, viewer: Viewer, collection_id: int, *, lock: bool = True
    ) -> tuple[Collection, User]:
        """The collection (locked for update unless ``lock`` is false) and its owner, if the viewer
        may see it; else ``NotFound``."""
        collection = await uow.collections.get(collection_id, for_update=lock) if known_id(collection_id) else None
        owner = await uow.users.get(collection.owner_id) if collection is not None else None
        if collection is None or owner is None or not collection.visible_to(viewer, owner_active=owner.is_active):
            raise NotFound(COLLECTION_NOT_FOUND)
        return collection, owner

    async def _lock(
        self,
        uow: UnitOfWork,
        principal: Principal,
        collection_id: int,
        *,
        users: Sequence[int | None] = (),
        audio: Sequence[int] = (),
    ) -> tuple[Collection, User]:
        """``_load`` for a change, after holding (in the lock order of ``sono.application.uow``)
        what the change will refer to: the caller, the collection's owner and ``users`` (audit
        entries, collaborators), then the ``audio`` files its new entries name."""
        owner_id = await uow.collections.owner_of(collection_id) if known_id(collection_id) else None
        await hold_users(uow, principal, owner_id, *users)
        if audio:
            await uow.audio_files.hold(audio)
        return await self._load(uow, principal.viewer, collection_id)

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

    async def _view(self, uow: UnitOfWork, viewer: Viewer, collection: Collection) -> CollectionView:
        view = await detail(uow, viewer, collection)
        if view is None:  # the owner was deleted meanwhile
            raise NotFound(COLLECTION_NOT_FOUND)
        return view

    async def _audit(
        self, uow: UnitOfWork, event: AuditEvent, principal: Principal, collection: Collection, **details: Any
    ) -> None:
        """Changes are logged for the collection's owner, with the caller as the actor (an admin
        acting on someone else's collection is on record)."""
        await audit(
            uow,
            self._clock,
            event,
            user_id=collection.owner_id,
            actor_id=principal.user_id,
            collection_id=collection.id,
            **details,
        )


def _extension(audio: AudioFile) -> str:
    """The archive name's extension: the file's format, else its original name's."""
    if audio.format:
        return audio.format
    _, dot, extension = audio.original_filename.rpartition(".")
    return extension if dot else "bin"
