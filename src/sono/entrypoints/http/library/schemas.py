"""Shapes of the library (contract section 12) and their presenters. Songs are the audio shape,
presented by the audio feature's presenter (``audio_outs``), so they stay exactly that shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.library.messages import (
    AlbumDetail,
    AlbumView,
    ArtistDetail,
    ArtistView,
    CoverArt,
    GenreView,
    SearchResults,
    SongView,
)
from sono.application.media.service import MediaService
from sono.application.values import Page
from sono.entrypoints.http.accounts.schemas import PublicUserOut, public_user
from sono.entrypoints.http.audio.schemas import AudioOut, audio_outs
from sono.entrypoints.http.collections.schemas import CollectionOut, Presenter
from sono.entrypoints.http.schemas import page_fields, utc


class ArtistOut(msgspec.Struct):
    id: int
    name: str
    album_count: Annotated[int, Meta(description="Albums with a song you may see")]
    song_count: Annotated[int, Meta(description="Songs you may see")]
    cover_art_url: str | None


class AlbumOut(msgspec.Struct):
    id: int
    name: str
    artist: str
    artist_id: int
    year: Annotated[int | None, Meta(description="The earliest year among its songs you may see")]
    genre: Annotated[str | None, Meta(description="The most common genre among its songs you may see")]
    song_count: int
    duration: Annotated[float, Meta(description="Seconds")]
    created: Annotated[datetime | None, Meta(description="The earliest upload among its songs")]
    cover_art_url: str | None


class ArtistDetailOut(msgspec.Struct):
    id: int
    name: str
    album_count: int
    song_count: int
    cover_art_url: str | None
    albums: Annotated[list[AlbumOut], Meta(description="By name")]


class AlbumDetailOut(msgspec.Struct):
    id: int
    name: str
    artist: str
    artist_id: int
    year: int | None
    genre: str | None
    song_count: int
    duration: float
    created: datetime | None
    cover_art_url: str | None
    songs: Annotated[list[AudioOut], Meta(description="The audio shape, in disc/track order")]


class GenreOut(msgspec.Struct):
    name: str
    album_count: int
    song_count: int


class ArtistPage(msgspec.Struct):
    items: list[ArtistOut]
    total: int
    has_more: bool


class AlbumPage(msgspec.Struct):
    items: list[AlbumOut]
    total: int
    has_more: bool


class GenrePage(msgspec.Struct):
    items: list[GenreOut]
    total: int
    has_more: bool


class SongPage(msgspec.Struct):
    items: list[AudioOut]
    total: int
    has_more: bool


class CollectionResultPage(msgspec.Struct):
    items: list[CollectionOut]
    total: int
    has_more: bool


class UserPage(msgspec.Struct):
    items: list[PublicUserOut]
    total: int
    has_more: bool


class SearchOut(msgspec.Struct):
    """A list envelope per kind asked for (the others are left out)."""

    songs: SongPage | UnsetType = UNSET
    albums: AlbumPage | UnsetType = UNSET
    artists: ArtistPage | UnsetType = UNSET
    collections: CollectionResultPage | UnsetType = UNSET
    users: UserPage | UnsetType = UNSET


# --------------------------------------------------------------------------- presenters


async def _cover_urls(media: MediaService, covers: Iterable[CoverArt | None]) -> dict[str, str]:
    return await media.urls(cover.key for cover in covers if cover is not None)


def _url(urls: Mapping[str, str], cover: CoverArt | None) -> str | None:
    return urls[cover.key] if cover is not None else None


def _artist(view: ArtistView, urls: Mapping[str, str]) -> ArtistOut:
    return ArtistOut(view.id, view.name, view.album_count, view.song_count, _url(urls, view.cover))


def _album(view: AlbumView, urls: Mapping[str, str]) -> AlbumOut:
    return AlbumOut(
        view.id,
        view.name,
        view.artist,
        view.artist_id,
        view.year,
        view.genre,
        view.song_count,
        view.duration,
        utc(view.created),
        _url(urls, view.cover),
    )


async def artist_outs(media: MediaService, views: Sequence[ArtistView]) -> list[ArtistOut]:
    urls = await _cover_urls(media, (view.cover for view in views))
    return [_artist(view, urls) for view in views]


async def album_outs(media: MediaService, views: Sequence[AlbumView]) -> list[AlbumOut]:
    urls = await _cover_urls(media, (view.cover for view in views))
    return [_album(view, urls) for view in views]


async def song_outs(media: MediaService, views: Sequence[SongView]) -> list[AudioOut]:
    owners = {view.owner.id: view.owner for view in views if view.owner.id is not None}
    return await audio_outs(media, [view.audio for view in views], owners)


async def artist_page(media: MediaService, page: Page[ArtistView]) -> ArtistPage:
    return ArtistPage(**page_fields(await artist_outs(media, page.items), page.total, page.skip))


async def album_page(media: MediaService, page: Page[AlbumView]) -> AlbumPage:
    return AlbumPage(**page_fields(await album_outs(media, page.items), page.total, page.skip))


def genre_page(page: Page[GenreView]) -> GenrePage:
    items = [GenreOut(view.name, view.album_count, view.song_count) for view in page.items]
    return GenrePage(**page_fields(items, page.total, page.skip))


async def song_page(media: MediaService, page: Page[SongView]) -> SongPage:
    return SongPage(**page_fields(await song_outs(media, page.items), page.total, page.skip))


async def artist_detail(media: MediaService, detail: ArtistDetail) -> ArtistDetailOut:
    (artist,) = await artist_outs(media, [detail.artist])
    return ArtistDetailOut(
        artist.id,
        artist.name,
        artist.album_count,
        artist.song_count,
        artist.cover_art_url,
        await album_outs(media, detail.albums),
    )


async def album_detail(media: MediaService, detail: AlbumDetail) -> AlbumDetailOut:
    (album,) = await album_outs(media, [detail.album])
    return AlbumDetailOut(
        **{name: getattr(album, name) for name in album.__struct_fields__},
        songs=await song_outs(media, detail.songs),
    )


async def search_out(media: MediaService, results: SearchResults) -> SearchOut:
    out = SearchOut()
    if results.songs is not None:
        out.songs = await song_page(media, results.songs)
    if results.albums is not None:
        out.albums = await album_page(media, results.albums)
    if results.artists is not None:
        out.artists = await artist_page(media, results.artists)
    if results.collections is not None:
        found = results.collections
        items = await Presenter(media).items(found.items)
        out.collections = CollectionResultPage(**page_fields(items, found.total, found.skip))
    if results.users is not None:
        users = [await public_user(media, user) for user in results.users.items]
        out.users = UserPage(**page_fields(users, results.users.total, results.users.skip))
    return out
