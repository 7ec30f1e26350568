"""The charts' handlers: the rules of ``ChartsService`` (pages, the artist search) on the charts
database's reader. The charts live in a database of their own: nothing here uses the unit of work."""

from __future__ import annotations

from sono.application.bus import Context, handles
from sono.application.charts.messages import SearchArtist, TopMonthlyListeners, TopSongs, TopStreamedArtists
from sono.application.charts.service import ChartsService
from sono.domain.charts import ArtistSearch, MonthlyListeners, Song, StreamedArtist


class ChartHandlers:
    def __init__(self, charts: ChartsService) -> None:
        self._charts = charts

    @handles(TopStreamedArtists)
    async def top_streamed_artists(self, query: TopStreamedArtists, ctx: Context) -> list[StreamedArtist]:
        return await self._charts.top_streamed_artists(query.limit, query.offset)

    @handles(TopMonthlyListeners)
    async def monthly_listeners(self, query: TopMonthlyListeners, ctx: Context) -> list[MonthlyListeners]:
        return await self._charts.monthly_listeners(query.limit, query.offset)

    @handles(TopSongs)
    async def top_songs(self, query: TopSongs, ctx: Context) -> list[Song]:
        return await self._charts.top_songs(query.limit, query.offset)

    @handles(SearchArtist)
    async def search(self, query: SearchArtist, ctx: Context) -> ArtistSearch:
        return await self._charts.search(query.artist)
