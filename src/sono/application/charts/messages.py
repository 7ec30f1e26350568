"""What entrypoints may ask of the charts (anyone may): a page of each chart, and an artist
searched across the three. Refused values are named ``limit``, ``offset`` and ``artist_name``;
without a charts database every message answers ``ServiceUnavailable``."""

from __future__ import annotations

from dataclasses import dataclass

from sono.application.messages import Query
from sono.domain.charts import LIMIT_DEFAULT, ArtistSearch, MonthlyListeners, Song, StreamedArtist


@dataclass(frozen=True, slots=True)
class TopStreamedArtists(Query[list[StreamedArtist]]):
    limit: int = LIMIT_DEFAULT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TopMonthlyListeners(Query[list[MonthlyListeners]]):
    limit: int = LIMIT_DEFAULT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TopSongs(Query[list[Song]]):
    limit: int = LIMIT_DEFAULT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SearchArtist(Query[ArtistSearch]):
    """The artist named ``artist`` (part of the name, ignoring case, taken literally) in each chart."""

    artist: str
