"""The collection use cases as the unit tests call them: each call is a message sent through the
bus for the caller (a principal's actor, or an anonymous or admin ``Viewer`` as an actor), and
answers what the handler answered (``get``: the collection's view)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from sono.application.bus import MessageBus
from sono.application.collections.messages import (
    AddCollaborator,
    AddTrack,
    AddTracks,
    Archive,
    CollectionStats,
    CountCollections,
    CreateCollection,
    DeleteCollection,
    DeleteUserCollections,
    EditCollection,
    GetCollection,
    GetCollectionArchive,
    GetCollectionStats,
    GetUserCollectionStats,
    ListCollections,
    ListOwnCollections,
    ListPublicCollections,
    ListSharedCollections,
    MoveTrack,
    NewCollection,
    RemoveCollaborator,
    RemoveTrack,
    SetCollaboratorPermission,
    SetCollectionCover,
    UpdateCollection,
)
from sono.application.collections.ports import CollectionCounts, Listing, Scope
from sono.application.collections.views import CollaboratorView, CollectionView, TrackView
from sono.application.common import Principal
from sono.application.messages import ANONYMOUS, Actor, Message
from sono.application.values import Page
from sono.bootstrap import Container
from sono.domain.access import Viewer
from sono.domain.collections import CollectionType, Permission

Caller = Principal | Viewer | Actor


def actor_of(caller: Caller) -> Actor:
    if isinstance(caller, Actor):
        return caller
    if isinstance(caller, Principal):
        return caller.actor
    return Actor.user(caller.user_id, is_admin=caller.is_admin) if caller.user_id is not None else ANONYMOUS


class Collections:
    def __init__(self, app: Container) -> None:
        self.bus: MessageBus = app.bus

    async def send(self, message: Message[Any], caller: Caller) -> Any:
        return await self.bus(message, actor_of(caller))

    async def get(self, caller: Caller, collection_id: int) -> CollectionView:
        return (await self.send(GetCollection(collection_id), caller)).view

    async def page(self, caller: Caller, listing: Listing, *, skip: int, limit: int) -> Page[CollectionView]:
        messages: dict[Scope, Message[Page[CollectionView]]] = {
            Scope.OWNED: ListOwnCollections(skip, limit),
            Scope.SHARED: ListSharedCollections(skip, limit),
            Scope.VISIBLE: ListCollections(False, listing.collection_type, skip, limit),
        }
        if listing.scope is Scope.PUBLIC:
            assert listing.collection_type is not None
            return await self.send(ListPublicCollections(listing.collection_type, skip, limit), caller)
        assert listing.scope is not Scope.VISIBLE or actor_of(caller).user_id == listing.user_id
        return await self.send(messages[listing.scope], caller)

    async def library(
        self, caller: Caller, *, public_only: bool, collection_type: CollectionType | None, skip: int, limit: int
    ) -> Page[CollectionView]:
        return await self.send(ListCollections(public_only, collection_type, skip, limit), caller)

    async def stats(self, caller: Caller) -> CollectionStats:
        return await self.send(GetCollectionStats(), caller)

    async def archive(self, caller: Caller, collection_id: int) -> Archive:
        return await self.send(GetCollectionArchive(collection_id), caller)

    async def create(self, caller: Caller, new: NewCollection, audio_file_ids: Sequence[int] = ()) -> CollectionView:
        return await self.send(CreateCollection(new, tuple(audio_file_ids)), caller)

    async def update(self, caller: Caller, collection_id: int, changes: Mapping[str, Any]) -> CollectionView:
        return await self.send(UpdateCollection(collection_id, changes), caller)

    async def edit(
        self,
        caller: Caller,
        collection_id: int,
        changes: Mapping[str, Any],
        *,
        remove_positions: Sequence[int] = (),
        add_ids: Sequence[int] = (),
        replace_tracks: bool = False,
    ) -> CollectionView:
        message = EditCollection(collection_id, changes, tuple(remove_positions), tuple(add_ids), replace_tracks)
        return await self.send(message, caller)

    async def delete(self, caller: Caller, collection_id: int) -> None:
        await self.send(DeleteCollection(collection_id), caller)

    async def set_cover(self, caller: Caller, collection_id: int, image: BinaryIO) -> CollectionView:
        return await self.send(SetCollectionCover(collection_id, image), caller)

    async def add_track(
        self, caller: Caller, collection_id: int, audio_file_id: int, position: int | None = None
    ) -> TrackView:
        return await self.send(AddTrack(collection_id, audio_file_id, position), caller)

    async def add_tracks(self, caller: Caller, collection_id: int, audio_file_ids: Sequence[int]) -> list[TrackView]:
        return await self.send(AddTracks(collection_id, tuple(audio_file_ids)), caller)

    async def remove_track(self, caller: Caller, collection_id: int, track_id: int) -> None:
        await self.send(RemoveTrack(collection_id, track_id), caller)

    async def move_track(self, caller: Caller, collection_id: int, track_id: int, position: int) -> TrackView:
        return await self.send(MoveTrack(collection_id, track_id, position), caller)

    async def add_collaborator(
        self,
        caller: Caller,
        collection_id: int,
        permission: Permission,
        *,
        user_id: int | None = None,
        username: str | None = None,
    ) -> CollaboratorView:
        return await self.send(AddCollaborator(collection_id, permission, user_id, username), caller)

    async def set_collaborator_permission(
        self, caller: Caller, collection_id: int, user_id: int, permission: Permission
    ) -> CollaboratorView:
        return await self.send(SetCollaboratorPermission(collection_id, user_id, permission), caller)

    async def remove_collaborator(self, caller: Caller, collection_id: int, user_id: int) -> None:
        await self.send(RemoveCollaborator(collection_id, user_id), caller)


class CollectionAdmin:
    """The administrators' messages, sent for an admin ``caller``."""

    def __init__(self, app: Container, caller: Caller) -> None:
        self.bus, self.actor = app.bus, actor_of(caller)

    async def stats(self) -> CollectionCounts:
        return await self.bus(CountCollections(), self.actor)

    async def user_stats(self, user_id: int) -> CollectionStats:
        return await self.bus(GetUserCollectionStats(user_id), self.actor)

    async def delete_all(self, caller: Caller, user_id: int) -> int:
        return await self.bus(DeleteUserCollections(user_id), actor_of(caller))
