"""Stars and plays (Core statements: their rows are values, not mapped entities)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import case, delete, select

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, repository
from sono.adapters.sqlalchemy.tables.annotations import play_counts, stars
from sono.domain.annotations import PlayCount, Star, StarKind

_ID_MAX = 2**31 - 1


def _ids(ids: Iterable[int]) -> list[int]:
    return sorted({i for i in ids if 0 < i <= _ID_MAX})


@repository("annotations")
class SqlAnnotationRepository(SqlRepository):
    async def star(self, user_id: int, kind: StarKind, item_ids: Sequence[int], at: datetime) -> None:
        rows = [{"user_id": user_id, "item_type": kind, "item_id": i, "starred_at": at} for i in _ids(item_ids)]
        if rows:
            await self.session.execute(self._insert_statement(stars).values(rows).on_conflict_do_nothing())

    async def unstar(self, user_id: int, kind: StarKind, item_ids: Sequence[int]) -> None:
        wanted = _ids(item_ids)
        if wanted:
            c = stars.c
            await self.session.execute(
                delete(stars).where(c.user_id == user_id, c.item_type == kind, c.item_id.in_(wanted))
            )

    async def stars_of(self, user_id: int) -> list[Star]:
        c = stars.c
        statement = (
            select(c.item_type, c.item_id, c.starred_at)
            .where(c.user_id == user_id)
            .order_by(c.starred_at.desc(), c.item_type, c.item_id)
        )
        rows = await self.session.execute(statement)
        return [Star(user_id, StarKind(kind), item_id, at) for kind, item_id, at in rows]

    async def record_play(self, user_id: int, audio_file_id: int, at: datetime) -> None:
        c = play_counts.c
        insert = self._insert_statement(play_counts).values(
            user_id=user_id, audio_file_id=audio_file_id, count=1, last_played=at
        )
        # after_listen, in the statement: concurrent listens of the same file are all counted
        later = insert.excluded.last_played > c.last_played
        await self.session.execute(
            insert.on_conflict_do_update(
                index_elements=[c.user_id, c.audio_file_id],
                set_={
                    "count": c.count + 1,
                    "last_played": case((later, insert.excluded.last_played), else_=c.last_played),
                },
            )
        )

    async def plays_of(self, user_id: int) -> list[PlayCount]:
        c = play_counts.c
        statement = (
            select(c.audio_file_id, c.count, c.last_played)
            .where(c.user_id == user_id)
            .order_by(c.last_played.desc(), c.audio_file_id)
        )
        rows = await self.session.execute(statement)
        return [PlayCount(user_id, audio_id, count, at) for audio_id, count, at in rows]

    async def forget_stars(self, kind: StarKind, item_ids: Sequence[int]) -> None:
        wanted = _ids(item_ids)
        if wanted:
            c = stars.c
            await self.session.execute(delete(stars).where(c.item_type == kind, c.item_id.in_(wanted)))
