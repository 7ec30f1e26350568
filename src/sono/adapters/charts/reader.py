"""The ``ChartsReader`` port on the charts database (PostgreSQL or SQLite), read only."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sono.adapters.charts.engines import CONNECT_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS, reader_engine
from sono.adapters.charts.layouts import Chart, Layout, LayoutUnknown, detect
from sono.application.charts.ports import ArtistCandidates
from sono.domain.charts import MonthlyListeners, Song, StreamedArtist
from sono.domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

UNAVAILABLE = "Kworb charts database unavailable"
NO_CHARTS = "Kworb charts database has no charts"

READ_TIMEOUT_SECONDS = CONNECT_TIMEOUT_SECONDS + STATEMENT_TIMEOUT_SECONDS
"""Longest a read may take, waiting for a connection included; then it is ``ServiceUnavailable``."""
LAYOUT_TTL_SECONDS = 60.0
"""How long a detected layout is trusted: an import may create Sono's tables meanwhile."""


class SqlChartsReader:
    """Reads the charts in whichever layout the database has (detected on first use, again every
    ``LAYOUT_TTL_SECONDS``). Every failure to reach or read the database (refused connection,
    missing SQLite file, timeout, no chart tables) is ``ServiceUnavailable``, never a hang."""

    def __init__(self, engine: AsyncEngine, *, timeout: float | None = None) -> None:
        self._engine = engine
        self._timeout = READ_TIMEOUT_SECONDS if timeout is None else timeout
        self._layout: Layout | None = None
        self._detected_at = 0.0

    @classmethod
    def from_url(cls, url: str) -> SqlChartsReader:
        return cls(reader_engine(url))

    async def aclose(self) -> None:
        await self._engine.dispose()

    async def check(self) -> None:
        """Readiness: the database answers and holds charts. Raises ``ServiceUnavailable``."""
        await self._read(_nothing)

    async def top_streamed_artists(self, *, limit: int, offset: int) -> list[StreamedArtist]:
        return await self._read(lambda layout, connection: _page(layout.top_streamed, connection, limit, offset))

    async def monthly_listeners(self, *, limit: int, offset: int) -> list[MonthlyListeners]:
        return await self._read(lambda layout, connection: _page(layout.monthly_listeners, connection, limit, offset))

    async def top_songs(self, *, limit: int, offset: int) -> list[Song]:
        return await self._read(lambda layout, connection: _page(layout.top_songs, connection, limit, offset))

    async def find_artist(self, name: str, *, limit: int) -> ArtistCandidates:
        return await self._read(lambda layout, connection: layout.find_artist(connection, name, limit))

    async def _read(self, work: Callable[[Layout, AsyncConnection], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as connection:
                return await work(await self._layout_of(connection), connection)
        except LayoutUnknown as exc:
            self._layout = None
            log.warning("Kworb charts database: %s", exc)
            raise ServiceUnavailable(NO_CHARTS) from exc
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            self._layout = None  # detected again next time: the database may have changed
            log.warning("Kworb charts database unavailable: %s", _describe(exc))
            raise ServiceUnavailable(UNAVAILABLE) from exc

    async def _layout_of(self, connection: AsyncConnection) -> Layout:
        now = time.monotonic()
        if self._layout is None or now - self._detected_at > LAYOUT_TTL_SECONDS:
            layout = await connection.run_sync(detect)
            if layout.name != getattr(self._layout, "name", None):
                log.info("Kworb charts database: %s layout", layout.name)
            self._layout, self._detected_at = layout, now
        return self._layout


async def _nothing(layout: Layout, connection: AsyncConnection) -> None:
    return None


async def _page(chart: Chart[R] | None, connection: AsyncConnection, limit: int, offset: int) -> list[R]:
    return [] if chart is None else await chart.page(connection, limit, offset)


def _describe(exc: BaseException) -> str:
    """The error's type and first line (SQLAlchemy's messages go on with the statement)."""
    cause = getattr(exc, "orig", None) or exc
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__
