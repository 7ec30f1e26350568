"""Shapes of collections, their tracks and collaborators, and their presenters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.collections.messages import CollectionStats, CollectionSummary, NewCollection
from sono.application.collections.ports import CollectionCounts
from sono.application.collections.views import (
    CollaboratorDetail,
    CollaboratorView,
    CollectionDetail,
    CollectionList,
    CollectionView,
    TrackDetail,
    TrackList,
    TrackView,
)
from sono.domain.annotations import SongAnnotation
from sono.domain.collections import (
    ARTIST_MAX,
    BULK_ADD_MAX,
    CURATOR_NOTE_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    Collaborator,
    CollectionType,
    Permission,
)
from sono.domain.users import User
from sono.entrypoints.http.accounts.schemas import PublicUserOut, public_user_shape
from sono.entrypoints.http.audio.schemas import Annotate, AudioOut, annotated, audio_shape
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, Input, documented, page_fields, text, utc, values_of

BULK_EDGE_MAX = 10_000
"""The edge's cap on a bulk add's list (the use case allows ``BULK_ADD_MAX`` and names the rule)."""


def _text(limit: int, description: str | None = None) -> Any:
    return text(EDGE_TEXT_MAX, description=description, extra_json_schema=documented(max_length=limit))


Title = Annotated[str, _text(TITLE_MAX, f"1 to {TITLE_MAX} characters")]
Description = Annotated[str, _text(DESCRIPTION_MAX)]
Artist = Annotated[str, _text(ARTIST_MAX, "Required for albums")]
CuratorNote = Annotated[str, _text(CURATOR_NOTE_MAX)]
Position = Annotated[int, Meta(description="1-based; beyond the end appends, below 1 puts it first")]


# --------------------------------------------------------------------------- requests


class CollectionIn(Input):
    title: Title
    collection_type: CollectionType = CollectionType.PLAYLIST
    description: Description | None = None
    artist: Artist | None = None
    curator_note: CuratorNote | None = None
    is_public: bool = False
    is_collaborative: bool = False

    def new(self) -> NewCollection:
        return NewCollection(
            title=self.title,
            collection_type=self.collection_type,
            description=self.description,
            artist=self.artist,
            curator_note=self.curator_note,
            is_public=self.is_public,
            is_collaborative=self.is_collaborative,
        )


class CollectionUpdateIn(Input):
    """A field left out stays as it is; ``null`` clears an optional text. Edit collaborators may
    change the descriptive fields and send the current value of the others."""

    title: Title | UnsetType | None = UNSET
    description: Description | UnsetType | None = UNSET
    artist: Artist | UnsetType | None = UNSET
    curator_note: CuratorNote | UnsetType | None = UNSET
    collection_type: CollectionType | UnsetType = UNSET
    is_public: bool | UnsetType = UNSET
    is_collaborative: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {name: value for name in self.__struct_fields__ if (value := getattr(self, name)) is not UNSET}


class TrackIn(Input):
    audio_file_id: int
    track_order: Position | None = None


class ReorderIn(Input):
    """``new_order`` (``track_order`` is accepted as the same)."""

    new_order: Position | None = None
    track_order: Position | None = None


class BulkAddIn(Input):
    audio_file_ids: Annotated[
        list[int],
        Meta(
            max_length=BULK_EDGE_MAX,
            description=f"1 to {BULK_ADD_MAX} ids, each once; added in this order",
            extra_json_schema=documented(min_length=1, max_length=BULK_ADD_MAX),
        ),
    ]


class CollaboratorIn(Input):
    """``user_id`` or ``username``."""

    user_id: int | None = None
    username: Annotated[str, text(EDGE_TEXT_MAX)] | None = None
    permission_level: Permission = Permission.VIEW


class CollaboratorUpdateIn(Input):
    permission_level: Permission


# --------------------------------------------------------------------------- responses


class CollaboratorOut(msgspec.Struct):
    id: int
    collection_id: int
    user_id: int
    permission_level: Permission
    added_date: datetime | None
    added_by_id: int | None
    user: PublicUserOut


class TrackOut(msgspec.Struct):
    id: Annotated[int, Meta(description="The track entry's id (used in `/tracks/{track_id}` paths)")]
    collection_id: int
    audio_file_id: int
    track_order: Annotated[int, Meta(description="1-based, contiguous")]
    added_date: datetime | None
    added_by_id: int | None
    audio_file: AudioOut


class CollectionOut(msgspec.Struct):
    """A collection in a list (its tracks left out)."""

    id: int
    title: str
    description: str | None
    collection_type: CollectionType
    artist: str | None
    curator_note: str | None
    cover_art_url: str | None
    is_public: bool
    is_collaborative: bool
    owner_id: int
    owner: PublicUserOut
    created_date: datetime | None
    updated_date: datetime | None
    track_count: int
    total_duration: Annotated[float, Meta(description="Seconds")]
    can_edit: Annotated[bool, Meta(description="Whether the caller may change it")]
    collaborators: list[CollaboratorOut]


class CollectionDetailOut(CollectionOut):
    """A single collection, with its tracks ordered by ``track_order``."""

    tracks: list[TrackOut]


class CollectionPage(msgspec.Struct):
    items: list[CollectionOut]
    total: int
    has_more: bool
    collections: Annotated[list[CollectionOut], Meta(description="The same as `items` (older clients read it)")]


class CollectionStatsOut(msgspec.Struct):
    """One user's collections counted (``albums``, ``playlists``, ``compilations`` repeat the
    ``total_*`` values)."""

    user_id: int
    username: str
    total_collections: int
    total_albums: int
    total_playlists: int
    total_compilations: int
    albums: int
    playlists: int
    compilations: int
    public_collections: int
    collaborative_collections: int


class CollectionCountsOut(msgspec.Struct):
    total_collections: int
    total_albums: int
    total_playlists: int
    total_compilations: int
    public_collections: int
    collaborative_collections: int


class DeletedCountOut(msgspec.Struct):
    message: str
    deleted_count: int


class CollectionTypeCounts(msgspec.Struct):
    album: int
    playlist: int
    compilation: int


class CollectionSummaryOut(msgspec.Struct):
    total_collections: int
    by_type: CollectionTypeCounts
    public_collections: int
    private_collections: int
    collaborative_collections: int
    total_tracks: Annotated[int, Meta(description="Track entries in all collections together")]
    recent: Annotated[list[CollectionOut], Meta(description="The newest collections (at most 5)")]


# --------------------------------------------------------------------------- presenters


_COLLECTION_FIELDS = frozenset(
    (
        "id", "title", "description", "collection_type", "artist", "curator_note", "cover_art_key",
        "is_public", "is_collaborative", "owner_id", "created_date", "updated_date",
    )
)  # fmt: skip
_COLLABORATOR_FIELDS = frozenset(field.name for field in dataclass_fields(Collaborator))
_AUDIO_KEYS = frozenset(("storage_key", "cover_art_key"))


class Presenter:
    """Maps the collections of one answer to their shapes, each user once, with the URLs the
    answer came with (``urls``, by key: the use case resolved them; a key missing is a bug)."""

    def __init__(self, urls: Mapping[str, str], annotate: Annotate | None = None) -> None:
        self._urls = urls
        self._people: dict[int, PublicUserOut] = {}
        self._annotate = annotate  # the caller's stars and plays on the tracks' files (None: anonymous)
        self._notes: dict[int, SongAnnotation] = {}

    def _person(self, user: User) -> PublicUserOut:
        assert user.id is not None
        shaped = self._people.get(user.id)
        if shaped is None:
            key = user.profile_picture_key
            shaped = self._people[user.id] = public_user_shape(user, self._urls[key] if key else None)
        return shaped

    async def _meet_tracks(self, tracks: list[TrackView]) -> None:
        """Find the caller's stars and plays on the tracks' files."""
        if self._annotate is not None and tracks:
            self._notes.update(await self._annotate([t.track.audio_file_id for t in tracks]))

    def _collaborator(self, view: CollaboratorView) -> CollaboratorOut:
        c = values_of(view.collaborator, _COLLABORATOR_FIELDS)
        assert c["id"] is not None and c["collection_id"] is not None
        return CollaboratorOut(
            id=c["id"],
            collection_id=c["collection_id"],
            user_id=c["user_id"],
            permission_level=c["permission_level"],
            added_date=utc(c["added_date"]),
            added_by_id=c["added_by_id"],
            user=self._person(view.user),
        )

    def collaborator(self, view: CollaboratorView) -> CollaboratorOut:
        return self._collaborator(view)

    def _track(self, view: TrackView) -> TrackOut:
        """Call ``_meet_tracks`` with the track first."""
        t = view.track
        assert t.id is not None and t.collection_id is not None
        audio_file = audio_shape(view.audio, self._person(view.audio_owner), self._urls)
        if self._annotate is not None:
            audio_file = annotated([audio_file], self._notes)[0]
        return TrackOut(
            id=t.id,
            collection_id=t.collection_id,
            audio_file_id=t.audio_file_id,
            track_order=t.track_order,
            added_date=utc(t.added_date),
            added_by_id=t.added_by_id,
            audio_file=audio_file,
        )

    async def track(self, view: TrackView) -> TrackOut:
        await self._meet_tracks([view])
        return self._track(view)

    async def tracks(self, views: Sequence[TrackView]) -> list[TrackOut]:
        await self._meet_tracks(list(views))
        return [self._track(view) for view in views]

    def _fields(self, view: CollectionView) -> dict[str, Any]:
        """Call ``_meet`` with the view first."""
        c = values_of(view.collection, _COLLECTION_FIELDS)
        assert c["id"] is not None
        key = c["cover_art_key"]
        return {
            "id": c["id"],
            "title": c["title"],
            "description": c["description"],
            "collection_type": c["collection_type"],
            "artist": c["artist"],
            "curator_note": c["curator_note"],
            "cover_art_url": self._urls[key] if key else None,
            "is_public": c["is_public"],
            "is_collaborative": c["is_collaborative"],
            "owner_id": c["owner_id"],
            "owner": self._person(view.owner),
            "created_date": utc(c["created_date"]),
            "updated_date": utc(c["updated_date"]),
            "track_count": view.totals.count,
            "total_duration": view.totals.duration,
            "can_edit": view.can_edit,
            "collaborators": [self._collaborator(x) for x in view.collaborators],
        }

    async def detail(self, view: CollectionView) -> CollectionDetailOut:
        tracks = view.tracks or []
        await self._meet_tracks(tracks)
        return CollectionDetailOut(**self._fields(view), tracks=[self._track(t) for t in tracks])

    def items(self, views: Iterable[CollectionView]) -> list[CollectionOut]:
        return [CollectionOut(**self._fields(view)) for view in views]


async def detail_out(detail: CollectionDetail, annotate: Annotate | None = None) -> CollectionDetailOut:
    """A collection's screen, with the URLs it came with, and the caller's stars and plays on its
    tracks' files when ``annotate`` finds them. What every caller shares is presented once per
    ``can_edit`` for the detail (``CollectionDetail.shapes``: kept as long as the detail is); the
    caller's annotations go on a copy."""
    key = ("json", detail.view.can_edit)
    shared: CollectionDetailOut | None = detail.shapes.get(key)
    if shared is None:
        shared = detail.shapes[key] = await Presenter(detail.urls).detail(detail.view)
    if annotate is None or not shared.tracks:
        return shared
    notes = await annotate([track.audio_file_id for track in shared.tracks])
    tracks = [
        msgspec.structs.replace(track, audio_file=annotated([track.audio_file], notes)[0]) for track in shared.tracks
    ]
    return msgspec.structs.replace(shared, tracks=tracks)


async def changed_out(changed: CollectionDetail, annotate: Annotate | None = None) -> CollectionDetailOut:
    """A change's answer (a new, updated or newly covered collection) with the URLs it came with."""
    return await Presenter(changed.urls, annotate).detail(changed.view)


async def track_out(added: TrackDetail, annotate: Annotate | None = None) -> TrackOut:
    return await Presenter(added.urls, annotate).track(added.track)


async def tracks_out(added: TrackList, annotate: Annotate | None = None) -> list[TrackOut]:
    return await Presenter(added.urls, annotate).tracks(added.tracks)


def collaborator_out(changed: CollaboratorDetail) -> CollaboratorOut:
    return Presenter(changed.urls).collaborator(changed.collaborator)


def collection_page(found: CollectionList) -> CollectionPage:
    items = Presenter(found.urls).items(found.items)
    return CollectionPage(**page_fields(items, found.total, found.skip), collections=items)


def stats_out(stats: CollectionStats) -> CollectionStatsOut:
    assert stats.user.id is not None
    counts = stats.counts
    return CollectionStatsOut(
        user_id=stats.user.id,
        username=stats.user.username,
        **msgspec.structs.asdict(counts_out(counts)),
        albums=counts.albums,
        playlists=counts.playlists,
        compilations=counts.compilations,
    )


def counts_out(counts: CollectionCounts) -> CollectionCountsOut:
    return CollectionCountsOut(
        total_collections=counts.total,
        total_albums=counts.albums,
        total_playlists=counts.playlists,
        total_compilations=counts.compilations,
        public_collections=counts.public,
        collaborative_collections=counts.collaborative,
    )


def summary_out(summary: CollectionSummary) -> CollectionSummaryOut:
    counts = summary.counts
    return CollectionSummaryOut(
        total_collections=counts.total,
        by_type=CollectionTypeCounts(album=counts.albums, playlist=counts.playlists, compilation=counts.compilations),
        public_collections=counts.public,
        private_collections=counts.total - counts.public,
        collaborative_collections=counts.collaborative,
        total_tracks=summary.tracks,
        recent=Presenter(summary.recent.urls).items(summary.recent.items),
    )
