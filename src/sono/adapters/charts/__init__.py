"""Kworb's charts on SQL databases: the read-only reader the API uses, the importer's writer, the
HTML page parser and source. ``build_charts`` and ``build_importer`` are what the composition root
and the command line call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from sono.adapters.charts.reader import SqlChartsReader
from sono.application.charts import ChartImporter
from sono.config import Settings

CHECK_NAME = "charts"


@dataclass
class ChartsCheck:
    """The readiness check of the charts database (the ``HealthCheck`` port)."""

    reader: SqlChartsReader
    name: str = CHECK_NAME
    essential: bool = False  # the charts answer 503 by themselves; the rest of the API serves

    async def check(self) -> None:
        await self.reader.check()


def build_charts(settings: Settings) -> tuple[SqlChartsReader | None, ChartsCheck | None]:
    """The charts reader and its readiness check, or ``(None, None)`` without
    ``KWORB_DATABASE_URL``. The caller closes the reader (``aclose``) at shutdown."""
    if not settings.kworb_database_url:
        return None, None
    reader = SqlChartsReader.from_url(settings.kworb_database_url)
    return reader, ChartsCheck(reader)


def import_database_url(settings: Settings) -> str:
    """Where ``sono kworb import`` writes: ``KWORB_DATABASE_URL``, else the SQLite file
    ``$SONO_DATA_DIR/kworb.db``."""
    if settings.kworb_database_url:
        return settings.kworb_database_url
    return f"sqlite+aiosqlite:///{(Path(settings.data_dir) / 'kworb.db').resolve()}"


def display_url(url: str) -> str:
    """``url`` as an operator writes it in ``KWORB_DATABASE_URL`` (plain scheme, no password)."""
    parsed = make_url(url)
    return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)


@asynccontextmanager
async def charts_importer(url: str, *, fetch_timeout: float = 30.0) -> AsyncIterator[ChartImporter]:
    """The importer of Kworb's pages (URLs fetched with ``fetch_timeout`` seconds) into the charts database at
    ``url``, whose engine is disposed of afterwards."""
    from sono.adapters.charts.html import KworbPageParser
    from sono.adapters.charts.pages import UrlOrFilePageSource
    from sono.adapters.charts.writer import SqlChartsWriter
    from sono.adapters.clock import SystemClock

    writer = SqlChartsWriter.from_url(url)
    try:
        yield ChartImporter(UrlOrFilePageSource(timeout=fetch_timeout), KworbPageParser(), writer, SystemClock().now)
    finally:
        await writer.aclose()
