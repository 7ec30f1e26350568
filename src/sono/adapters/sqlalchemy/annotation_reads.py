"""``SongAnnotations``: the caller's stars and plays of the files on a screen, read outside units
of work (through ``sono.adapters.sqlalchemy.reads``, like the audio catalog): one statement, no
transaction, added to a page only for a signed-in caller.

The statement is compiled once per dialect: the ids travel as one parameter (an ``int[]`` on
PostgreSQL, a JSON array read by ``json_each`` on SQLite), whatever their number."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, any_, bindparam, cast, func, literal_column, null, select
from sqlalchemy.dialects import postgresql

from sono.adapters.sqlalchemy.reads import Reads, timestamp
from sono.adapters.sqlalchemy.tables import UtcDateTime
from sono.adapters.sqlalchemy.tables.annotations import play_counts, stars
from sono.domain.annotations import SongAnnotation

_ID_MAX = 2**31 - 1
_USER = bindparam("user_id", type_=Integer)


def _among(column: ColumnElement[int], sqlite: bool) -> ColumnElement[bool]:
    if sqlite:
        ids: Any = select(literal_column("value")).select_from(func.json_each(bindparam("ids", type_=String)))
        return column.in_(ids.scalar_subquery())
    return column == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))


def _statement(sqlite: bool) -> Any:
    s, p = stars.c, play_counts.c
    starred = select(
        s.item_id.label("id"),
        s.starred_at.label("starred"),
        cast(null(), Integer).label("count"),
        cast(null(), UtcDateTime()).label("last_played"),
    ).where(s.user_id == _USER, s.item_type == literal_column("'song'"), _among(s.item_id, sqlite))
    played = select(p.audio_file_id, cast(null(), UtcDateTime()), p.count, p.last_played).where(
        p.user_id == _USER, _among(p.audio_file_id, sqlite)
    )
    return starred.union_all(played)


class SqlSongAnnotations:
    """The ``SongAnnotations`` port on ``reads``."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        self._sqlite = reads.dialect.name == "sqlite"
        self._query = reads.query(_statement(self._sqlite))

    async def songs(self, user_id: int, audio_ids: Iterable[int]) -> dict[int, SongAnnotation]:
        wanted = sorted({i for i in audio_ids if 0 < i <= _ID_MAX})
        if not wanted:
            return {}
        ids: Any = json.dumps(wanted) if self._sqlite else wanted
        found: dict[int, dict[str, Any]] = {}
        for audio_id, starred_at, count, last_played in await self._reads.fetch_all(
            self._query, user_id=user_id, ids=ids
        ):
            entry = found.setdefault(audio_id, {"starred": None, "play_count": 0, "last_played": None})
            if starred_at is not None:
                entry["starred"] = timestamp(starred_at)
            if count is not None:
                entry["play_count"], entry["last_played"] = count, timestamp(last_played)
        return {audio_id: SongAnnotation(**entry) for audio_id, entry in found.items()}
