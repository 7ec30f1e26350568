"""Collections as administrators see them: statistics (aggregate queries, a fixed number of
statements), every collection newest first, and removing all of one user's collections."""

from __future__ import annotations

from dataclasses import dataclass

from sono.application.collections.ports import CollectionCounts, Listing, Scope
from sono.application.collections.service import USER_NOT_FOUND, CollectionStats, bounded_skip, known_id
from sono.application.collections.views import CollectionView, cards
from sono.application.common import Page, Principal, audit
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import NotFound
from sono.domain.gdpr import AuditEvent
from sono.domain.users import User

SUMMARY_RECENT = 5


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """``GET /admin/collections/summary``: counts by type and visibility, tracks in all
    collections, and the newest few."""

    counts: CollectionCounts
    tracks: int
    recent: list[CollectionView]


class CollectionAdminService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, media: MediaService) -> None:
        self._uow = uow
        self._clock = clock
        self._media = media

    async def stats(self) -> CollectionCounts:
        async with self._uow(read_only=True) as uow:
            return await uow.collection_queries.counts()

    async def user_stats(self, user_id: int) -> CollectionStats:
        async with self._uow(read_only=True) as uow:
            user = await _user(uow, user_id)
            return CollectionStats(user, await uow.collection_queries.counts(owner_id=user_id))

    async def recent(self, principal: Principal, *, skip: int, limit: int) -> Page[CollectionView]:
        """Every collection (deactivated owners' too), newest first."""
        async with self._uow(read_only=True) as uow:
            page = await uow.collection_queries.page(Listing(Scope.ALL), skip=bounded_skip(skip), limit=limit)
            return Page(cards(principal.viewer, page.items), page.total, page.skip)

    async def summary(self, principal: Principal) -> CollectionSummary:
        async with self._uow(read_only=True) as uow:
            counts = await uow.collection_queries.counts()
            tracks = await uow.collection_queries.track_entries()
            page = await uow.collection_queries.page(Listing(Scope.ALL), skip=0, limit=SUMMARY_RECENT)
            recent = cards(principal.viewer, page.items)
        return CollectionSummary(counts, tracks, recent)

    async def delete_all(self, principal: Principal, user_id: int) -> int:
        """Delete every collection of the user (tracks and collaborators with them), then their
        covers; the number deleted."""
        async with self._uow() as uow:
            await _user(uow, user_id, lock=True)
            deleted = (await uow.collection_queries.counts(owner_id=user_id)).total
            covers = await uow.collections.delete_for_owner(user_id)
            await audit(
                uow,
                self._clock,
                AuditEvent.ADMIN_ACTION,
                user_id=user_id,
                actor_id=principal.user_id,
                action="delete_all_collections",
                deleted_count=deleted,
            )
            await self._media.release(uow, covers)
            await uow.commit()
        return deleted


async def _user(uow: UnitOfWork, user_id: int, *, lock: bool = False) -> User:
    user = await uow.users.get(user_id, for_update=lock) if known_id(user_id) else None
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user
