"""Reading the charts: pages of each chart and an artist search across the three."""

from __future__ import annotations

from sono.application.charts.ports import ChartsReader
from sono.domain.charts import (
    LIMIT_DEFAULT,
    LIMIT_MAX,
    LIMIT_MIN,
    NAME_MAX,
    SEARCH_RESULTS_MAX,
    ArtistSearch,
    MonthlyListeners,
    Song,
    StreamedArtist,
    best_matches,
)
from sono.domain.errors import FieldError, ServiceUnavailable, ValidationFailed

NOT_CONFIGURED = "Kworb database not configured"

LIMIT_RANGE = f"Limit must be between {LIMIT_MIN} and {LIMIT_MAX}"
OFFSET_NEGATIVE = "Offset must be at least 0"
NAME_EMPTY = "Artist name must not be empty"
NAME_TOO_LONG = f"Artist name must be at most {NAME_MAX} characters"
NAME_NUL = "Artist name must not contain NUL characters"

OFFSET_MAX = 2**63 - 1
"""Beyond this (the databases' largest integer) no chart has rows: the answer is empty."""


class ChartsService:
    """The charts, read through ``reader``; without one (``KWORB_DATABASE_URL`` unset) every read
    answers ``ServiceUnavailable(NOT_CONFIGURED)``. Refused values are named ``limit``, ``offset``
    and ``artist_name``."""

    def __init__(self, reader: ChartsReader | None) -> None:
        self._reader = reader

    @property
    def configured(self) -> bool:
        return self._reader is not None

    async def top_streamed_artists(
        self,
        limit: int = LIMIT_DEFAULT,
        offset: int = 0,
    ) -> list[StreamedArtist]:
        reader = self._page_reader(limit, offset)
        if offset > OFFSET_MAX:
            return []
        return await reader.top_streamed_artists(limit=limit, offset=offset)

    async def monthly_listeners(
        self,
        limit: int = LIMIT_DEFAULT,
        offset: int = 0,
    ) -> list[MonthlyListeners]:
        reader = self._page_reader(limit, offset)
        if offset > OFFSET_MAX:
            return []
        return await reader.monthly_listeners(limit=limit, offset=offset)

    async def top_songs(
        self,
        limit: int = LIMIT_DEFAULT,
        offset: int = 0,
    ) -> list[Song]:
        reader = self._page_reader(limit, offset)
        if offset > OFFSET_MAX:
            return []
        return await reader.top_songs(limit=limit, offset=offset)

    async def search(self, name: str) -> ArtistSearch:
        """The artist ``name`` (part of it, ignoring case, taken literally) in each chart: at most
        ``SEARCH_RESULTS_MAX`` per chart, exact matches first, then by rank."""
        problems = []
        if not name:
            problems.append(NAME_EMPTY)
        elif len(name) > NAME_MAX:
            problems.append(NAME_TOO_LONG)
        if "\x00" in name:
            problems.append(NAME_NUL)
        if problems:
            raise ValidationFailed([FieldError("artist_name", problem) for problem in problems])
        found = await self._configured().find_artist(name, limit=SEARCH_RESULTS_MAX)
        return ArtistSearch(
            top_streamed=best_matches(name, found.top_streamed),
            monthly_listeners=best_matches(name, found.monthly_listeners),
            top_songs=best_matches(name, found.top_songs),
        )

    def _page_reader(self, limit: int, offset: int) -> ChartsReader:
        problems = []
        if not LIMIT_MIN <= limit <= LIMIT_MAX:
            problems.append(FieldError("limit", LIMIT_RANGE))
        if offset < 0:
            problems.append(FieldError("offset", OFFSET_NEGATIVE))
        if problems:
            raise ValidationFailed(problems)
        return self._configured()

    def _configured(self) -> ChartsReader:
        if self._reader is None:
            raise ServiceUnavailable(NOT_CONFIGURED)
        return self._reader
