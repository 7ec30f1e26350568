"""What entrypoints may ask of the library (the JSON API's ``/library`` and ``/search``, the
Subsonic API's browsing, lists and search), and what they get back.

Every answer counts and lists only the songs the caller may see (``sono.domain.library``); an
artist or album none of whose songs the caller may see is ``NotFound``, as one that does not exist.
Pages take ``skip`` (>= 0) and ``limit`` (1..``LIMIT_MAX``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sono.application.accounts.views import UserView
from sono.application.audio.ports import AudioView
from sono.application.collections.views import CollectionList, CollectionView
from sono.application.messages import Query
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.library import AlbumSort, SearchKind, SongOrder
from sono.domain.users import User

LIMIT_MAX = 500
"""The largest page any library query gives (the Subsonic API's maximum)."""
ALL_KINDS = frozenset(SearchKind)


@dataclass(frozen=True, slots=True)
class CoverArt:
    """An album's or artist's cover: the embedded cover of one of its songs (``audio_id``), stored
    under ``key`` (what ``cover_art_url`` is made from, as for the song itself)."""

    audio_id: int
    key: str


@dataclass(frozen=True, slots=True)
class ArtistView:
    id: int
    name: str
    album_count: int
    song_count: int
    cover: CoverArt | None = None


@dataclass(frozen=True, slots=True)
class AlbumView:
    """``year``: the earliest year among the visible songs; ``genre``: the most common genre among
    them (ties: the smallest); ``created``: the earliest upload; ``duration`` in seconds."""

    id: int
    name: str
    artist: str
    artist_id: int
    year: int | None
    genre: str | None
    song_count: int
    duration: float
    created: datetime | None
    cover: CoverArt | None = None


@dataclass(frozen=True, slots=True)
class SongView:
    """A song: the audio file with its owner (what the audio shape presents), and where the library
    files it (``artist``/``album`` are the names of the groups, not the raw tags)."""

    audio: AudioFile
    owner: User
    artist_id: int
    album_id: int
    artist: str
    album: str


@dataclass(frozen=True, slots=True)
class GenreView:
    name: str
    album_count: int
    song_count: int


@dataclass(frozen=True, slots=True)
class ArtistDetail:
    artist: ArtistView
    albums: Sequence[AlbumView]  # by name


@dataclass(frozen=True, slots=True)
class AlbumDetail:
    album: AlbumView
    songs: Sequence[SongView]  # in disc/track order: track number, then title, then id


@dataclass(frozen=True, slots=True)
class SearchResults:
    """A page per kind asked for (None for a kind not asked for)."""

    songs: Page[SongView] | None = None
    albums: Page[AlbumView] | None = None
    artists: Page[ArtistView] | None = None
    collections: Page[CollectionView] | None = None
    users: Page[User] | None = None


# ---------------------------------------------------------------------- the screens' read models
# (edge-neutral: artists and albums with their covers' URLs, songs as audio views with the files'
# and the owners' pictures' URLs, users with their pictures' URLs, resolved through the media port)


@dataclass(frozen=True, slots=True)
class ArtistCard:
    """An artist and where its cover is fetched (None: no cover)."""

    artist: ArtistView
    cover_url: str | None


@dataclass(frozen=True, slots=True)
class AlbumCard:
    """An album and where its cover is fetched (None: no cover)."""

    album: AlbumView
    cover_url: str | None


@dataclass(frozen=True, slots=True)
class ArtistScreen:
    artist: ArtistCard
    albums: Sequence[AlbumCard]  # by name


@dataclass(frozen=True, slots=True)
class AlbumScreen:
    album: AlbumCard
    songs: Sequence[AudioView]  # in disc/track order, each owner presented once


@dataclass(frozen=True, slots=True)
class SearchScreen:
    """A page per kind asked for (None for a kind not asked for)."""

    songs: Page[AudioView] | None = None
    albums: Page[AlbumCard] | None = None
    artists: Page[ArtistCard] | None = None
    collections: CollectionList | None = None
    users: Page[UserView] | None = None


@dataclass(frozen=True, slots=True)
class ListArtists(Query[Page[ArtistView]]):
    """Artists with at least one visible song, by name (ignoring case and accents), then id."""

    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class GetArtist(Query[ArtistDetail]):
    artist_id: int


@dataclass(frozen=True, slots=True)
class ListAlbums(Query[Page[AlbumView]]):
    """Albums with at least one visible song. ``artist_id``: of that artist; ``genre``: with a
    visible song of that genre; ``from_year``/``to_year``: with a visible song of a year in that
    range (inclusive; either may be left out). ``sort``: name (then artist), artist (then name),
    year (earliest first, albums without a year last; ``year_descending`` latest first), newest
    (latest upload first), random (in an order fixed by ``seed``; a random one when None),
    frequent / recent (the albums the caller has played, most listens / latest listen first;
    nothing for anonymous callers)."""

    sort: AlbumSort = AlbumSort.NAME
    artist_id: int | None = None
    genre: str | None = None
    from_year: int | None = None
    to_year: int | None = None
    skip: int = 0
    limit: int = 100
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class GetAlbum(Query[AlbumDetail]):
    album_id: int


@dataclass(frozen=True, slots=True)
class ListGenres(Query[Page[GenreView]]):
    """Genres of the visible songs, by name."""

    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ListSongs(Query[Page[SongView]]):
    """Visible songs (of ``genre`` when given). ``order``: stable (by id: paging through it sees
    every song once), newest (latest upload first), random (fixed by ``seed``; random when None)."""

    genre: str | None = None
    order: SongOrder = SongOrder.STABLE
    skip: int = 0
    limit: int = 100
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class GetSong(Query[SongView]):
    """One song the caller may see (NotFound otherwise), with where the library files it."""

    audio_id: int


@dataclass(frozen=True, slots=True)
class GetSongs(Query[list[SongView]]):
    """The songs of ``audio_ids`` the caller may see, in that order (the others left out): e.g.
    a user's starred songs. At most ``LIMIT_MAX`` ids."""

    audio_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GetAlbums(Query[list[AlbumView]]):
    """The albums of ``album_ids`` with a song the caller may see, in that order; at most
    ``LIMIT_MAX`` ids."""

    album_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GetArtists(Query[list[ArtistView]]):
    """The artists of ``artist_ids`` with a song the caller may see, in that order; at most
    ``LIMIT_MAX`` ids."""

    artist_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Search(Query[SearchResults]):
    """A page per kind in ``kinds``, each ranked exact > prefix > word > substring (ignoring case
    and accents), then by name and id. ``q`` is 1..200 characters once blanks are trimmed (an empty
    query is a ``ValidationFailed``: the Subsonic API's empty search is ``ListSongs``). Collections:
    those the caller may see, by title; users: active accounts by username or display name, for
    signed-in callers only (an anonymous caller gets an empty page)."""

    q: str
    kinds: frozenset[SearchKind] = field(default=ALL_KINDS)
    skip: int = 0
    limit: int = 20


# ---------------------------------------------------------------------- screens
# The same reads, answered as read models with the URLs a client fetches (``views``): what the
# JSON API shows. The Subsonic API, which names covers by id, sends the plain queries above.


@dataclass(frozen=True, slots=True)
class ShowArtists(Query[Page[ArtistCard]]):
    """``ListArtists``, each artist with its cover's URL."""

    query: ListArtists


@dataclass(frozen=True, slots=True)
class ShowArtist(Query[ArtistScreen]):
    """``GetArtist``, the artist and its albums with their covers' URLs."""

    artist_id: int


@dataclass(frozen=True, slots=True)
class ShowAlbums(Query[Page[AlbumCard]]):
    """``ListAlbums``, each album with its cover's URL."""

    query: ListAlbums


@dataclass(frozen=True, slots=True)
class ShowAlbum(Query[AlbumScreen]):
    """``GetAlbum``, the album with its cover's URL and its songs as audio views."""

    album_id: int


@dataclass(frozen=True, slots=True)
class ShowSearch(Query[SearchScreen]):
    """``Search``, each kind's page as the screens show it (songs as audio views, albums and
    artists with their covers' URLs, users with their pictures' URLs)."""

    query: Search
