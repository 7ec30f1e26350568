"""Where the library is kept: filing songs as their files are written, and the reads of its
screens (each one a fixed number of statements, whatever the size of the library).

Every read takes the specification of the songs the caller may see (``visible_songs``), which the
SQL adapter compiles into its statements and the fakes evaluate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sono.application.library.messages import AlbumView, ArtistView, GenreView, SongView
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection
from sono.domain.library import AlbumSort, SongOrder, Spec


@dataclass(frozen=True, slots=True)
class AlbumFilter:
    artist_id: int | None = None
    genre: str | None = None
    from_year: int | None = None
    to_year: int | None = None
    played_by: int | None = None  # albums with a visible song this user has played (the played sorts)


class LibraryRepository(Protocol):
    async def file(self, audio: AudioFile) -> None:
        """File the (stored) audio file under the artist and album its tags name, creating them
        when new, or move it there after a tag edit: in the caller's transaction. (Deleting the
        file deletes its filing; artists and albums left without songs are never shown.)"""

    async def file_collection(self, collection: Collection) -> None:
        """Index the (stored) collection's title for the search, in the caller's transaction
        (deleting the collection deletes its entry)."""

    async def artists(self, visible: Spec, *, skip: int, limit: int) -> Page[ArtistView]: ...
    async def artists_by_id(self, visible: Spec, artist_ids: Sequence[int]) -> list[ArtistView]:
        """Those with a visible song, in the order given."""

    async def albums_by_id(self, visible: Spec, album_ids: Sequence[int]) -> list[AlbumView]:
        """Those with a visible song, in the order given."""

    async def songs_by_id(self, visible: Spec, audio_ids: Sequence[int]) -> list[SongView]:
        """The visible ones, in the order given."""

    async def artist(self, visible: Spec, artist_id: int) -> ArtistView | None: ...
    async def albums(
        self, visible: Spec, where: AlbumFilter, sort: AlbumSort, seed: int, *, skip: int, limit: int
    ) -> Page[AlbumView]: ...
    async def album(self, visible: Spec, album_id: int) -> AlbumView | None: ...
    async def album_songs(self, visible: Spec, album_id: int) -> list[SongView]:
        """In disc/track order: track number (none last), title (``search_text``), id."""

    async def genres(self, visible: Spec, *, skip: int, limit: int) -> Page[GenreView]: ...
    async def songs(
        self, visible: Spec, genre: str | None, order: SongOrder, seed: int, *, skip: int, limit: int
    ) -> Page[SongView]: ...
    async def search_songs(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[SongView]:
        """``query`` in ``search_query`` form, at least one character."""

    async def search_albums(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[AlbumView]: ...
    async def search_artists(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[ArtistView]: ...
    async def search_collections(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[int]:
        """The ids of the collections ``visible`` (a ``visible_collections`` specification) whose
        title matches, ranked, then by title and id (their rows: ``CollectionQueries.listed``)."""
