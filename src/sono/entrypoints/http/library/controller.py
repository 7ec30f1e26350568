"""The library: ``/api/v1/library`` (artists, albums, genres) and ``/api/v1/search``.

Open to anonymous callers (they see what is public); a signed-in caller sees more (their own files,
those shared with them through collections). What each caller sees, counts and finds is the use
cases' decision (``sono.application.library``); this module maps the query parameters and presents
the answers (songs in the audio shape)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller
from litestar.params import PathParameter, QueryParameter

from sono.application.library.messages import (
    ListAlbums,
    ListArtists,
    ListGenres,
    Search,
    ShowAlbum,
    ShowAlbums,
    ShowArtist,
    ShowArtists,
    ShowSearch,
)
from sono.domain.audio import GENRE_MAX, YEAR_MAX, YEAR_MIN
from sono.domain.errors import FieldError, ValidationFailed
from sono.domain.library import SEARCH_QUERY_MAX, AlbumSort, SearchKind
from sono.entrypoints.http.errors import field_locations
from sono.entrypoints.http.library.schemas import (
    AlbumDetailOut,
    AlbumPage,
    ArtistDetailOut,
    ArtistPage,
    GenrePage,
    SearchOut,
    album_detail,
    album_page,
    artist_detail,
    artist_page,
    genre_page,
    search_out,
)
from sono.entrypoints.http.openapi import errors
from sono.entrypoints.http.routes import get
from sono.entrypoints.http.schemas import ID_MAX, Limit, QueryText, Skip
from sono.entrypoints.http.security import Acting, Bus

UNKNOWN_KIND = "Unknown kind: {kind} (expected songs, albums, artists, collections, users)"
KINDS = ",".join(kind.value for kind in SearchKind)

ArtistId = Annotated[int, PathParameter(ge=1, le=ID_MAX, description="An artist's id")]
AlbumId = Annotated[int, PathParameter(ge=1, le=ID_MAX, description="An album's id")]
Year = Annotated[int | None, QueryParameter(ge=YEAR_MIN, le=YEAR_MAX, required=False)]


def parse_kinds(kinds: str | None) -> frozenset[SearchKind]:
    """``kinds`` as the use case takes them: comma-separated names (blanks ignored); all by default."""
    if kinds is None or not kinds.strip():
        return frozenset(SearchKind)
    chosen = set()
    for name in (part.strip().lower() for part in kinds.split(",")):
        if not name:
            continue
        try:
            chosen.add(SearchKind(name))
        except ValueError:
            raise ValidationFailed([FieldError("kinds", UNKNOWN_KIND.format(kind=name[:50]), "enum")]) from None
    return frozenset(chosen) or frozenset(SearchKind)


class LibraryController(Controller):
    path = "/api/v1/library"
    tags = ["Library"]

    @get("/artists", summary="Artists with songs you may see, by name", responses=errors(401, 422))
    async def artists(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> ArtistPage:
        return artist_page(await bus(ShowArtists(ListArtists(skip, limit)), actor))

    @get("/artists/{artist_id:int}", summary="An artist and its albums", responses=errors(401, 404, 422))
    async def artist(self, bus: Bus, actor: Acting, artist_id: ArtistId) -> ArtistDetailOut:
        return artist_detail(await bus(ShowArtist(artist_id), actor))

    @get(
        "/albums",
        summary="Albums with songs you may see",
        opt=field_locations(skip="query", limit="query"),
        responses=errors(401, 422),
    )
    async def albums(
        self,
        bus: Bus,
        actor: Acting,
        sort: Annotated[
            Literal["name", "artist", "year", "newest"], QueryParameter(description="The order (default: name)")
        ] = "name",
        artist_id: Annotated[int | None, QueryParameter(ge=1, le=ID_MAX, required=False)] = None,
        genre: Annotated[QueryText | None, QueryParameter(max_length=GENRE_MAX, required=False)] = None,
        from_year: Year = None,
        to_year: Year = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> AlbumPage:
        query = ListAlbums(AlbumSort(sort), artist_id, genre, from_year, to_year, skip, limit)
        return album_page(await bus(ShowAlbums(query), actor))

    @get("/albums/{album_id:int}", summary="An album and its songs", responses=errors(401, 404, 422))
    async def album(self, bus: Bus, actor: Acting, album_id: AlbumId) -> AlbumDetailOut:
        return album_detail(await bus(ShowAlbum(album_id), actor))

    @get("/genres", summary="Genres of the songs you may see, by name", responses=errors(401, 422))
    async def genres(self, bus: Bus, actor: Acting, skip: Skip = 0, limit: Limit = 100) -> GenrePage:
        return genre_page(await bus(ListGenres(skip, limit), actor))


class SearchController(Controller):
    path = "/api/v1/search"
    tags = ["Library"]

    @get(
        "/",
        summary="Search songs, albums, artists, collections and users (ranked: exact, prefix, word, substring)",
        opt=field_locations(q="query", kinds="query", skip="query", limit="query"),
        responses=errors(401, 422),
    )
    async def search(
        self,
        bus: Bus,
        actor: Acting,
        q: Annotated[
            QueryText,
            QueryParameter(min_length=1, max_length=SEARCH_QUERY_MAX, description="1 to 200 characters"),
        ],
        kinds: Annotated[
            QueryText | None, QueryParameter(max_length=200, required=False, description=f"Any of {KINDS}")
        ] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> SearchOut:
        results = await bus(ShowSearch(Search(q, parse_kinds(kinds), skip, limit)), actor)
        return search_out(results)
