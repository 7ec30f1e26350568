"""The ``ChartsWriter`` port: Sono's charts schema in the charts database, replaced whole."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sono.adapters.charts import schema
from sono.adapters.charts.engines import writer_engine
from sono.application.charts.ports import ChartSnapshot
from sono.domain.charts import ChartImportFailed, fold

BATCH_ROWS = 1000


class SqlChartsWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    def from_url(cls, url: str) -> SqlChartsWriter:
        return cls(writer_engine(url))

    async def aclose(self) -> None:
        await self._engine.dispose()

    async def replace(self, snapshot: ChartSnapshot) -> None:
        """Create the schema if needed, then delete the previous snapshot and insert this one, all in
        one transaction. Raises ``ChartImportFailed`` when the database cannot be written."""
        try:
            await self._replace(snapshot)
        except (SQLAlchemyError, OSError) as exc:
            cause = getattr(exc, "orig", None) or exc
            reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            raise ChartImportFailed(f"cannot write the charts database: {reason}") from exc

    async def _replace(self, snapshot: ChartSnapshot) -> None:
        at = snapshot.scraped_at
        async with self._engine.begin() as connection:
            await connection.run_sync(schema.metadata.create_all)
            indexes = await schema.create_substring_indexes(connection)
            await _replace(
                connection,
                schema.top_streamed_artists,
                (
                    {
                        "rank": row.rank,
                        "artist": row.artist,
                        "artist_key": fold(row.artist),
                        "streams": row.streams,
                        "daily": row.daily,
                        "as_lead": row.as_lead,
                        "solo": row.solo,
                        "as_feature": row.as_feature,
                        "scraped_at": at,
                    }
                    for row in snapshot.top_streamed
                ),
            )
            await _replace(
                connection,
                schema.monthly_listeners,
                (
                    {
                        "rank": row.rank,
                        "artist": row.artist,
                        "artist_key": fold(row.artist),
                        "listeners": row.listeners,
                        "peak": row.peak,
                        "peak_date": row.peak_date,
                        "scraped_at": at,
                    }
                    for row in snapshot.monthly_listeners
                ),
            )
            await _replace(
                connection,
                schema.top_songs,
                (
                    {
                        "rank": row.rank,
                        "title": row.title,
                        "artist": row.artist,
                        "artist_key": fold(row.artist),
                        "streams": row.streams,
                        "daily": row.daily,
                        "scraped_at": at,
                    }
                    for row in snapshot.top_songs
                ),
            )
            await schema.rebuild_substring_indexes(connection, indexes)


async def _replace(connection: AsyncConnection, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    await connection.execute(delete(table))
    batch: list[Mapping[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            await connection.execute(insert(table), batch)
            batch = []
    if batch:
        await connection.execute(insert(table), batch)
