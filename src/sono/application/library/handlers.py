"""The library's queries: each one read of the library repository with the caller's visibility
specification (``visible_songs``), checked bounds, and NotFound for what the caller cannot see."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence

from sono.application.accounts.views import user_views
from sono.application.audio.handlers import AudioPresenter
from sono.application.audio.ports import AudioView, OwnedAudio
from sono.application.bus import Context, handles
from sono.application.collections.views import CollectionList, CollectionView, cards, listed_keys
from sono.application.library.messages import (
    LIMIT_MAX,
    AlbumCard,
    AlbumDetail,
    AlbumScreen,
    AlbumView,
    ArtistCard,
    ArtistDetail,
    ArtistScreen,
    ArtistView,
    CoverArt,
    GenreView,
    GetAlbum,
    GetAlbums,
    GetArtist,
    GetArtists,
    GetSong,
    GetSongs,
    ListAlbums,
    ListArtists,
    ListGenres,
    ListSongs,
    Search,
    SearchResults,
    SearchScreen,
    ShowAlbum,
    ShowAlbums,
    ShowArtist,
    ShowArtists,
    ShowSearch,
    SongView,
)
from sono.application.library.ports import AlbumFilter
from sono.application.media.service import MediaService
from sono.application.values import Page, Problems
from sono.domain.audio import AUDIO_NOT_FOUND
from sono.domain.errors import NotFound
from sono.domain.library import (
    ALBUM_NOT_FOUND,
    ARTIST_NOT_FOUND,
    PLAYED_SORTS,
    SEARCH_QUERY_MAX,
    SEED_MAX,
    AlbumSort,
    SearchKind,
    search_query,
    visible_collections,
    visible_songs,
)
from sono.domain.users import User

ID_MAX = 2**31 - 1
SKIP_MAX = 2**31 - 1
QUERY_LENGTH = f"Query must be 1 to {SEARCH_QUERY_MAX} characters"


def _check_page(skip: int, limit: int) -> None:
    problems = Problems()
    if not 0 <= skip <= SKIP_MAX:
        problems.check("skip", ["skip must be at least 0"])
    if not 1 <= limit <= LIMIT_MAX:
        problems.check("limit", [f"limit must be between 1 and {LIMIT_MAX}"])
    problems.raise_if_any()


def _check_ids(ids: tuple[int, ...]) -> None:
    if len(ids) > LIMIT_MAX:
        problems = Problems()
        problems.check("ids", [f"At most {LIMIT_MAX} ids"])
        problems.raise_if_any()


class LibraryPresenter:
    """The library's reads as the screens show them: covers', files' and pictures' URLs resolved
    through the media port, each key and each owner once per answer."""

    def __init__(self, media: MediaService) -> None:
        self._media = media
        self._audio = AudioPresenter(media)

    async def _covers(self, covers: Sequence[CoverArt | None]) -> dict[str, str]:
        return await self._media.urls(cover.key for cover in covers if cover is not None)

    async def artists(self, views: Sequence[ArtistView]) -> list[ArtistCard]:
        urls = await self._covers([view.cover for view in views])
        return [ArtistCard(view, urls[view.cover.key] if view.cover else None) for view in views]

    async def albums(self, views: Sequence[AlbumView]) -> list[AlbumCard]:
        urls = await self._covers([view.cover for view in views])
        return [AlbumCard(view, urls[view.cover.key] if view.cover else None) for view in views]

    async def songs(self, views: Sequence[SongView]) -> list[AudioView]:
        return await self._audio.views([OwnedAudio(view.audio, view.owner) for view in views])


class LibraryHandlers:
    def __init__(self, media: MediaService, seeds: Callable[[], int] | None = None) -> None:
        self._seeds = seeds or (lambda: random.randrange(SEED_MAX))
        self._media = media
        self._present = LibraryPresenter(media)

    def _seed(self, seed: int | None) -> int:
        return self._seeds() if seed is None else seed % SEED_MAX

    @handles(ListArtists)
    async def artists(self, query: ListArtists, ctx: Context) -> Page[ArtistView]:
        _check_page(query.skip, query.limit)
        return await ctx.uow.library.artists(visible_songs(ctx.actor.viewer), skip=query.skip, limit=query.limit)

    @handles(GetArtist)
    async def artist(self, query: GetArtist, ctx: Context) -> ArtistDetail:
        visible = visible_songs(ctx.actor.viewer)
        found = await ctx.uow.library.artist(visible, query.artist_id) if 0 < query.artist_id <= ID_MAX else None
        if found is None:
            raise NotFound(ARTIST_NOT_FOUND)
        albums = await ctx.uow.library.albums(
            visible, AlbumFilter(artist_id=found.id), AlbumSort.NAME, 0, skip=0, limit=ID_MAX
        )
        return ArtistDetail(found, list(albums.items))

    @handles(ListAlbums)
    async def albums(self, query: ListAlbums, ctx: Context) -> Page[AlbumView]:
        _check_page(query.skip, query.limit)
        where = AlbumFilter(query.artist_id, query.genre, query.from_year, query.to_year)
        if query.sort in PLAYED_SORTS:  # the caller's own listens, never anyone else's
            if ctx.actor.user_id is None:
                return Page([], 0, query.skip)
            where = dataclasses.replace(where, played_by=ctx.actor.user_id)
        visible = visible_songs(ctx.actor.viewer)
        seed = self._seed(query.seed)
        return await ctx.uow.library.albums(visible, where, query.sort, seed, skip=query.skip, limit=query.limit)

    @handles(GetAlbum)
    async def album(self, query: GetAlbum, ctx: Context) -> AlbumDetail:
        visible = visible_songs(ctx.actor.viewer)
        found = await ctx.uow.library.album(visible, query.album_id) if 0 < query.album_id <= ID_MAX else None
        if found is None:
            raise NotFound(ALBUM_NOT_FOUND)
        return AlbumDetail(found, await ctx.uow.library.album_songs(visible, found.id))

    @handles(ListGenres)
    async def genres(self, query: ListGenres, ctx: Context) -> Page[GenreView]:
        _check_page(query.skip, query.limit)
        return await ctx.uow.library.genres(visible_songs(ctx.actor.viewer), skip=query.skip, limit=query.limit)

    @handles(ListSongs)
    async def songs(self, query: ListSongs, ctx: Context) -> Page[SongView]:
        _check_page(query.skip, query.limit)
        visible = visible_songs(ctx.actor.viewer)
        seed = self._seed(query.seed)
        return await ctx.uow.library.songs(visible, query.genre, query.order, seed, skip=query.skip, limit=query.limit)

    @handles(GetSong)
    async def song(self, query: GetSong, ctx: Context) -> SongView:
        found = await ctx.uow.library.songs_by_id(visible_songs(ctx.actor.viewer), [query.audio_id])
        if not found:
            raise NotFound(AUDIO_NOT_FOUND)
        return found[0]

    @handles(GetSongs)
    async def songs_by_id(self, query: GetSongs, ctx: Context) -> list[SongView]:
        _check_ids(query.audio_ids)
        return await ctx.uow.library.songs_by_id(visible_songs(ctx.actor.viewer), query.audio_ids)

    @handles(GetAlbums)
    async def albums_by_id(self, query: GetAlbums, ctx: Context) -> list[AlbumView]:
        _check_ids(query.album_ids)
        return await ctx.uow.library.albums_by_id(visible_songs(ctx.actor.viewer), query.album_ids)

    @handles(GetArtists)
    async def artists_by_id(self, query: GetArtists, ctx: Context) -> list[ArtistView]:
        _check_ids(query.artist_ids)
        return await ctx.uow.library.artists_by_id(visible_songs(ctx.actor.viewer), query.artist_ids)

    @handles(Search)
    async def search(self, query: Search, ctx: Context) -> SearchResults:
        _check_page(query.skip, query.limit)
        text = search_query(query.q)
        if not text or len(query.q) > SEARCH_QUERY_MAX:
            problems = Problems()
            problems.check("q", [QUERY_LENGTH])
            problems.raise_if_any()
        visible = visible_songs(ctx.actor.viewer)
        library, skip, limit = ctx.uow.library, query.skip, query.limit
        kinds = query.kinds
        return SearchResults(
            songs=await library.search_songs(visible, text, skip=skip, limit=limit)
            if SearchKind.SONGS in kinds
            else None,
            albums=await library.search_albums(visible, text, skip=skip, limit=limit)
            if SearchKind.ALBUMS in kinds
            else None,
            artists=await library.search_artists(visible, text, skip=skip, limit=limit)
            if SearchKind.ARTISTS in kinds
            else None,
            collections=await self._collections(ctx, text, skip, limit) if SearchKind.COLLECTIONS in kinds else None,
            users=await self._users(ctx, query.q.strip(), skip, limit) if SearchKind.USERS in kinds else None,
        )

    # ------------------------------------------------------------------ the screens (URLs resolved)

    @handles(ShowArtists)
    async def show_artists(self, query: ShowArtists, ctx: Context) -> Page[ArtistCard]:
        page = await self.artists(query.query, ctx)
        return page.with_items(await self._present.artists(page.items))

    @handles(ShowArtist)
    async def show_artist(self, query: ShowArtist, ctx: Context) -> ArtistScreen:
        detail = await self.artist(GetArtist(query.artist_id), ctx)
        (artist,) = await self._present.artists([detail.artist])
        return ArtistScreen(artist, await self._present.albums(detail.albums))

    @handles(ShowAlbums)
    async def show_albums(self, query: ShowAlbums, ctx: Context) -> Page[AlbumCard]:
        page = await self.albums(query.query, ctx)
        return page.with_items(await self._present.albums(page.items))

    @handles(ShowAlbum)
    async def show_album(self, query: ShowAlbum, ctx: Context) -> AlbumScreen:
        detail = await self.album(GetAlbum(query.album_id), ctx)
        (album,) = await self._present.albums([detail.album])
        return AlbumScreen(album, await self._present.songs(detail.songs))

    @handles(ShowSearch)
    async def show_search(self, query: ShowSearch, ctx: Context) -> SearchScreen:
        found = await self.search(query.query, ctx)
        present = self._present
        songs, albums, artists, users = found.songs, found.albums, found.artists, found.users
        return SearchScreen(
            songs=songs.with_items(await present.songs(songs.items)) if songs is not None else None,
            albums=albums.with_items(await present.albums(albums.items)) if albums is not None else None,
            artists=artists.with_items(await present.artists(artists.items)) if artists is not None else None,
            collections=CollectionList(
                found.collections.items,
                found.collections.total,
                found.collections.skip,
                urls=await self._media.urls(listed_keys(found.collections.items)),
            )
            if found.collections is not None
            else None,
            users=users.with_items(await user_views(self._media, users.items)) if users is not None else None,
        )

    @staticmethod
    async def _collections(ctx: Context, text: str, skip: int, limit: int) -> Page[CollectionView]:
        """Collections the caller may see (``Collection.visible_to``) whose title matches."""
        viewer = ctx.actor.viewer
        page = await ctx.uow.library.search_collections(visible_collections(viewer), text, skip=skip, limit=limit)
        listed = await ctx.uow.collection_queries.listed(page.items)
        return page.with_items(cards(viewer, listed))

    @staticmethod
    async def _users(ctx: Context, text: str, skip: int, limit: int) -> Page[User]:
        """Active users by username or display name (``GET /users/search``), for signed-in callers."""
        if ctx.actor.user_id is None:
            return Page([], 0, skip)
        return await ctx.uow.users.search(text, skip=skip, limit=limit)
