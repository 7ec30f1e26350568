"""What entrypoints may ask of collections, and what they get back.

Reading messages serve anonymous callers too (public collections); the others need a signed-in
caller, and the administrators' ones an admin. Who may see or change one collection is the
aggregate's rule (``Collection.visible_to``, ``editable_by``, ``manageable_by``): a collection the
actor may not see is ``NotFound``, one they see but may not change this way ``PermissionDenied``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, ClassVar

from sono.application.collections.ports import CollectionCounts
from sono.application.collections.views import (
    CollaboratorDetail,
    CollectionDetail,
    CollectionList,
    CollectionView,
    TrackDetail,
    TrackList,
)
from sono.application.messages import Audience, Command, Process, Query
from sono.domain.collections import CollectionType, Permission
from sono.domain.users import User

COLLECTION_NOT_FOUND = "Collection not found"
USER_NOT_FOUND = "User not found"


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


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """Counts by type and visibility, tracks in all collections, and the newest few."""

    counts: CollectionCounts
    tracks: int
    recent: CollectionList  # its first page of every collection


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ListCollections(Query[CollectionList]):
    """Anonymous callers, or ``public_only``: public collections; a signed-in caller: their own,
    those shared with them and the public ones. Newest first."""

    unit_of_work: ClassVar[bool] = False  # read from the catalog alone
    public_only: bool = False
    collection_type: CollectionType | None = None
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ListPublicCollections(Query[CollectionList]):
    """Public collections of one type, newest first."""

    unit_of_work: ClassVar[bool] = False  # read from the catalog alone
    collection_type: CollectionType
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ListOwnCollections(Query[CollectionList]):
    unit_of_work: ClassVar[bool] = False  # read from the catalog alone
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ListSharedCollections(Query[CollectionList]):
    """Collections the caller collaborates on (of active owners), newest first."""

    unit_of_work: ClassVar[bool] = False  # read from the catalog alone
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class GetCollectionStats(Query[CollectionStats]):
    """The caller's collections counted."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class GetCollection(Query[CollectionDetail]):
    """A collection with its tracks, and the URLs of what it shows."""

    unit_of_work: ClassVar[bool] = False  # read from the catalog alone
    collection_id: int


@dataclass(frozen=True, slots=True)
class GetCollectionArchive(Query[Archive]):
    """What a download packs: the tracks in order, named ``NN - title.ext``."""

    collection_id: int


@dataclass(frozen=True, slots=True)
class StreamArchive(Query[AsyncIterator[bytes]]):
    """The ZIP archive of what ``GetCollectionArchive`` answered, a piece at a time as it is built
    (``sono.application.collections.archive``); the stored objects are read as it is consumed."""

    unit_of_work: ClassVar[bool] = False
    archive: Archive


# ---------------------------------------------------------------------- changing


@dataclass(frozen=True, slots=True)
class CreateCollection(Command[CollectionDetail]):
    """A new collection of the caller's, with ``audio_file_ids`` as its tracks in order (a file
    named twice once; one the caller may not add: ``NotFound`` and nothing is created)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    new: NewCollection
    audio_file_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateCollection(Command[CollectionDetail]):
    """Change the fields in ``changes`` (``None`` clears an optional text): what each caller may
    change is the aggregate's ``revise``."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EditCollection(Command[CollectionView]):
    """Fields (those in ``changes``; ``None`` clears an optional text) and tracks
    (``Collection.edit_tracks``) in one change, all or nothing: the edit right for tracks and
    descriptive fields, the owner's for theirs; a file to add that the caller may not add is
    ``NotFound`` and nothing changes (what a player's playlist methods send)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    changes: Mapping[str, Any] = field(default_factory=dict)
    remove_positions: tuple[int, ...] = ()
    add_ids: tuple[int, ...] = ()
    replace_tracks: bool = False


@dataclass(frozen=True, slots=True)
class DeleteCollection(Command[None]):
    """The collection goes with its tracks and collaborators, then its cover."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int


@dataclass(frozen=True, slots=True)
class SetCollectionCover(Process[CollectionDetail]):
    """Re-encode the image, store it under a new public key (so its URL changes), point the
    collection at it and remove the old cover (owner, editors and admins). A process: the caller's
    rights are checked before the image is decoded (``CheckCoverEditable``), the new object is
    recorded as pending (``StageCollectionCover``), stored outside any transaction, and filed
    (``FileCollectionCover``); a failure leaves neither a new object nor a changed collection."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    image: BinaryIO


@dataclass(frozen=True, slots=True)
class CheckCoverEditable(Query[None]):
    """Refuse (404 for who cannot see the collection, 403 for who may not edit it) before a new
    cover is decoded."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int


@dataclass(frozen=True, slots=True)
class StageCollectionCover(Command[str]):
    """A new cover's first step: the caller's rights checked, the new object named (its image's
    ``extension``) and recorded as pending before it is written. Answers its key."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    extension: str


@dataclass(frozen=True, slots=True)
class FileCollectionCover(Command[CollectionView]):
    """A new cover's last step, its object stored under ``key`` (one of the collection's cover
    keys): point the collection at it, forget its pending record, release the old cover."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    key: str


@dataclass(frozen=True, slots=True)
class AddTrack(Command[TrackDetail]):
    """Insert at ``position`` (beyond the end, or None, appends)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    audio_file_id: int
    position: int | None = None


@dataclass(frozen=True, slots=True)
class AddTracks(Command[TrackList]):
    """Append several, in the order given; all or nothing. The 4xx names the ids that cannot be
    added: unknown or invisible (404), repeated in the request (422), already present (409)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    audio_file_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RemoveTrack(Command[None]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    track_id: int


@dataclass(frozen=True, slots=True)
class MoveTrack(Command[TrackDetail]):
    """Move to ``position`` (clamped to 1..n), shifting the tracks in between."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    track_id: int
    position: int


@dataclass(frozen=True, slots=True)
class AddCollaborator(Command[CollaboratorDetail]):
    """By ``user_id`` or ``username``: an active user (404 otherwise), not the owner (400), not
    already one (409), on a collaborative collection (400)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    permission: Permission
    user_id: int | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class SetCollaboratorPermission(Command[CollaboratorDetail]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    user_id: int
    permission: Permission


@dataclass(frozen=True, slots=True)
class RemoveCollaborator(Command[None]):
    """Their private files leave the collection with them (the rest close up)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    collection_id: int
    user_id: int


# ---------------------------------------------------------------------- admins


@dataclass(frozen=True, slots=True)
class CountCollections(Query[CollectionCounts]):
    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class GetUserCollectionStats(Query[CollectionStats]):
    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class ListAllCollections(Query[CollectionList]):
    """Every collection (deactivated owners' too), newest first."""

    audience: ClassVar[Audience] = Audience.ADMIN
    skip: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class GetCollectionSummary(Query[CollectionSummary]):
    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class DeleteUserCollections(Command[int]):
    """Every collection of the user (tracks and collaborators with them), then their covers; the
    number deleted."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int
