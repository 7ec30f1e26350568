"""Where collections are kept: the aggregate's repository and the read side of the lists."""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sono.application.collections.views import CollectionDetail, Listed, Shown
from sono.application.values import Page
from sono.domain.access import ANONYMOUS, Viewer
from sono.domain.collections import Collection, CollectionType
from sono.domain.library import AllOf, AnyOf, CollaboratorIs, Everything, OwnedBy, Spec, visible_collections
from sono.domain.users import User


class CollectionRepository(Protocol):
    """Loads and saves whole ``Collection`` aggregates (with their tracks and collaborators)."""

    async def add(self, collection: Collection) -> Collection: ...
    async def get(self, collection_id: int, *, for_update: bool = False) -> Collection | None:
        """``for_update`` serialises writers of one collection: a row lock on PostgreSQL (SQLite's
        writer lock does it there)."""

    async def owner_of(self, collection_id: int) -> int | None:
        """The id of the collection's owner (None when there is no such collection), read without
        loading or locking the aggregate: what a change holds before it locks the collection."""

    async def save(self, collection: Collection) -> None:
        """Write the aggregate's changes now (its track positions safely, whatever moved)."""

    async def containing_audio(self, audio_file_ids: Sequence[int]) -> list[Collection]:
        """The collections holding any of these audio files, locked for update, by id."""

    async def owned_by(self, owner_id: int) -> list[Collection]:
        """Newest first."""

    async def member_of(self, user_id: int) -> list[Collection]:
        """Collections the user collaborates on, newest first."""

    async def cover_keys_for_owner(self, owner_id: int) -> list[str]: ...
    async def delete(self, collection: Collection) -> None: ...
    async def delete_for_owner(self, owner_id: int) -> list[str]:
        """Delete every collection of the owner, returning their cover-art keys."""


class Scope(enum.Enum):
    """Which collections a list shows (``Listing.spec``). Only the administration's list shows a
    deactivated owner's collections (``visible_collections``)."""

    PUBLIC = "public"
    """Public collections of active owners."""
    VISIBLE = "visible"
    """What a signed-in user sees in the library: their own, those shared with them and the
    public ones (of active owners)."""
    OWNED = "owned"
    """The user's own (while their account is active)."""
    SHARED = "shared"
    """Those the user collaborates on (of active owners)."""
    ALL = "all"
    """Every collection (administration)."""


@dataclass(frozen=True, slots=True)
class Listing:
    """A list's filter: ``scope`` for ``user_id`` (the caller; unused by PUBLIC and ALL), of one
    ``collection_type`` or all."""

    scope: Scope
    user_id: int | None = None
    collection_type: CollectionType | None = None

    def spec(self) -> Spec:
        """The collections the list shows (whatever their type): those its caller sees as a member
        does (``visible_collections``: an admin's own lists are a member's, the administration's is
        ``ALL``), narrowed by the scope. The SQL catalog compiles it into its ``WHERE`` (once per
        scope, the user id a parameter), the in-memory one evaluates it."""
        match self.scope:
            case Scope.ALL:
                return Everything()
            case Scope.PUBLIC:
                return visible_collections(ANONYMOUS)
            case Scope.VISIBLE:
                return visible_collections(Viewer(self.user_id))
        if self.user_id is None:
            return AnyOf(())  # nobody's own or shared collections
        visible = visible_collections(Viewer(self.user_id))
        if self.scope is Scope.OWNED:
            return AllOf((visible, OwnedBy(self.user_id)))
        return AllOf((visible, CollaboratorIs(self.user_id)))


@dataclass(frozen=True, slots=True)
class CollectionCounts:
    """Collections counted by type and flags (all of them, or one owner's)."""

    total: int = 0
    albums: int = 0
    playlists: int = 0
    compilations: int = 0
    public: int = 0
    collaborative: int = 0


class CollectionQueries(Protocol):
    """The read side of statistics and of what a change answers, in the unit of work: each method
    a fixed number of statements, whatever the number of rows. (The lists and a collection's
    screen are ``CollectionCatalog``'s.)"""

    async def listed(self, collection_ids: Sequence[int]) -> list[Listed]:
        """The collections ``collection_ids`` as list rows, in that order (missing ones left out):
        what ``CollectionCatalog.page`` gives each row, for a page chosen elsewhere (the library's
        search); two statements."""

    async def holding(self, audio_file_id: int) -> list[tuple[Collection, User]]:
        """The collections holding the audio file, each with its owner and its collaborators (not
        its tracks), by id: whom the file is shared with (two statements)."""

    async def users(self, user_ids: Iterable[int]) -> dict[int, User]:
        """The users shown on a screen (owners, collaborators, the owners of the tracks' files),
        by id; unknown ids are left out."""

    async def counts(self, *, owner_id: int | None = None) -> CollectionCounts:
        """Of every collection, or of one owner's."""

    async def track_entries(self) -> int:
        """Tracks in all collections together."""


class CollectionCatalog(Protocol):
    """The list pages and single collections, read outside units of work (the SQL one on a
    connection of its own, no transaction: one statement per page, a count more for a page beyond
    the end; one per collection): every collection list and screen of the API reads here. What it
    returns may be the very objects an earlier call returned (when nothing they show changed):
    callers only read them."""

    async def page(self, listing: Listing, *, skip: int, limit: int) -> Page[Listed]:
        """The collections ``listing.spec()`` holds for (of ``listing.collection_type``, if any),
        newest first (``created_date``, then ``id``): each with its owner, track totals and
        collaborators (not its tracks), the list's length as the page's total."""

    async def shown(self, collection_id: int) -> Shown | None:
        """One collection with its tracks in order, its collaborators, the tracks' files and
        everyone on it (None: no such collection); whoever asks (the caller decides who may see
        it)."""


class CollectionDetails(Protocol):
    """Collection screens kept for the next callers, one per collection, each for the state it
    shows (``stamp``: the collection's ``Shown.version`` and the URLs' expiry, see
    ``MediaService.expiry``). A lookup with another stamp misses and drops the kept one: a change
    to the collection is a new version, so what changes it invalidates it. Bounded; what it drops
    is made again. Counts its hits, misses and size (``Metrics``)."""

    async def get(self, collection_id: int, stamp: Hashable) -> CollectionDetail | None: ...
    async def put(self, collection_id: int, stamp: Hashable, detail: CollectionDetail) -> None: ...
