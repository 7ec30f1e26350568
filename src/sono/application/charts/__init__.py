"""Kworb's Spotify charts: reading them (``ChartsService``) from a second, read-only database, and
importing Kworb's chart pages into Sono's own charts schema (``ChartImporter``)."""

from sono.application.charts.importing import KWORB_PAGES, ChartImporter, ChartSources, ImportReport
from sono.application.charts.ports import (
    ArtistCandidates,
    ChartPageParser,
    ChartPageSource,
    ChartSnapshot,
    ChartsReader,
    ChartsWriter,
)
from sono.application.charts.service import NOT_CONFIGURED, ChartsService

__all__ = [
    "KWORB_PAGES",
    "NOT_CONFIGURED",
    "ArtistCandidates",
    "ChartImporter",
    "ChartPageParser",
    "ChartPageSource",
    "ChartSnapshot",
    "ChartSources",
    "ChartsReader",
    "ChartsService",
    "ChartsWriter",
    "ImportReport",
]
