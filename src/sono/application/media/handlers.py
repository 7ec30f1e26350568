"""The media feature's steps (``sono.application.media.messages``) and its reactions to domain
events (run by workers, at least once)."""

from __future__ import annotations

from sono.application.bus import Context, handles
from sono.application.events import reacts_to
from sono.application.media.messages import ForgetPendingObjects
from sono.application.media.ports import ObjectStorage
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
    @handles(ForgetPendingObjects)
    async def forget_pending(self, command: ForgetPendingObjects, ctx: Context) -> None:
        await ctx.uow.pending_objects.forget(command.keys)
