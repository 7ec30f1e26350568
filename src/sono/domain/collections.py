"""Collections (albums, playlists, compilations): an aggregate that owns its track list and its
collaborators, and the rules on who may see and change it.

Track order is 1-based and contiguous: every method that changes the list leaves ``track_order``
equal to the position in ``tracks`` (kept sorted). The database's unique constraint on
``(collection_id, track_order)`` is the last line of defence, not the rule.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.errors import BadRequest, Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from sono.domain.library import CollectionFacts, visible_collections
from sono.domain.media import clean_filename

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
ARTIST_MAX = 200
CURATOR_NOTE_MAX = 2000
BULK_ADD_MAX = 100

TRACK_ALREADY_PRESENT = "Audio file already in collection"
TRACKS_ALREADY_PRESENT = "Audio files already in collection: {ids}"
TRACKS_REPEATED = "Audio file ids repeated in the request: {ids}"
TRACK_NOT_FOUND = "Track not found in collection"
NOT_COLLABORATIVE = "Collection is not collaborative"
OWNER_NOT_COLLABORATOR = "The owner cannot be added as a collaborator"
ALREADY_COLLABORATOR = "User is already a collaborator"
COLLABORATOR_NOT_FOUND = "Collaborator not found"
TITLE_EMPTY = "Title must not be empty"
NOT_EDITABLE = "You do not have permission to edit this collection"
OWNER_ONLY = "Only the owner can change {field}"
MANAGERS_ONLY = "Only the owner can manage this collection"
POSITION_OUT_OF_RANGE = "Track positions out of range: {positions}"

OWNER_FIELDS = ("is_public", "is_collaborative", "collection_type")
"""Fields only the owner (or an admin) changes; an edit collaborator may repeat their value."""
DESCRIPTIVE_FIELDS = ("title", "description", "artist", "curator_note")
_TEXT_MAX = {"title": TITLE_MAX, "description": DESCRIPTION_MAX, "artist": ARTIST_MAX, "curator_note": CURATOR_NOTE_MAX}
_LABELS = {"title": "Title", "description": "Description", "artist": "Artist", "curator_note": "Curator note"}


class CollectionType(enum.StrEnum):
    ALBUM = "album"
    PLAYLIST = "playlist"
    COMPILATION = "compilation"


class Permission(enum.StrEnum):
    EDIT = "edit"
    VIEW = "view"


def text_problems(field_name: str, value: str | None) -> list[str]:
    """The length rules of a descriptive field (``title`` must also hold more than blanks)."""
    if value is None:
        return [TITLE_EMPTY] if field_name == "title" else []
    if field_name == "title" and not value.strip():
        return [TITLE_EMPTY]
    limit = _TEXT_MAX[field_name]
    if len(value) > limit:
        return [f"{_LABELS[field_name]} must be at most {limit} characters"]
    return []


def check_fields(values: dict[str, str | None]) -> None:
    """Every rule the descriptive ``values`` (by field name) break, as one ``ValidationFailed``.
    The rules are the same for every type: ``artist`` and ``curator_note`` are optional for all
    (the web sends ``artist`` only when filled in, also for an album)."""
    errors = [FieldError(name, message) for name, value in values.items() for message in text_problems(name, value)]
    if errors:
        raise ValidationFailed(errors)


def shareable_by(audio: AudioFile, viewer: Viewer, *, owner_active: bool = True) -> bool:
    """Whether the viewer may put the file into a collection (contract section 6): their own file,
    or a public one they see. An admin never shares another user's private file."""
    return viewer.is_user(audio.owner_id) or (audio.is_public and audio.visible_to(viewer, owner_active=owner_active))


def shared_with(viewer: Viewer, holders: Iterable[tuple[Collection, bool]]) -> bool:
    """Whether a file is readable by the viewer through the collections holding it (each with
    whether its owner is active): putting a file into a collection shares it with whoever may see
    that collection (contract section 6: metadata, playback, download, cover art)."""
    return any(collection.visible_to(viewer, owner_active=active) for collection, active in holders)


def ids_text(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in sorted(set(ids)))


def track_filenames(entries: Sequence[tuple[int, str, str]]) -> list[str]:
    """Names of a collection's tracks inside its archive: ``NN - title.ext`` from
    ``(track_order, title, extension)``, made safe by ``clean_filename`` and unique."""
    width = max(2, len(str(max((order for order, _, _ in entries), default=0))))
    names: list[str] = []
    taken: set[str] = set()
    for order, title, extension in entries:
        ext = clean_filename(extension, "bin").lower()[:10]
        flat = title.replace("/", "_").replace("\\", "_")  # a title's slashes are no folders
        name = clean_filename(f"{order:0{width}d} - {flat}.{ext}", f"{order:0{width}d}.{ext}")
        candidate, copy = name, 2
        while candidate.lower() in taken:
            stem, dot, suffix = name.rpartition(".")
            candidate = f"{stem} ({copy}){dot}{suffix}" if dot else f"{name} ({copy})"
            copy += 1
        taken.add(candidate.lower())
        names.append(candidate)
    return names


@dataclass(eq=False)
class CollectionTrack:
    collection_id: int | None
    audio_file_id: int
    track_order: int
    added_date: datetime | None = None
    added_by_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class Collaborator:
    collection_id: int | None
    user_id: int
    permission_level: Permission
    added_date: datetime | None = None
    added_by_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class Collection:
    owner_id: int
    title: str
    collection_type: CollectionType
    description: str | None = None
    artist: str | None = None
    curator_note: str | None = None
    cover_art_key: str | None = None
    is_public: bool = False
    is_collaborative: bool = False
    created_date: datetime | None = None
    updated_date: datetime | None = None
    id: int | None = None
    tracks: list[CollectionTrack] = field(default_factory=list)
    collaborators: list[Collaborator] = field(default_factory=list)

    # ------------------------------------------------------------------ access

    def permission_of(self, viewer: Viewer) -> Permission | None:
        """The viewer's collaborator permission, if they are a collaborator."""
        if viewer.user_id is None:
            return None
        return next((c.permission_level for c in self.collaborators if c.user_id == viewer.user_id), None)

    def visible_to(self, viewer: Viewer, *, owner_active: bool = True) -> bool:
        """Public collections are seen by everyone; private ones by their owner, their
        collaborators and admins. A deactivated owner's collections are seen by admins only.
        (``visible_collections``, evaluated on this collection's facts.)"""
        return visible_collections(viewer).holds(self.facts(owner_active=owner_active))

    def facts(self, *, owner_active: bool) -> CollectionFacts:
        """What the visibility rule knows of this collection (its owner's state is the caller's to
        say)."""
        members = frozenset(c.user_id for c in self.collaborators)
        return CollectionFacts(self.owner_id, self.is_public, owner_active, members)

    def editable_by(self, viewer: Viewer) -> bool:
        """May change the tracks, the cover and the descriptive fields: owner, admins, and
        collaborators with ``edit`` permission."""
        return self.manageable_by(viewer) or self.permission_of(viewer) == Permission.EDIT

    def manageable_by(self, viewer: Viewer) -> bool:
        """May change visibility and collaboration, manage collaborators and delete: owner, admins."""
        return viewer.is_admin or viewer.is_user(self.owner_id)

    def check_editable(self, viewer: Viewer) -> None:
        if not self.editable_by(viewer):
            raise PermissionDenied(NOT_EDITABLE)

    def check_manageable(self, viewer: Viewer) -> None:
        if not self.manageable_by(viewer):
            raise PermissionDenied(MANAGERS_ONLY)

    def may_hold(self, audio: AudioFile) -> bool:
        """Sharing is the file owner's decision alone (contract section 6): a private file stays in
        a collection only while its owner owns the collection or collaborates on it."""
        if audio.is_public or audio.owner_id == self.owner_id:
            return True
        return any(c.user_id == audio.owner_id for c in self.collaborators)

    def drop_unshared(self, files: Iterable[AudioFile]) -> int:
        """Take out the entries of those ``files`` that may no longer stay (a file made private,
        its owner no longer a collaborator); the rest close up. The number taken out."""
        present = set(self.audio_file_ids)
        return self.remove_audio(a.id for a in files if a.id in present and not self.may_hold(a))

    # ------------------------------------------------------------------ fields

    def revise(self, viewer: Viewer, changes: dict[str, Any], *, now: datetime) -> list[str]:
        """Apply the fields that were sent (``changes`` by name; ``None`` clears an optional text).
        Edit collaborators may change the descriptive fields and repeat the current value of the
        owner's fields; the descriptive ones must satisfy their rules. Returns the names that changed."""
        self.check_editable(viewer)
        for name in OWNER_FIELDS:
            if name in changes and changes[name] != getattr(self, name) and not self.manageable_by(viewer):
                raise PermissionDenied(OWNER_ONLY.format(field=name))
        check_fields({name: changes[name] for name in DESCRIPTIVE_FIELDS if name in changes})
        changed = [name for name, value in changes.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, changes[name])
        if changed:
            self.updated_date = now
        return changed

    # ------------------------------------------------------------------ tracks

    @property
    def audio_file_ids(self) -> list[int]:
        return [track.audio_file_id for track in self.tracks]

    def track(self, track_id: int) -> CollectionTrack:
        for track in self.tracks:
            if track.id == track_id:
                return track
        raise NotFound(TRACK_NOT_FOUND)

    def add_track(
        self, audio_file_id: int, *, now: datetime, added_by_id: int | None, position: int | None = None
    ) -> CollectionTrack:
        """Insert at ``position`` (1-based; beyond the end, or None, appends; below 1 puts it
        first), shifting what follows. An audio file appears at most once."""
        if audio_file_id in self.audio_file_ids:
            raise Conflict(TRACK_ALREADY_PRESENT)
        track = CollectionTrack(self.id, audio_file_id, 0, added_date=now, added_by_id=added_by_id)
        index = len(self.tracks) if position is None else min(max(position, 1), len(self.tracks) + 1) - 1
        self.tracks.insert(index, track)
        self._renumber()
        return track

    def add_tracks(
        self, audio_file_ids: Sequence[int], *, now: datetime, added_by_id: int | None
    ) -> list[CollectionTrack]:
        """Append several, in order; all or nothing: ids repeated in ``audio_file_ids`` are a
        ``ValidationFailed``, ids already present a ``Conflict``, each naming the ids."""
        repeated = {audio_id for audio_id in audio_file_ids if audio_file_ids.count(audio_id) > 1}
        if repeated:
            raise ValidationFailed([FieldError("audio_file_ids", TRACKS_REPEATED.format(ids=ids_text(repeated)))])
        present = set(self.audio_file_ids).intersection(audio_file_ids)
        if present:
            raise Conflict(TRACKS_ALREADY_PRESENT.format(ids=ids_text(present)))
        added = [
            CollectionTrack(self.id, audio_id, 0, added_date=now, added_by_id=added_by_id)
            for audio_id in audio_file_ids
        ]
        self.tracks.extend(added)
        self._renumber()
        return added

    def remove_track(self, track_id: int) -> CollectionTrack:
        track = self.track(track_id)
        self.tracks.remove(track)
        self._renumber()
        return track

    def remove_audio(self, audio_file_ids: Iterable[int]) -> int:
        """Drop the entries of these audio files (they are being deleted); the rest close up."""
        doomed = set(audio_file_ids)
        kept = [track for track in self.tracks if track.audio_file_id not in doomed]
        removed = len(self.tracks) - len(kept)
        if removed:
            self.tracks[:] = kept
            self._renumber()
        return removed

    def edit_tracks(
        self,
        remove_positions: Sequence[int],
        add_ids: Sequence[int],
        *,
        now: datetime,
        added_by_id: int | None,
        replace: bool = False,
    ) -> bool:
        """A player's edit of the track list in one step (the Subsonic ``updatePlaylist`` and
        ``createPlaylist`` with ``playlistId``): the entries at ``remove_positions`` (0-based, in
        the order before the call; a position given twice counts once) are all removed at once,
        or every entry when ``replace``; then ``add_ids`` are appended in order, skipping a file
        already in the list (one entry per file: players that repeat a song keep working).
        A position outside the list is a ``ValidationFailed`` and nothing changes. Whether
        anything changed."""
        wrong = sorted({p for p in remove_positions if not 0 <= p < len(self.tracks)})
        if wrong:
            shown = ", ".join(str(p) for p in wrong[:10])
            raise ValidationFailed([FieldError("songIndexToRemove", POSITION_OUT_OF_RANGE.format(positions=shown))])
        doomed = set(range(len(self.tracks))) if replace else set(remove_positions)
        kept = [track for index, track in enumerate(self.tracks) if index not in doomed]
        # a removed entry added back is the same entry, moved to the end (one row per file)
        removed = {track.audio_file_id: track for index, track in enumerate(self.tracks) if index in doomed}
        present = {track.audio_file_id for track in kept}
        for audio_id in add_ids:
            if audio_id not in present:
                present.add(audio_id)
                track = removed.get(audio_id)
                if track is None:
                    track = CollectionTrack(self.id, audio_id, 0, added_date=now, added_by_id=added_by_id)
                kept.append(track)
        if [t.audio_file_id for t in kept] == self.audio_file_ids:
            return False
        self.tracks[:] = kept
        self._renumber()
        return True

    def move_track(self, track_id: int, new_position: int) -> CollectionTrack:
        """Move to ``new_position`` (clamped to 1..n), shifting the tracks in between."""
        track = self.track(track_id)
        self.tracks.remove(track)
        index = min(max(new_position, 1), len(self.tracks) + 1) - 1
        self.tracks.insert(index, track)
        self._renumber()
        return track

    def _renumber(self) -> None:
        for position, track in enumerate(self.tracks, start=1):
            if track.track_order != position:
                track.track_order = position

    # ------------------------------------------------------------------ collaborators

    def collaborator(self, user_id: int) -> Collaborator:
        for collaborator in self.collaborators:
            if collaborator.user_id == user_id:
                return collaborator
        raise NotFound(COLLABORATOR_NOT_FOUND)

    def add_collaborator(
        self, user_id: int, permission: Permission, *, now: datetime, added_by_id: int | None
    ) -> Collaborator:
        if not self.is_collaborative:
            raise BadRequest(NOT_COLLABORATIVE)
        if user_id == self.owner_id:
            raise BadRequest(OWNER_NOT_COLLABORATOR)
        if any(c.user_id == user_id for c in self.collaborators):
            raise Conflict(ALREADY_COLLABORATOR)
        collaborator = Collaborator(self.id, user_id, permission, added_date=now, added_by_id=added_by_id)
        self.collaborators.append(collaborator)
        return collaborator

    def set_permission(self, user_id: int, permission: Permission) -> Collaborator:
        collaborator = self.collaborator(user_id)
        collaborator.permission_level = permission
        return collaborator

    def remove_collaborator(self, user_id: int) -> Collaborator:
        collaborator = self.collaborator(user_id)
        self.collaborators.remove(collaborator)
        return collaborator
