"""The library read model, in memory: the same filing and the same answers as the SQL one, with the
visibility specification evaluated (``Spec.holds``) instead of compiled."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sono.application.library.messages import AlbumView, ArtistView, CoverArt, GenreView, SongView
from sono.application.library.ports import AlbumFilter
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection
from sono.domain.library import (
    AlbumSort,
    CollectionFacts,
    SongFacts,
    SongOrder,
    Spec,
    filing,
    match,
    most_common,
    search_text,
    shuffle_key,
)
from tests.fakes.repositories.accounts import is_active_user
from tests.fakes.repositories.base import FakeRepository, Unique, fake_table, foreign_key, repository, single


@dataclass
class LibraryArtistRow:
    key: str
    name: str
    search: str
    id: int | None = None


@dataclass
class LibraryAlbumRow:
    artist_id: int
    key: str
    name: str
    search: str
    id: int | None = None


@dataclass
class LibrarySongRow:
    audio_file_id: int
    artist_id: int
    album_id: int
    search: str


fake_table("library_artists", "library_artists", unique=[Unique("uq_library_artists_key", single(attrgetter("key")))])
fake_table(
    "library_albums",
    "library_albums",
    unique=[Unique("uq_library_albums_artist_id_key", single(lambda row: (row.artist_id, row.key)))],
)
fake_table("library_songs", "library_songs", key="audio_file_id")
foreign_key("library_songs", "audio_file_id", "audio_files")
foreign_key("library_albums", "artist_id", "library_artists")


_LAST = 10**9  # sorts a missing track number or year after every real one


@repository("library")
class FakeLibraryRepository(FakeRepository):
    # ------------------------------------------------------------------ filing

    async def file(self, audio: AudioFile) -> None:
        assert audio.id is not None
        filed = filing(audio.title, audio.artist, audio.album)
        artist = self.session.first(self.db.library_artists, lambda row: row.key == filed.artist_key)
        if artist is None:
            artist = self.session.insert(
                self.db.library_artists, LibraryArtistRow(filed.artist_key, filed.artist, filed.artist_search)
            )
        assert artist.id is not None
        album = self.session.first(
            self.db.library_albums, lambda row: row.artist_id == artist.id and row.key == filed.album_key
        )
        if album is None:
            album = self.session.insert(
                self.db.library_albums, LibraryAlbumRow(artist.id, filed.album_key, filed.album, filed.album_search)
            )
        assert album.id is not None
        song = self.session.get(self.db.library_songs, audio.id)
        if song is None:
            self.session.insert(
                self.db.library_songs, LibrarySongRow(audio.id, artist.id, album.id, filed.title_search)
            )
        else:
            song.artist_id, song.album_id, song.search = artist.id, album.id, filed.title_search

    async def file_collection(self, collection: Collection) -> None:
        """The fake reads the titles themselves: nothing to keep."""

    # ------------------------------------------------------------------ the visible songs

    def _collection_facts(self, collection: Collection) -> CollectionFacts:
        return CollectionFacts(
            collection.owner_id,
            collection.is_public,
            is_active_user(self.db, collection.owner_id),
            frozenset(c.user_id for c in collection.collaborators),
        )

    def _facts(self, audio: AudioFile) -> SongFacts:
        holders = [
            self._collection_facts(collection)
            for collection in self.db.collections.values()
            if audio.id in collection.audio_file_ids
        ]
        return SongFacts(audio.owner_id, audio.is_public, is_active_user(self.db, audio.owner_id), tuple(holders))

    def _visible(self, visible: Spec) -> list[SongView]:
        """Every visible song, by id."""
        views = []
        for row in sorted(self.db.library_songs.values(), key=lambda row: row.audio_file_id):
            audio = self.db.audio_files.get(row.audio_file_id)
            if audio is None or not visible.holds(self._facts(audio)):
                continue
            owner = self.db.users[audio.owner_id]
            artist = self.db.library_artists[row.artist_id]
            album = self.db.library_albums[row.album_id]
            views.append(SongView(audio, owner, row.artist_id, row.album_id, artist.name, album.name))
        return views

    def _search(self, song: SongView) -> str:
        return self.db.library_songs[song.audio.id].search

    def _track_order(self, song: SongView) -> tuple[Any, ...]:
        number = song.audio.track_number
        return (number is None, number or 0, self._search(song), song.audio.id)

    # ------------------------------------------------------------------ artists

    def _artist_views(self, songs: list[SongView], artist_ids: Iterable[int]) -> list[ArtistView]:
        views = []
        for artist_id in artist_ids:
            mine = [song for song in songs if song.artist_id == artist_id]
            if not mine:
                continue
            artist = self.db.library_artists[artist_id]

            def album_order(song: SongView) -> tuple[Any, ...]:
                album = self.db.library_albums[song.album_id]
                return (album.search, album.id, *self._track_order(song))

            covered = sorted((song for song in mine if song.audio.cover_art_key), key=album_order)
            views.append(
                ArtistView(
                    artist_id,
                    artist.name,
                    len({song.album_id for song in mine}),
                    len(mine),
                    _cover(covered[0]) if covered else None,
                )
            )
        return views

    def _artists_in_order(self, songs: list[SongView]) -> list[LibraryArtistRow]:
        ids = {song.artist_id for song in songs}
        return sorted((self.db.library_artists[i] for i in ids), key=lambda row: (row.search, row.id))

    async def artists(self, visible: Spec, *, skip: int, limit: int) -> Page[ArtistView]:
        songs = self._visible(visible)
        chosen = [row.id for row in self._artists_in_order(songs) if row.id is not None]
        return Page(self._artist_views(songs, chosen[skip : skip + limit]), len(chosen), skip)

    async def artists_by_id(self, visible: Spec, artist_ids: Sequence[int]) -> list[ArtistView]:
        return self._artist_views(self._visible(visible), dict.fromkeys(artist_ids))

    async def albums_by_id(self, visible: Spec, album_ids: Sequence[int]) -> list[AlbumView]:
        return self._album_views(self._visible(visible), dict.fromkeys(album_ids))

    async def songs_by_id(self, visible: Spec, audio_ids: Sequence[int]) -> list[SongView]:
        by_id = {song.audio.id: song for song in self._visible(visible)}
        return [by_id[i] for i in dict.fromkeys(audio_ids) if i in by_id]

    async def artist(self, visible: Spec, artist_id: int) -> ArtistView | None:
        views = self._artist_views(self._visible(visible), [artist_id])
        return views[0] if views else None

    async def search_artists(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[ArtistView]:
        songs = self._visible(visible)
        chosen = _ranked(self._artists_in_order(songs), query, lambda row: row.search)
        ids = [row.id for row in chosen if row.id is not None]
        return Page(self._artist_views(songs, ids[skip : skip + limit]), len(ids), skip)

    # ------------------------------------------------------------------ albums

    def _album_views(self, songs: list[SongView], album_ids: Iterable[int]) -> list[AlbumView]:
        views = []
        for album_id in album_ids:
            mine = [song for song in songs if song.album_id == album_id]
            if not mine:
                continue
            album = self.db.library_albums[album_id]
            artist = self.db.library_artists[album.artist_id]
            years = [song.audio.year for song in mine if song.audio.year is not None]
            created = [song.audio.upload_date for song in mine if song.audio.upload_date is not None]
            genre = most_common(song.audio.genre for song in mine)
            covered = sorted((song for song in mine if song.audio.cover_art_key), key=self._track_order)
            views.append(
                AlbumView(
                    album_id,
                    album.name,
                    artist.name,
                    album.artist_id,
                    min(years) if years else None,
                    genre if isinstance(genre, str) else None,
                    len(mine),
                    float(sum(song.audio.duration or 0.0 for song in mine)),
                    min(created) if created else None,
                    _cover(covered[0]) if covered else None,
                )
            )
        return views

    def _album_rows(self, songs: list[SongView]) -> list[LibraryAlbumRow]:
        return [self.db.library_albums[i] for i in sorted({song.album_id for song in songs})]

    async def albums(
        self, visible: Spec, where: AlbumFilter, sort: AlbumSort, seed: int, *, skip: int, limit: int
    ) -> Page[AlbumView]:
        songs = self._visible(visible)

        def matching(song: SongView) -> bool:
            year = song.audio.year
            return (
                (where.genre is None or song.audio.genre == where.genre)
                and (where.from_year is None or (year is not None and year >= where.from_year))
                and (where.to_year is None or (year is not None and year <= where.to_year))
                and (where.artist_id is None or song.artist_id == where.artist_id)
                and (where.played_by is None or plays(song) is not None)
            )

        def plays(song: SongView) -> Any:
            return self.db.play_counts.get((where.played_by, song.audio.id))

        def played(row: LibraryAlbumRow) -> list[Any]:
            return [p for song in songs if song.album_id == row.id and (p := plays(song)) is not None]

        rows = self._album_rows([song for song in songs if matching(song)])
        views = {view.id: view for view in self._album_views(songs, [row.id for row in rows if row.id is not None])}

        def artist_search(row: LibraryAlbumRow) -> str:
            return self.db.library_artists[row.artist_id].search

        def view(row: LibraryAlbumRow) -> AlbumView:
            assert row.id is not None
            return views[row.id]

        def newest(row: LibraryAlbumRow) -> tuple[Any, ...]:
            created = view(row).created
            return (-created.timestamp() if created else 0.0, -(row.id or 0))

        keys: dict[AlbumSort, Callable[[LibraryAlbumRow], Any]] = {
            AlbumSort.NAME: lambda row: (row.search, artist_search(row), row.id),
            AlbumSort.ARTIST: lambda row: (artist_search(row), row.search, row.id),
            AlbumSort.YEAR: lambda row: (view(row).year is None, view(row).year or 0, row.search, row.id),
            AlbumSort.YEAR_DESCENDING: lambda row: (view(row).year is None, -(view(row).year or 0), row.search, row.id),
            AlbumSort.NEWEST: newest,
            AlbumSort.RANDOM: lambda row: (shuffle_key(row.id or 0, seed), row.id),
            AlbumSort.FREQUENT: lambda row: (-sum(p.count for p in played(row)), row.id),
            AlbumSort.RECENT: lambda row: (-max(p.last_played.timestamp() for p in played(row)), row.id),
        }
        ordered = sorted(rows, key=keys[sort])
        return Page([views[row.id] for row in ordered[skip : skip + limit] if row.id], len(ordered), skip)

    async def album(self, visible: Spec, album_id: int) -> AlbumView | None:
        views = self._album_views(self._visible(visible), [album_id])
        return views[0] if views else None

    async def search_albums(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[AlbumView]:
        songs = self._visible(visible)

        def order(row: LibraryAlbumRow) -> tuple[Any, ...]:
            return (row.search, self.db.library_artists[row.artist_id].search, row.id)

        chosen = _ranked(sorted(self._album_rows(songs), key=order), query, lambda row: row.search)
        ids = [row.id for row in chosen if row.id is not None]
        return Page(self._album_views(songs, ids[skip : skip + limit]), len(ids), skip)

    async def album_songs(self, visible: Spec, album_id: int) -> list[SongView]:
        return sorted((song for song in self._visible(visible) if song.album_id == album_id), key=self._track_order)

    # ------------------------------------------------------------------ genres and songs

    async def genres(self, visible: Spec, *, skip: int, limit: int) -> Page[GenreView]:
        songs = self._visible(visible)
        names = sorted({song.audio.genre for song in songs if song.audio.genre is not None})
        views = []
        for name in names:
            mine = [song for song in songs if song.audio.genre == name]
            views.append(GenreView(name, len({song.album_id for song in mine}), len(mine)))
        return Page(views[skip : skip + limit], len(views), skip)

    async def songs(
        self, visible: Spec, genre: str | None, order: SongOrder, seed: int, *, skip: int, limit: int
    ) -> Page[SongView]:
        songs = [song for song in self._visible(visible) if genre is None or song.audio.genre == genre]
        if order is SongOrder.RANDOM:
            songs.sort(key=lambda song: (shuffle_key(song.audio.id or 0, seed), song.audio.id))
        elif order is SongOrder.NEWEST:
            songs.sort(key=lambda song: (song.audio.upload_date, song.audio.id), reverse=True)
        return Page(songs[skip : skip + limit], len(songs), skip)

    async def search_songs(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[SongView]:
        songs = sorted(self._visible(visible), key=lambda song: (self._search(song), song.audio.id))
        chosen = _ranked(songs, query, self._search)
        return Page(chosen[skip : skip + limit], len(chosen), skip)

    async def search_collections(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[int]:
        seen = [c for c in self.db.collections.values() if visible.holds(self._collection_facts(c))]
        seen.sort(key=lambda c: (search_text(c.title), c.id))
        chosen = _ranked(seen, query, lambda c: search_text(c.title))
        return Page([c.id for c in chosen[skip : skip + limit] if c.id is not None], len(chosen), skip)


def _cover(song: SongView) -> CoverArt:
    assert song.audio.id is not None and song.audio.cover_art_key is not None
    return CoverArt(song.audio.id, song.audio.cover_art_key)


def _ranked(items: list[Any], query: str, text: Callable[[Any], str]) -> list[Any]:
    """The items matching ``query``, best match first (a stable sort keeps their order within a rank)."""
    found = [(rank, item) for item in items if (rank := match(text(item), query)) is not None]
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]
