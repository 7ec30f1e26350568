"""What the collection screens show, read in a fixed number of statements whatever their size: a
list page is the page, its collaborators, the track totals of its collections and the people on
it; a single collection is the aggregate (with its tracks and collaborators), the audio files of
its tracks and the people on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sono.application.collections.ports import TrackTotals
from sono.application.uow import UnitOfWork
from sono.domain.access import Viewer
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection, CollectionTrack
from sono.domain.users import User


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


def collaborator_views(collection: Collection, people: dict[int, User]) -> list[CollaboratorView]:
    return [CollaboratorView(c, people[c.user_id]) for c in collection.collaborators if c.user_id in people]


async def detail(uow: UnitOfWork, viewer: Viewer, collection: Collection) -> CollectionView | None:
    """The whole collection with its tracks; None when its owner is gone. Two statements beyond
    loading the aggregate: its files, then everyone shown (owner, collaborators, file owners)."""
    files = await uow.audio_files.get_many(collection.audio_file_ids)
    wanted = {collection.owner_id, *(c.user_id for c in collection.collaborators)}
    people = await uow.collection_queries.users(wanted | {audio.owner_id for audio in files.values()})
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
        collaborator_views(collection, people),
        TrackTotals(len(tracks), duration),
        collection.editable_by(viewer),
        tracks,
    )


async def cards(uow: UnitOfWork, viewer: Viewer, collections: Sequence[Collection]) -> list[CollectionView]:
    """List items (collaborators and totals, no tracks): two statements for the whole page."""
    if not collections:
        return []
    totals = await uow.collection_queries.track_totals([c.id for c in collections if c.id is not None])
    wanted = {c.owner_id for c in collections} | {x.user_id for c in collections for x in c.collaborators}
    people = await uow.collection_queries.users(wanted)
    return [
        CollectionView(
            collection,
            people[collection.owner_id],
            collaborator_views(collection, people),
            totals.get(collection.id or 0, TrackTotals()),
            collection.editable_by(viewer),
        )
        for collection in collections
        if collection.owner_id in people
    ]
