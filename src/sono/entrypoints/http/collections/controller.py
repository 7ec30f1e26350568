"""Collections, their tracks, collaborators, cover art and ZIP download: ``/api/v1/collections``;
and the administrators' collection routes under ``/api/v1/admin``.

Reading routes serve anonymous callers too (public collections); the others need a signed-in
caller. Who may see or change a collection is the use case's decision: 404 for a collection the
caller may not see, 403 for one they see but may not change this way."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody
from litestar.response import Stream

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
    RemoveCollaborator,
    RemoveTrack,
    SetCollaboratorPermission,
    SetCollectionCover,
    StreamArchive,
    UpdateCollection,
)
from sono.domain.collections import CollectionType
from sono.domain.errors import FieldError, ValidationFailed
from sono.domain.media import IMAGE_MAX_BYTES, IMAGE_TOO_LARGE
from sono.entrypoints.http.audio.schemas import annotator
from sono.entrypoints.http.collections.schemas import (
    BulkAddIn,
    CollaboratorIn,
    CollaboratorOut,
    CollaboratorUpdateIn,
    CollectionCountsOut,
    CollectionDetailOut,
    CollectionIn,
    CollectionPage,
    CollectionStatsOut,
    CollectionSummaryOut,
    CollectionUpdateIn,
    DeletedCountOut,
    ReorderIn,
    TrackIn,
    TrackOut,
    changed_out,
    collaborator_out,
    collection_page,
    counts_out,
    detail_out,
    stats_out,
    summary_out,
    track_out,
    tracks_out,
)
from sono.entrypoints.http.openapi import BEARER, errors, file_upload_operation
from sono.entrypoints.http.routes import delete, get, post, put
from sono.entrypoints.http.schemas import Id, Limit, MessageOut, Skip
from sono.entrypoints.http.security import Acting, AppContainer, Bus, admin_only, signed_in
from sono.entrypoints.http.uploads import receive_upload

COLLECTION_DELETED = "Collection deleted successfully"
TRACK_REMOVED = "Track removed from collection"
COLLABORATOR_REMOVED = "Collaborator removed"
COLLECTIONS_DELETED = "Deleted {count} collections"
ORDER_REQUIRED = "Field required"
ZIP = "application/zip"

TypeFilter = Annotated[CollectionType | None, FromQuery]


def attachment(filename: str) -> str:
    """``Content-Disposition`` for a download: an ASCII fallback and the RFC 6266 ``filename*``."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class CollectionsController(Controller):
    path = "/api/v1/collections"
    tags = ["Collections"]

    # ------------------------------------------------------------------ lists

    @get("/", summary="Collections the caller can see", responses=errors(401, 422))
    async def list_collections(
        self,
        bus: Bus,
        actor: Acting,
        skip: Skip = 0,
        limit: Limit = 100,
        collection_type: TypeFilter = None,
        public_only: FromQuery[bool] = False,
    ) -> CollectionPage:
        """Anonymous, or with `public_only=true`: public collections. Signed in: the caller's own,
        those shared with them and the public ones. Newest first."""
        page = await bus(ListCollections(public_only, collection_type, skip, limit), actor)
        return collection_page(page)

    @get(
        "/my-collections",
        summary="The caller's own collections",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def my_collections(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> CollectionPage:
        page = await bus(ListOwnCollections(skip, limit), actor)
        return collection_page(page)

    @get(
        "/collaborative",
        summary="Collections shared with the caller",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def shared_with_me(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> CollectionPage:
        page = await bus(ListSharedCollections(skip, limit), actor)
        return collection_page(page)

    async def _public_of_type(
        self, bus: Bus, actor: Acting, kind: CollectionType, skip: int, limit: int
    ) -> CollectionPage:
        page = await bus(ListPublicCollections(kind, skip, limit), actor)
        return collection_page(page)

    @get("/albums", summary="Public albums", responses=errors(401, 422))
    async def albums(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> CollectionPage:
        return await self._public_of_type(bus, actor, CollectionType.ALBUM, skip, limit)

    @get("/playlists", summary="Public playlists", responses=errors(401, 422))
    async def playlists(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> CollectionPage:
        return await self._public_of_type(bus, actor, CollectionType.PLAYLIST, skip, limit)

    @get("/compilations", summary="Public compilations", responses=errors(401, 422))
    async def compilations(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> CollectionPage:
        return await self._public_of_type(bus, actor, CollectionType.COMPILATION, skip, limit)

    @get(
        "/stats",
        summary="The caller's collection statistics",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401),
    )
    async def my_stats(self, bus: Bus, actor: Acting) -> CollectionStatsOut:
        return stats_out(await bus(GetCollectionStats(), actor))

    # ------------------------------------------------------------------ one collection

    @post(
        "/",
        summary="Create a collection",
        status_code=201,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def create(self, data: JSONBody[CollectionIn], bus: Bus, actor: Acting) -> CollectionDetailOut:
        """`album` requires `artist`."""
        view = await bus(CreateCollection(data.new()), actor)
        return await changed_out(view, annotator(bus, actor))

    @get("/{collection_id:int}", summary="A collection with its tracks", responses=errors(401, 404))
    async def get_collection(self, collection_id: Id, bus: Bus, actor: Acting) -> CollectionDetailOut:
        detail = await bus(GetCollection(collection_id), actor)
        return await detail_out(detail, annotator(bus, actor))

    @put(
        "/{collection_id:int}",
        summary="Update a collection",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 422),
    )
    async def update(
        self,
        collection_id: Id,
        data: JSONBody[CollectionUpdateIn],
        bus: Bus,
        actor: Acting,
    ) -> CollectionDetailOut:
        """Edit collaborators may change `title`, `description`, `artist` and `curator_note`, and
        send the current values of `is_public`, `is_collaborative` and `collection_type`; only the
        owner (or an admin) changes those. The result must satisfy its type (`album` needs `artist`)."""
        view = await bus(UpdateCollection(collection_id, data.changes()), actor)
        return await changed_out(view, annotator(bus, actor))

    @delete(
        "/{collection_id:int}",
        summary="Delete a collection",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404),
    )
    async def delete_collection(self, collection_id: Id, bus: Bus, actor: Acting) -> MessageOut:
        await bus(DeleteCollection(collection_id), actor)
        return MessageOut(COLLECTION_DELETED)

    @post(
        "/{collection_id:int}/cover-art",
        summary="Set a collection's cover art",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        request_max_body_size=None,  # the upload enforces its own limit while streaming
        operation_class=file_upload_operation("PNG, JPG or WebP, at most 5 MB"),
        responses=errors(401, 403, 404, 413, 415, 422),
    )
    async def upload_cover(
        self, collection_id: Id, request: Request[Any, Any, Any], bus: Bus, actor: Acting, container: AppContainer
    ) -> CollectionDetailOut:
        async with receive_upload(
            request, max_bytes=IMAGE_MAX_BYTES, too_large=IMAGE_TOO_LARGE, spool_dir=container.settings.upload_dir
        ) as upload:
            view = await bus(SetCollectionCover(collection_id, upload.file), actor)
        return await changed_out(view, annotator(bus, actor))

    @get(
        "/{collection_id:int}/download",
        summary="The collection's tracks as a ZIP archive",
        media_type=ZIP,
        responses={
            200: ResponseSpec(
                data_container=bytes,
                generate_examples=False,
                media_type=ZIP,
                description="`NN - title.ext` per track, in order (streamed; stored, not recompressed)",
            ),
            **errors(401, 404),
        },
    )
    async def download(self, collection_id: Id, bus: Bus, actor: Acting) -> Stream:
        archive = await bus(GetCollectionArchive(collection_id), actor)
        zipped = await bus(StreamArchive(archive), actor)
        return Stream(
            zipped,
            media_type=ZIP,
            headers={"Content-Disposition": attachment(archive.filename), "Cache-Control": "private, no-store"},
        )

    # ------------------------------------------------------------------ tracks

    @post(
        "/{collection_id:int}/tracks",
        summary="Add a track",
        status_code=201,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 409, 422),
    )
    async def add_track(self, collection_id: Id, data: JSONBody[TrackIn], bus: Bus, actor: Acting) -> TrackOut:
        """The caller must be able to see the audio file (their own or a public one). With
        `track_order` it is inserted there (beyond the end appends), else appended."""
        view = await bus(AddTrack(collection_id, data.audio_file_id, data.track_order), actor)
        return await track_out(view, annotator(bus, actor))

    @post(
        "/{collection_id:int}/tracks/bulk-add",
        summary="Add several tracks at once",
        status_code=201,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 409, 422),
    )
    async def bulk_add(self, collection_id: Id, data: JSONBody[BulkAddIn], bus: Bus, actor: Acting) -> list[TrackOut]:
        """Up to 100 ids, appended in order, all or nothing: if any cannot be added, nothing is
        and the answer names them (404 unknown or not visible, 409 already present, 422 repeated)."""
        views = await bus(AddTracks(collection_id, tuple(data.audio_file_ids)), actor)
        return await tracks_out(views, annotator(bus, actor))

    @delete(
        "/{collection_id:int}/tracks/{track_id:int}",
        summary="Remove a track",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404),
    )
    async def remove_track(self, collection_id: Id, track_id: Id, bus: Bus, actor: Acting) -> MessageOut:
        await bus(RemoveTrack(collection_id, track_id), actor)
        return MessageOut(TRACK_REMOVED)

    @put(
        "/{collection_id:int}/tracks/{track_id:int}/reorder",
        summary="Move a track",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 422),
    )
    async def reorder(
        self,
        collection_id: Id,
        track_id: Id,
        data: JSONBody[ReorderIn],
        bus: Bus,
        actor: Acting,
    ) -> TrackOut:
        """`{"new_order": N}` (or `{"track_order": N}`) moves the track there and shifts the rest."""
        position = data.new_order if data.new_order is not None else data.track_order
        if position is None:
            raise ValidationFailed([FieldError("new_order", ORDER_REQUIRED, "missing")])
        view = await bus(MoveTrack(collection_id, track_id, position), actor)
        return await track_out(view, annotator(bus, actor))

    # ------------------------------------------------------------------ collaborators

    @post(
        "/{collection_id:int}/collaborators",
        summary="Add a collaborator",
        status_code=201,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 409, 422),
    )
    async def add_collaborator(
        self, collection_id: Id, data: JSONBody[CollaboratorIn], bus: Bus, actor: Acting
    ) -> CollaboratorOut:
        """By `user_id` or `username`: an active user, not the owner (400), not already one (409),
        on a collaborative collection (400)."""
        message = AddCollaborator(collection_id, data.permission_level, data.user_id, data.username)
        return collaborator_out(await bus(message, actor))

    @put(
        "/{collection_id:int}/collaborators/{user_id:int}",
        summary="Change a collaborator's permission",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404, 422),
    )
    async def update_collaborator(
        self,
        collection_id: Id,
        user_id: Id,
        data: JSONBody[CollaboratorUpdateIn],
        bus: Bus,
        actor: Acting,
    ) -> CollaboratorOut:
        view = await bus(SetCollaboratorPermission(collection_id, user_id, data.permission_level), actor)
        return collaborator_out(view)

    @delete(
        "/{collection_id:int}/collaborators/{user_id:int}",
        summary="Remove a collaborator",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 403, 404),
    )
    async def remove_collaborator(self, collection_id: Id, user_id: Id, bus: Bus, actor: Acting) -> MessageOut:
        await bus(RemoveCollaborator(collection_id, user_id), actor)
        return MessageOut(COLLABORATOR_REMOVED)


class CollectionAdminController(Controller):
    """The administrators' collection routes (the rest of ``/api/v1/admin`` is another feature's)."""

    path = "/api/v1/admin"
    tags = ["Admin"]
    guards = [admin_only]
    security = BEARER

    @get("/collections/stats", summary="Collections counted", responses=errors(401, 403))
    async def stats(self, bus: Bus, actor: Acting) -> CollectionCountsOut:
        return counts_out(await bus(CountCollections(), actor))

    @get(
        "/collections/summary",
        summary="Collections by type and visibility, tracks, the newest",
        responses=errors(401, 403),
    )
    async def summary(self, bus: Bus, actor: Acting) -> CollectionSummaryOut:
        return summary_out(await bus(GetCollectionSummary(), actor))

    @get("/collections/recent", summary="Every collection, newest first", responses=errors(401, 403, 422))
    async def recent(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 20) -> CollectionPage:
        page = await bus(ListAllCollections(skip, limit), actor)
        return collection_page(page)

    @get(
        "/users/{user_id:int}/collections/stats",
        summary="A user's collections counted",
        responses=errors(401, 403, 404),
    )
    async def user_stats(self, user_id: Id, bus: Bus, actor: Acting) -> CollectionStatsOut:
        return stats_out(await bus(GetUserCollectionStats(user_id), actor))

    @delete(
        "/users/{user_id:int}/collections/all",
        summary="Delete all of a user's collections",
        status_code=200,
        responses=errors(401, 403, 404),
    )
    async def delete_all(self, user_id: Id, bus: Bus, actor: Acting) -> DeletedCountOut:
        deleted = await bus(DeleteUserCollections(user_id), actor)
        return DeletedCountOut(message=COLLECTIONS_DELETED.format(count=deleted), deleted_count=deleted)
