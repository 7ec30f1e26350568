"""Reactions of the media feature to domain events (run by workers, at least once)."""

from __future__ import annotations

from sono.application.bus import Context
from sono.application.events import reacts_to
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
