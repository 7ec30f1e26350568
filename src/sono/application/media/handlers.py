"""The media feature's steps (``sono.application.media.messages``) and its reactions to domain
events (run by workers, at least once)."""

from __future__ import annotations

from sono.application.bus import Context, ProcessContext, handles
from sono.application.events import reacts_to
from sono.application.media.messages import ORPHAN_AGE, ForgetPendingObjects, OrphanedObjects, PurgeOrphanedObjects
from sono.application.media.ports import ObjectStorage
from sono.application.ports import Clock
from sono.domain.events import ObjectsReleased


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
