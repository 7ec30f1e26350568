"""Kworb's Spotify charts: ``/api/v1/kworb``. Anonymous routes: the messages are sent for an anonymous
caller, so a bearer token sent along (the web app sends its own, possibly expired, on every call) is
never looked at."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from litestar import Controller, Request
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from sono.application.charts.messages import SearchArtist, TopMonthlyListeners, TopSongs, TopStreamedArtists
from sono.application.messages import ANONYMOUS
from sono.domain.charts import LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN, NAME_MAX, SEARCH_RESULTS_MAX
from sono.domain.errors import ValidationFailed
from sono.entrypoints.http.charts.schemas import (
    ArtistSearchOut,
    MonthlyListenersOut,
    SongOut,
    StreamedArtistOut,
    artist_search_out,
    monthly_listeners_out,
    song_out,
    streamed_artist_out,
)
from sono.entrypoints.http.errors import field_locations
from sono.entrypoints.http.openapi import errors
from sono.entrypoints.http.routes import get
from sono.entrypoints.http.schemas import ErrorBody
from sono.entrypoints.http.security import Bus

PATH = "/api/v1/kworb"
ARTIST_ROUTE = f"{PATH}/artist/"
NAME_NOT_UTF8 = "Artist name must be valid UTF-8"

Limit = Annotated[
    int,
    QueryParameter(
        description=f"Rows to return ({LIMIT_MIN} to {LIMIT_MAX})",
        schema_extra={"minimum": LIMIT_MIN, "maximum": LIMIT_MAX},
    ),
]
Offset = Annotated[int, QueryParameter(description="Rows to skip", schema_extra={"minimum": 0})]
ArtistName = Annotated[
    str,
    PathParameter(
        description=(
            f"Part of an artist's name, ignoring case (at most {NAME_MAX} characters; `%` and `_` are"
            " no wildcards; a `/` is sent as `%2F`)"
        ),
        schema_extra={"minLength": 1, "maxLength": NAME_MAX},
    ),
]

RESPONSES = {
    **errors(422),
    503: ResponseSpec(
        data_container=ErrorBody,
        generate_examples=False,
        description="The Kworb database is not configured or unreachable, or maintenance mode (see `Retry-After`)",
    ),
}


def requested_name(request: Request[Any, Any, Any], routed: str) -> str:
    """The artist name exactly as sent, decoded from the raw path: there a ``%2F`` stays apart from
    the path's own slashes, where the routed value went through the router's normalisation (slashes
    merged, a trailing one dropped, a leading one added)."""
    raw = request.scope.get("raw_path")
    if raw:
        _, found, tail = bytes(raw).partition(ARTIST_ROUTE.encode())
        if found:
            try:
                return unquote_to_bytes(tail).decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed.single("artist_name", NAME_NOT_UTF8) from None
    return routed.removeprefix("/")


class ChartsController(Controller):
    path = PATH
    tags = ["Kworb"]
    opt = field_locations(limit="query", offset="query", artist_name="path")

    @get(
        "/top-streamed-artists",
        summary="The most streamed artists on Spotify, by rank",
        responses=RESPONSES,
    )
    async def top_streamed_artists(
        self, bus: Bus, limit: Limit = LIMIT_DEFAULT, offset: Offset = 0
    ) -> list[StreamedArtistOut]:
        return [streamed_artist_out(row) for row in await bus(TopStreamedArtists(limit, offset), ANONYMOUS)]

    @get(
        "/monthly-listeners",
        summary="The artists with the most monthly listeners on Spotify, by rank",
        responses=RESPONSES,
    )
    async def monthly_listeners(
        self, bus: Bus, limit: Limit = LIMIT_DEFAULT, offset: Offset = 0
    ) -> list[MonthlyListenersOut]:
        return [monthly_listeners_out(row) for row in await bus(TopMonthlyListeners(limit, offset), ANONYMOUS)]

    @get(
        "/top-songs",
        summary="The most streamed songs on Spotify, by rank",
        responses=RESPONSES,
    )
    async def top_songs(self, bus: Bus, limit: Limit = LIMIT_DEFAULT, offset: Offset = 0) -> list[SongOut]:
        return [song_out(row) for row in await bus(TopSongs(limit, offset), ANONYMOUS)]

    @get(
        "/artist/{artist_name:path}",
        summary="An artist in the three charts",
        description=(
            f"Case-insensitive and partial: at most {SEARCH_RESULTS_MAX} rows per chart, the artists named exactly"
            " so first, then by rank."
        ),
        responses=RESPONSES,
    )
    async def artist(self, request: Request[Any, Any, Any], bus: Bus, artist_name: ArtistName) -> ArtistSearchOut:
        return artist_search_out(await bus(SearchArtist(requested_name(request, artist_name)), ANONYMOUS))

    @get("/artist", include_in_schema=False)
    async def artist_of_slashes(self, request: Request[Any, Any, Any], bus: Bus) -> ArtistSearchOut:
        """A name of slashes only (``%2F``...) is routed here: the router drops trailing slashes."""
        return artist_search_out(await bus(SearchArtist(requested_name(request, "")), ANONYMOUS))
