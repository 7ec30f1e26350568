"""What the collection screens show, read in a fixed number of statements whatever their size: a
list page is the page with its owners and track totals, then its collaborators with their users
(a count only for a page beyond the end); a single collection is itself with its owner, its
tracks with their files and the files' owners, and its collaborators with their users."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sono.application.values import Page
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.users import User


@dataclass(frozen=True, slots=True)
class TrackTotals:
    """How many tracks a collection holds and their total duration in seconds (files without a
    known duration count as 0)."""

    count: int = 0
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class Listed:
    """One collection of a list page as the read side finds it: the collection with its
    collaborators (its tracks are not loaded: ``tracks`` is empty), its owner, its track totals and
    the users of its collaborators by id."""

    collection: Collection
    owner: User
    totals: TrackTotals = TrackTotals()
    people: Mapping[int, User] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Shown:
    """A collection as its own screen shows it: the aggregate (its tracks in order and its
    collaborators), the audio files of its tracks and everyone on it (owner, collaborators, the
    files' owners), by id."""

    collection: Collection
    files: Mapping[int, AudioFile]
    people: Mapping[int, User]
    version: int | None = None
    """The same number while nothing the collection shows changed, another one after any change
    (None: unknown, what is made of it is not kept). Numbers are the reader's (``CollectionCatalog``
    counts the changes it sees); they name a state only together with the collection's id."""


@dataclass(frozen=True, slots=True)
class TrackView:
    track: CollectionTrack
    audio: AudioFile
    audio_owner: User


@dataclass(frozen=True, slots=True)
class CollaboratorView:
    collaborator: Collaborator
    user: User


@dataclass(frozen=True, slots=True)
class CollectionView:
    """A collection as a caller sees it. ``tracks`` is None in lists (they show the totals)."""

    collection: Collection
    owner: User
    collaborators: list[CollaboratorView]
    totals: TrackTotals
    can_edit: bool
    tracks: list[TrackView] | None = None


@dataclass(frozen=True, slots=True)
class CollectionDetail:
    """A collection as its own screen shows it to a caller (``view``, with its tracks), and the URL
    of every stored object it shows by key: its cover, its tracks' files and their covers, and the
    pictures of everyone on it. Every URL an entrypoint needs is here: it only shapes."""

    view: CollectionView
    urls: Mapping[str, str]
    shapes: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    """What entrypoints made of this detail (the JSON API's answer for each ``can_edit``, before the
    caller's own stars and plays), made once: they are kept with the detail, as long as it is (the
    same state of the collection and the same URLs), and shared by every caller's copy of it."""

    def for_viewer(self, viewer: Viewer) -> CollectionDetail:
        """The same detail with the viewer's ``can_edit`` (sharing everything else)."""
        view = as_seen_by(viewer, self.view)
        return self if view is self.view else CollectionDetail(view, self.urls, self.shapes)


@dataclass(frozen=True, slots=True)
class CollectionList(Page[CollectionView]):
    """A page of collections as the lists show them (collaborators and totals, no tracks), and
    the URL of every stored object they show by key: their covers and the pictures of their owners
    and collaborators. Every URL an entrypoint needs is here: it only shapes."""

    urls: Mapping[str, str] = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class TrackDetail:
    """A track as a change answers it (``AddTrack``, ``MoveTrack``), and the URLs of what it
    shows by key: its file, the file's cover and the picture of the file's owner."""

    track: TrackView
    urls: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class TrackList:
    """Tracks as a change answers them (``AddTracks``), in order, and the URLs of what they show."""

    tracks: Sequence[TrackView]
    urls: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CollaboratorDetail:
    """A collaborator as a change answers them, and the URL of their picture by key (none: empty)."""

    collaborator: CollaboratorView
    urls: Mapping[str, str]


def listed_keys(views: Iterable[CollectionView]) -> list[str]:
    """The keys of the stored objects the collections of a list show (see ``CollectionList``)."""
    return list(dict.fromkeys(key for view in views for key in shown_keys(view)))


def shown_keys(view: CollectionView) -> list[str]:
    """The keys of the stored objects a collection's screen shows (see ``CollectionDetail``)."""
    people = [view.owner, *(c.user for c in view.collaborators), *(t.audio_owner for t in view.tracks or ())]
    keys = [view.collection.cover_art_key, *(p.profile_picture_key for p in people)]
    for track in view.tracks or ():
        keys += (track.audio.storage_key, track.audio.cover_art_key)
    return [key for key in dict.fromkeys(keys) if key]


def track_keys(tracks: Iterable[TrackView]) -> list[str]:
    """The keys of the stored objects tracks show: their files, covers and owners' pictures."""
    keys = [
        key for t in tracks for key in (t.audio.storage_key, t.audio.cover_art_key, t.audio_owner.profile_picture_key)
    ]
    return [key for key in dict.fromkeys(keys) if key]


def collaborator_views(collection: Collection, people: dict[int, User]) -> list[CollaboratorView]:
    return [CollaboratorView(c, people[c.user_id]) for c in collection.collaborators if c.user_id in people]


def assemble(viewer: Viewer, shown: Shown) -> CollectionView | None:
    """The whole collection with its tracks as the viewer sees it; None when its owner is gone."""
    seen = whole(shown)
    return None if seen is None else as_seen_by(viewer, seen)


def whole(shown: Shown) -> CollectionView | None:
    """The whole collection with its tracks, the same for every caller (``can_edit`` false: see
    ``as_seen_by``); None when its owner is gone."""
    collection, files, people = shown.collection, shown.files, shown.people
    owner = people.get(collection.owner_id)
    if owner is None:
        return None
    tracks = [
        TrackView(track, files[track.audio_file_id], people[files[track.audio_file_id].owner_id])
        for track in collection.tracks
        if track.audio_file_id in files and files[track.audio_file_id].owner_id in people
    ]
    duration = sum(view.audio.duration or 0.0 for view in tracks)
    return CollectionView(
        collection,
        owner,
        collaborator_views(collection, dict(people)),
        TrackTotals(len(tracks), duration),
        False,
        tracks,
    )


def as_seen_by(viewer: Viewer, seen: CollectionView) -> CollectionView:
    """``seen`` with what depends on the caller (``can_edit``); it shares everything else (the same
    lists and objects)."""
    can_edit = seen.collection.editable_by(viewer)
    return seen if can_edit == seen.can_edit else replace(seen, can_edit=can_edit)


def cards(viewer: Viewer, found: Sequence[Listed]) -> list[CollectionView]:
    """List items (collaborators and totals, no tracks) as the viewer sees them."""
    return [
        CollectionView(
            listed.collection,
            listed.owner,
            collaborator_views(listed.collection, dict(listed.people)),
            listed.totals,
            listed.collection.editable_by(viewer),
        )
        for listed in found
    ]
