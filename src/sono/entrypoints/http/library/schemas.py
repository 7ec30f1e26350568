"""Shapes of the library (contract section 12) and their presenters. Songs are the audio shape,
mapped by the audio feature's edge (``audio_view_outs``), so they stay exactly that shape."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.audio.ports import AudioView
from sono.application.library.messages import AlbumCard, AlbumScreen, ArtistCard, ArtistScreen, GenreView, SearchScreen
from sono.application.values import Page
from sono.entrypoints.http.accounts.schemas import PublicUserOut, public_user_out
from sono.entrypoints.http.audio.schemas import AudioOut, audio_view_outs
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


def _artist(card: ArtistCard) -> ArtistOut:
    view = card.artist
    return ArtistOut(view.id, view.name, view.album_count, view.song_count, card.cover_url)


def _album(card: AlbumCard) -> AlbumOut:
    view = card.album
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
        card.cover_url,
    )


def artist_page(page: Page[ArtistCard]) -> ArtistPage:
    return ArtistPage(**page_fields([_artist(card) for card in page.items], page.total, page.skip))


def album_page(page: Page[AlbumCard]) -> AlbumPage:
    return AlbumPage(**page_fields([_album(card) for card in page.items], page.total, page.skip))


def genre_page(page: Page[GenreView]) -> GenrePage:
    items = [GenreOut(view.name, view.album_count, view.song_count) for view in page.items]
    return GenrePage(**page_fields(items, page.total, page.skip))


def song_page(page: Page[AudioView]) -> SongPage:
    return SongPage(**page_fields(audio_view_outs(page.items), page.total, page.skip))


def artist_detail(screen: ArtistScreen) -> ArtistDetailOut:
    artist = _artist(screen.artist)
    return ArtistDetailOut(
        artist.id,
        artist.name,
        artist.album_count,
        artist.song_count,
        artist.cover_art_url,
        [_album(card) for card in screen.albums],
    )


def album_detail(screen: AlbumScreen) -> AlbumDetailOut:
    album = _album(screen.album)
    return AlbumDetailOut(
        **{name: getattr(album, name) for name in album.__struct_fields__},
        songs=audio_view_outs(screen.songs),
    )


def search_out(results: SearchScreen) -> SearchOut:
    out = SearchOut()
    if results.songs is not None:
        out.songs = song_page(results.songs)
    if results.albums is not None:
        out.albums = album_page(results.albums)
    if results.artists is not None:
        out.artists = artist_page(results.artists)
    if results.collections is not None:
        found = results.collections
        items = Presenter(found.urls).items(found.items)
        out.collections = CollectionResultPage(**page_fields(items, found.total, found.skip))
    if results.users is not None:
        users = [public_user_out(view) for view in results.users.items]
        out.users = UserPage(**page_fields(users, results.users.total, results.users.skip))
    return out
