"""The media feature's messages (``sono.application.media.messages``): serving stored objects, the
steps of the processes that store them and the periodic purge; and its reactions to domain events
(run by workers, at least once)."""

from __future__ import annotations

from sono.application.bus import Context, ProcessContext, handles
from sono.application.events import reacts_to
from sono.application.media.messages import (
    ORPHAN_AGE,
    AuthorizeMedia,
    ForgetPendingObjects,
    GetMediaInfo,
    MediaAccess,
    OpenMedia,
    OrphanedObjects,
    PurgeOrphanedObjects,
    ResizeImage,
)
from sono.application.media.ports import ObjectChunks, ObjectInfo, ObjectStorage
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.domain.events import ObjectsReleased
from sono.domain.media import ProcessedImage


class MediaReactions:
    def __init__(self, storage: ObjectStorage) -> None:
        self._storage = storage

    @reacts_to(ObjectsReleased)
    async def delete_released(self, event: ObjectsReleased, ctx: Context) -> None:
        """Remove objects no row points at any more. Idempotent (a missing key is fine); a storage
        failure raises, so the delivery is retried instead of leaving an orphan."""
        await self._storage.delete_many(list(event.keys))


class MediaHandlers:
    def __init__(self, storage: ObjectStorage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    @handles(ForgetPendingObjects)
    async def forget_pending(self, command: ForgetPendingObjects, ctx: Context) -> None:
        await ctx.uow.pending_objects.forget(command.keys)

    @handles(OrphanedObjects)
    async def orphaned(self, query: OrphanedObjects, ctx: Context) -> list[str]:
        return list(await ctx.uow.pending_objects.older_than(query.cutoff, query.limit))

    @handles(PurgeOrphanedObjects)
    async def purge_orphans(self, process: PurgeOrphanedObjects, ctx: ProcessContext) -> int:
        purged = 0
        cutoff = self._clock.now() - ORPHAN_AGE
        while keys := await ctx.send(OrphanedObjects(cutoff, process.batch)):
            await self._storage.delete_many(keys)
            await ctx.send(ForgetPendingObjects(tuple(keys)))
            purged += len(keys)
            if len(keys) < process.batch:
                break
        return purged


class MediaServing:
    """Stored objects for the entrypoints (no unit of work: the signer and the storage answer)."""

    def __init__(self, media: MediaService) -> None:
        self._media = media

    @handles(AuthorizeMedia)
    async def authorize(self, query: AuthorizeMedia, ctx: Context) -> MediaAccess:
        return await self._media.authorize(query.key, expires=query.expires, signature=query.signature)

    @handles(GetMediaInfo)
    async def info(self, query: GetMediaInfo, ctx: Context) -> ObjectInfo:
        return await self._media.info(query.key)

    @handles(OpenMedia)
    async def open(self, query: OpenMedia, ctx: Context) -> ObjectChunks:
        return await self._media.open(query.info.key, query.start, query.end)

    @handles(ResizeImage)
    async def resize(self, query: ResizeImage, ctx: Context) -> ProcessedImage:
        return await self._media.resized(query.info, query.max_side)
