"""The library read model in SQL: filing songs, and the reads of its screens.

The visibility specification (``sono.domain.library.visible_songs``) is compiled into a ``WHERE``
clause over ``audio_files`` and its owner (``EXISTS`` on ``collection_tracks``/``collections`` for
files shared through collections). Lists run in two phases, each a fixed number of statements
whatever the page or library size: the page of ids (with the list's length, by a window function),
then the aggregates of those ids only (counts, durations, the most common genre, the cover).

Search narrows the candidates with the database's text index over the ``search`` columns (SQLite:
an FTS5 trigram table, ``MATCH`` of the query as a phrase; PostgreSQL: ``LIKE`` served by a pg_trgm
GIN index; queries shorter than three characters: a range on the B-tree index, i.e. a prefix),
then ranks the candidates exact > prefix > word > substring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    cast,
    distinct,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
)

from sono.adapters.sqlalchemy.reads import Shape
from sono.adapters.sqlalchemy.repositories.base import SqlRepository, like_pattern, repository
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.annotations import play_counts
from sono.adapters.sqlalchemy.tables.audio import audio_files
from sono.adapters.sqlalchemy.tables.collections import collaborators, collection_tracks, collections
from sono.adapters.sqlalchemy.tables.library import library_albums, library_artists, library_collections, library_songs
from sono.application.library.messages import AlbumView, ArtistView, CoverArt, GenreView, SongView
from sono.application.library.ports import AlbumFilter
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection
from sono.domain.library import (
    SHUFFLE_FACTOR,
    SHUFFLE_MODULUS,
    SUBSTRING_MIN,
    AlbumSort,
    AllOf,
    AnyOf,
    CollaboratorIs,
    Everything,
    InCollection,
    Match,
    OwnedBy,
    OwnerActive,
    Public,
    SongOrder,
    Spec,
    filing,
    search_text,
)
from sono.domain.users import User

_owner = users.alias("owner")
_holder = users.alias("holder")
_file, _song = audio_files, library_songs
_TOP = "\U0010ffff"
_ID_MAX = 2**31 - 1


# --------------------------------------------------------------------------- the specification


def collection_condition(
    spec: Spec, owner: FromClause = _holder, user: ColumnElement[Any] | None = None
) -> ColumnElement[bool]:
    """A collection specification over ``collections`` joined with its owner as ``owner`` (by
    default the alias the songs' condition joins; the collection lists join ``users`` itself).
    ``user``, if given, stands for the user of ``OwnedBy``/``CollaboratorIs``: a statement compiled
    once for every caller, from the specification made for any one of them."""

    def who(user_id: int) -> Any:
        return user_id if user is None else user

    match spec:
        case Everything():
            return true()
        case AnyOf(parts):
            return or_(false(), *(collection_condition(p, owner, user) for p in parts))
        case AllOf(parts):
            return and_(true(), *(collection_condition(p, owner, user) for p in parts))
        case OwnedBy(user_id):
            return collections.c.owner_id == who(user_id)
        case Public():
            return collections.c.is_public
        case OwnerActive():
            return owner.c.is_active
        case CollaboratorIs(user_id):
            return exists().where(
                collaborators.c.collection_id == collections.c.id, collaborators.c.user_id == who(user_id)
            )
    raise TypeError(f"no SQL for {spec!r} on a collection")


def visible_condition(spec: Spec, owner: FromClause = _owner) -> ColumnElement[bool]:
    """A song specification over ``audio_files`` joined with its owner as ``owner`` (by default
    the alias the library's reads join; the audio catalog joins ``users`` itself)."""
    match spec:
        case Everything():
            return true()
        case AnyOf(parts):
            return or_(false(), *(visible_condition(p, owner) for p in parts))
        case AllOf(parts):
            return and_(true(), *(visible_condition(p, owner) for p in parts))
        case OwnedBy(user_id):
            return _file.c.owner_id == user_id
        case Public():
            return _file.c.is_public
        case OwnerActive():
            return owner.c.is_active
        case InCollection(collection):
            return exists(
                select(literal(1))
                .select_from(
                    collection_tracks.join(collections, collections.c.id == collection_tracks.c.collection_id).join(
                        _holder, _holder.c.id == collections.c.owner_id
                    )
                )
                .where(collection_tracks.c.audio_file_id == _file.c.id, collection_condition(collection))
            )
    raise TypeError(f"no SQL for {spec!r} on a song")


def _visible_songs(visible: Spec, *columns: Any) -> Select[Any]:
    """``columns`` of the visible songs (``library_songs`` with its file and the file's owner)."""
    return (
        select(*columns)
        .select_from(
            _song.join(_file, _file.c.id == _song.c.audio_file_id).join(_owner, _owner.c.id == _file.c.owner_id)
        )
        .where(visible_condition(visible))
    )


def _nulls_last(column: ColumnElement[Any]) -> ColumnElement[int]:
    return case((column.is_(None), 1), else_=0)


def _shuffled(column: ColumnElement[int], seed: int) -> ColumnElement[int]:
    return (cast(column, BigInteger) * literal(SHUFFLE_FACTOR, BigInteger) + literal(seed, BigInteger)) % literal(
        SHUFFLE_MODULUS, BigInteger
    )


def _rank(column: ColumnElement[str], query: str) -> ColumnElement[int]:
    """The ``Match`` of ``column`` for ``query`` (only asked of the candidates)."""
    whens: list[tuple[ColumnElement[bool], int]] = [
        (column == query, int(Match.EXACT)),
        (func.substr(column, 1, len(query)) == query, int(Match.PREFIX)),
    ]
    if len(query) >= SUBSTRING_MIN:
        whens.append((column.like(like_pattern(f" {query}"), escape="\\"), int(Match.WORD)))
    return case(*whens, else_=int(Match.SUBSTRING))


def _ids(ids: Sequence[int]) -> list[int]:
    """The ids that can name a row (32-bit, positive), each once, in the order given."""
    return list(dict.fromkeys(i for i in ids if 0 < i <= _ID_MAX))


_FILE_COLUMNS = [column.label(f"f_{column.name}") for column in audio_files.c]
_OWNER_COLUMNS = [column.label(f"o_{column.name}") for column in _owner.c]
_SONG_FILE = Shape(AudioFile, audio_files.c)  # a song's row: its file's columns, then the file owner's
_SONG_OWNER = Shape(User, users.c, len(audio_files.c))


@repository("library")
class SqlLibraryRepository(SqlRepository):
    # ------------------------------------------------------------------ filing

    async def file(self, audio: AudioFile) -> None:
        assert audio.id is not None
        filed = filing(audio.title, audio.artist, audio.album)
        artist_id = await self._ensure(
            library_artists,
            library_artists.c.key == filed.artist_key,
            {"key": filed.artist_key, "name": filed.artist, "search": filed.artist_search},
        )
        album_id = await self._ensure(
            library_albums,
            and_(library_albums.c.artist_id == artist_id, library_albums.c.key == filed.album_key),
            {"artist_id": artist_id, "key": filed.album_key, "name": filed.album, "search": filed.album_search},
        )
        values = {"artist_id": artist_id, "album_id": album_id, "search": filed.title_search}
        upsert = self._insert_statement(_song).values(audio_file_id=audio.id, **values)
        await self.session.execute(upsert.on_conflict_do_update(index_elements=[_song.c.audio_file_id], set_=values))

    async def file_collection(self, collection: Collection) -> None:
        assert collection.id is not None
        search = search_text(collection.title)
        upsert = self._insert_statement(library_collections).values(collection_id=collection.id, search=search)
        await self.session.execute(
            upsert.on_conflict_do_update(index_elements=[library_collections.c.collection_id], set_={"search": search})
        )

    async def _ensure(self, table: Any, where: ColumnElement[bool], values: dict[str, Any]) -> int:
        """The id of the row ``where`` names, inserted with ``values`` when missing (a concurrent
        insert of the same row wins; its id is read)."""
        found: int | None = await self.session.scalar(select(table.c.id).where(where))
        if found is None:
            await self.session.execute(self._insert_statement(table).values(**values).on_conflict_do_nothing())
            found = await self.session.scalar(select(table.c.id).where(where))
        assert found is not None
        return int(found)

    # ------------------------------------------------------------------ helpers

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _c(self, column: ColumnElement[str]) -> ColumnElement[str]:
        """``column`` compared by code point on either database."""
        return column.collate("C") if self._postgres else column

    async def _rows(self, statement: Select[Any]) -> list[Any]:
        return list((await self.session.execute(statement)).mappings())

    async def _paged(self, statement: Select[Any], count: Select[Any], skip: int) -> tuple[list[Any], int]:
        """The page's rows (``statement`` carries ``total``, the list's length) and that length (a
        count more for a page beyond the end)."""
        rows = await self._rows(statement)
        if rows:
            return rows, int(rows[0]["total"])
        total = 0 if skip == 0 else int(await self.session.scalar(count) or 0)
        return rows, total

    def _text_match(self, table: Any, key: Any, query: str) -> ColumnElement[bool]:
        """Rows of ``table`` whose ``search`` matches ``query`` through the text index."""
        column = table.c.search
        if len(query) < SUBSTRING_MIN:
            return and_(column >= query, column < query + _TOP)
        if self._postgres:
            return column.like(like_pattern(query), escape="\\")
        phrase = '"' + query.replace('"', '""') + '"'
        fts = f"{table.name}_fts"
        found: Select[Any] = (
            select(literal_column("rowid")).select_from(text(fts)).where(literal_column(fts).op("MATCH")(phrase))
        )
        return key.in_(found)

    # ------------------------------------------------------------------ artists

    @staticmethod
    def _played_by(user_id: int) -> ColumnElement[bool]:
        """The song's file has been played by ``user_id`` (adds their ``play_counts`` row)."""
        return and_(play_counts.c.audio_file_id == _song.c.audio_file_id, play_counts.c.user_id == user_id)

    def _has_visible_song(self, visible: Spec, *where: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(_visible_songs(visible, literal(1)).where(*where))

    async def _artist_views(self, visible: Spec, heads: Sequence[Any]) -> list[ArtistView]:
        """The artists of ``heads`` (rows with ``id`` and ``name``), with their counts and covers."""
        ids = [row["id"] for row in heads]
        if not ids:
            return []
        counts = await self._rows(
            _visible_songs(
                visible,
                _song.c.artist_id.label("id"),
                func.count(distinct(_song.c.album_id)).label("albums"),
                func.count().label("songs"),
            )
            .where(_song.c.artist_id.in_(ids))
            .group_by(_song.c.artist_id)
        )
        by_id = {row["id"]: row for row in counts}
        order = (
            library_albums.c.search,
            library_albums.c.id,
            _nulls_last(_file.c.track_number),
            _file.c.track_number,
            _song.c.search,
            _file.c.id,
        )
        covers = await self._covers(
            _visible_songs(visible, _song.c.artist_id.label("owner_key"))
            .join(library_albums, library_albums.c.id == _song.c.album_id)
            .where(_song.c.artist_id.in_(ids)),
            _song.c.artist_id,
            order,
        )
        views = []
        for row in heads:
            found = by_id.get(row["id"])
            if found is None:
                continue
            views.append(ArtistView(row["id"], row["name"], found["albums"], found["songs"], covers.get(row["id"])))
        return views

    async def _covers(self, songs: Select[Any], partition: Any, order: Sequence[Any]) -> dict[int, CoverArt]:
        """The first song with a cover of each group (``partition``) in ``order``."""
        numbered = (
            songs.add_columns(
                _file.c.id.label("audio_id"),
                _file.c.cover_art_key.label("cover"),
                func.row_number().over(partition_by=partition, order_by=order).label("place"),
            )
            .where(_file.c.cover_art_key.is_not(None))
            .subquery()
        )
        rows = await self._rows(
            select(numbered.c.owner_key, numbered.c.audio_id, numbered.c.cover).where(numbered.c.place == 1)
        )
        return {row["owner_key"]: CoverArt(row["audio_id"], row["cover"]) for row in rows}

    async def artists(self, visible: Spec, *, skip: int, limit: int) -> Page[ArtistView]:
        chosen = self._has_visible_song(visible, _song.c.artist_id == library_artists.c.id)
        page = (
            select(library_artists.c.id, library_artists.c.name, func.count().over().label("total"))
            .where(chosen)
            .order_by(library_artists.c.search, library_artists.c.id)
            .offset(skip)
            .limit(limit)
        )
        count = select(func.count()).select_from(library_artists).where(chosen)
        rows, total = await self._paged(page, count, skip)
        return Page(await self._artist_views(visible, rows), total, skip)

    async def artist(self, visible: Spec, artist_id: int) -> ArtistView | None:
        views = await self.artists_by_id(visible, [artist_id])
        return views[0] if views else None

    async def artists_by_id(self, visible: Spec, artist_ids: Sequence[int]) -> list[ArtistView]:
        wanted = _ids(artist_ids)
        if not wanted:
            return []
        rows = await self._rows(
            select(library_artists.c.id, library_artists.c.name).where(library_artists.c.id.in_(wanted))
        )
        by_id = {row["id"]: row for row in rows}
        return await self._artist_views(visible, [by_id[i] for i in wanted if i in by_id])

    async def search_artists(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[ArtistView]:
        chosen = and_(
            self._text_match(library_artists, library_artists.c.id, query),
            self._has_visible_song(visible, _song.c.artist_id == library_artists.c.id),
        )
        page = (
            select(library_artists.c.id, library_artists.c.name, func.count().over().label("total"))
            .where(chosen)
            .order_by(_rank(library_artists.c.search, query), library_artists.c.search, library_artists.c.id)
            .offset(skip)
            .limit(limit)
        )
        rows, total = await self._paged(page, select(func.count()).select_from(library_artists).where(chosen), skip)
        return Page(await self._artist_views(visible, rows), total, skip)

    # ------------------------------------------------------------------ albums

    def _album_heads(self) -> Select[Any]:
        return select(
            library_albums.c.id,
            library_albums.c.name,
            library_albums.c.artist_id,
            library_artists.c.name.label("artist"),
        ).join_from(library_albums, library_artists, library_artists.c.id == library_albums.c.artist_id)

    async def _album_views(self, visible: Spec, heads: Sequence[Any]) -> list[AlbumView]:
        """The albums of ``heads`` (rows of ``_album_heads``) with their aggregates and covers."""
        ids = [row["id"] for row in heads]
        if not ids:
            return []
        in_page = _song.c.album_id.in_(ids)
        totals = await self._rows(
            _visible_songs(
                visible,
                _song.c.album_id.label("id"),
                func.count().label("songs"),
                func.coalesce(func.sum(_file.c.duration), 0.0).label("duration"),
                func.min(_file.c.year).label("year"),
                func.min(_file.c.upload_date).label("created"),
            )
            .where(in_page)
            .group_by(_song.c.album_id)
        )
        by_id = {row["id"]: row for row in totals}
        genre = self._c(_file.c.genre)
        per_genre = (
            _visible_songs(visible, _song.c.album_id.label("album_id"), genre.label("genre"), func.count().label("n"))
            .where(in_page, _file.c.genre.is_not(None))
            .group_by(_song.c.album_id, genre)
            .subquery()
        )
        ranked = select(
            per_genre.c.album_id,
            per_genre.c.genre,
            func.row_number()
            .over(partition_by=per_genre.c.album_id, order_by=(per_genre.c.n.desc(), self._c(per_genre.c.genre)))
            .label("place"),
        ).subquery()
        genres = {
            row["album_id"]: row["genre"]
            for row in await self._rows(select(ranked.c.album_id, ranked.c.genre).where(ranked.c.place == 1))
        }
        covers = await self._covers(
            _visible_songs(visible, _song.c.album_id.label("owner_key")).where(in_page),
            _song.c.album_id,
            (_nulls_last(_file.c.track_number), _file.c.track_number, _song.c.search, _file.c.id),
        )
        views = []
        for row in heads:
            found = by_id.get(row["id"])
            if found is None:
                continue
            views.append(
                AlbumView(
                    row["id"],
                    row["name"],
                    row["artist"],
                    row["artist_id"],
                    found["year"],
                    genres.get(row["id"]),
                    found["songs"],
                    float(found["duration"] or 0.0),
                    found["created"],
                    covers.get(row["id"]),
                )
            )
        return views

    async def albums(
        self, visible: Spec, where: AlbumFilter, sort: AlbumSort, seed: int, *, skip: int, limit: int
    ) -> Page[AlbumView]:
        song_filters: list[ColumnElement[bool]] = [_song.c.album_id == library_albums.c.id]
        if where.genre is not None:
            song_filters.append(_file.c.genre == where.genre)
        if where.from_year is not None:
            song_filters.append(_file.c.year >= where.from_year)
        if where.to_year is not None:
            song_filters.append(_file.c.year <= where.to_year)
        if where.played_by is not None:
            song_filters.append(self._played_by(where.played_by))
        chosen: list[ColumnElement[bool]] = [self._has_visible_song(visible, *song_filters)]
        if where.artist_id is not None:
            chosen.append(library_albums.c.artist_id == where.artist_id)
        of_album = _song.c.album_id == library_albums.c.id
        match sort:
            case AlbumSort.ARTIST:
                order: tuple[Any, ...] = (library_artists.c.search, library_albums.c.search, library_albums.c.id)
            case AlbumSort.YEAR | AlbumSort.YEAR_DESCENDING:
                year = _visible_songs(visible, func.min(_file.c.year)).where(of_album).scalar_subquery()
                by_year = year.desc() if sort is AlbumSort.YEAR_DESCENDING else year
                order = (_nulls_last(year), by_year, library_albums.c.search, library_albums.c.id)
            case AlbumSort.NEWEST:
                created = _visible_songs(visible, func.min(_file.c.upload_date)).where(of_album).scalar_subquery()
                order = (created.desc(), library_albums.c.id.desc())
            case AlbumSort.RANDOM:
                order = (_shuffled(library_albums.c.id, seed), library_albums.c.id)
            case AlbumSort.FREQUENT | AlbumSort.RECENT if where.played_by is not None:
                measure = (
                    func.sum(play_counts.c.count) if sort is AlbumSort.FREQUENT else func.max(play_counts.c.last_played)
                )
                played = (
                    _visible_songs(visible, measure).where(of_album, self._played_by(where.played_by)).scalar_subquery()
                )
                order = (played.desc(), library_albums.c.id)
            case _:
                order = (library_albums.c.search, library_artists.c.search, library_albums.c.id)
        page = (
            self._album_heads()
            .add_columns(func.count().over().label("total"))
            .where(*chosen)
            .order_by(*order)
            .offset(skip)
            .limit(limit)
        )
        count = select(func.count()).select_from(library_albums).where(*chosen)
        rows, total = await self._paged(page, count, skip)
        return Page(await self._album_views(visible, rows), total, skip)

    async def album(self, visible: Spec, album_id: int) -> AlbumView | None:
        views = await self.albums_by_id(visible, [album_id])
        return views[0] if views else None

    async def albums_by_id(self, visible: Spec, album_ids: Sequence[int]) -> list[AlbumView]:
        wanted = _ids(album_ids)
        if not wanted:
            return []
        rows = await self._rows(self._album_heads().where(library_albums.c.id.in_(wanted)))
        by_id = {row["id"]: row for row in rows}
        return await self._album_views(visible, [by_id[i] for i in wanted if i in by_id])

    async def search_albums(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[AlbumView]:
        chosen = and_(
            self._text_match(library_albums, library_albums.c.id, query),
            self._has_visible_song(visible, _song.c.album_id == library_albums.c.id),
        )
        page = (
            self._album_heads()
            .add_columns(func.count().over().label("total"))
            .where(chosen)
            .order_by(
                _rank(library_albums.c.search, query),
                library_albums.c.search,
                library_artists.c.search,
                library_albums.c.id,
            )
            .offset(skip)
            .limit(limit)
        )
        rows, total = await self._paged(page, select(func.count()).select_from(library_albums).where(chosen), skip)
        return Page(await self._album_views(visible, rows), total, skip)

    # ------------------------------------------------------------------ genres

    async def genres(self, visible: Spec, *, skip: int, limit: int) -> Page[GenreView]:
        genre = self._c(_file.c.genre)
        page = (
            _visible_songs(
                visible,
                genre.label("name"),
                func.count(distinct(_song.c.album_id)).label("albums"),
                func.count().label("songs"),
                func.count().over().label("total"),
            )
            .where(_file.c.genre.is_not(None))
            .group_by(genre)
            .order_by(genre)
            .offset(skip)
            .limit(limit)
        )
        named = _visible_songs(visible, _file.c.genre).where(_file.c.genre.is_not(None)).group_by(_file.c.genre)
        rows, total = await self._paged(page, select(func.count()).select_from(named.subquery()), skip)
        return Page([GenreView(row["name"], row["albums"], row["songs"]) for row in rows], total, skip)

    # ------------------------------------------------------------------ songs

    def _song_rows(self, visible: Spec) -> Select[Any]:
        return (
            _visible_songs(
                visible,
                *_FILE_COLUMNS,
                *_OWNER_COLUMNS,
                _song.c.artist_id.label("s_artist_id"),
                _song.c.album_id.label("s_album_id"),
                library_artists.c.name.label("s_artist"),
                library_albums.c.name.label("s_album"),
            )
            .join(library_artists, library_artists.c.id == _song.c.artist_id)
            .join(library_albums, library_albums.c.id == _song.c.album_id)
        )

    @staticmethod
    def _song_views(rows: Sequence[Any]) -> list[SongView]:
        owners: dict[int, User] = {}
        views = []
        for row in rows:
            values = tuple(row.values())
            audio = _SONG_FILE.build(values)
            owner_id = row["o_id"]
            owner = owners.get(owner_id)
            if owner is None:
                owner = owners[owner_id] = _SONG_OWNER.build(values)
            views.append(SongView(audio, owner, row["s_artist_id"], row["s_album_id"], row["s_artist"], row["s_album"]))
        return views

    async def album_songs(self, visible: Spec, album_id: int) -> list[SongView]:
        statement = (
            self._song_rows(visible)
            .where(_song.c.album_id == album_id)
            .order_by(_nulls_last(_file.c.track_number), _file.c.track_number, _song.c.search, _file.c.id)
        )
        return self._song_views(await self._rows(statement))

    async def songs_by_id(self, visible: Spec, audio_ids: Sequence[int]) -> list[SongView]:
        wanted = _ids(audio_ids)
        if not wanted:
            return []
        views = self._song_views(await self._rows(self._song_rows(visible).where(_file.c.id.in_(wanted))))
        by_id = {view.audio.id: view for view in views}
        return [by_id[i] for i in wanted if i in by_id]

    async def songs(
        self, visible: Spec, genre: str | None, order: SongOrder, seed: int, *, skip: int, limit: int
    ) -> Page[SongView]:
        where = [] if genre is None else [_file.c.genre == genre]
        match order:
            case SongOrder.RANDOM:
                ordering: tuple[Any, ...] = (_shuffled(_file.c.id, seed), _file.c.id)
            case SongOrder.NEWEST:
                ordering = (_file.c.upload_date.desc(), _file.c.id.desc())
            case _:
                ordering = (_file.c.id,)
        page = (
            self._song_rows(visible)
            .add_columns(func.count().over().label("total"))
            .where(*where)
            .order_by(*ordering)
            .offset(skip)
            .limit(limit)
        )
        count = select(func.count()).select_from(
            _visible_songs(visible, _song.c.audio_file_id).where(*where).subquery()
        )
        rows, total = await self._paged(page, count, skip)
        return Page(self._song_views(rows), total, skip)

    async def search_songs(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[SongView]:
        chosen = self._text_match(_song, _song.c.audio_file_id, query)
        page = (
            self._song_rows(visible)
            .add_columns(func.count().over().label("total"))
            .where(chosen)
            .order_by(_rank(_song.c.search, query), _song.c.search, _file.c.id)
            .offset(skip)
            .limit(limit)
        )
        count = select(func.count()).select_from(
            _visible_songs(visible, _song.c.audio_file_id).where(chosen).subquery()
        )
        rows, total = await self._paged(page, count, skip)
        return Page(self._song_views(rows), total, skip)

    # ------------------------------------------------------------------ collections

    async def search_collections(self, visible: Spec, query: str, *, skip: int, limit: int) -> Page[int]:
        indexed = library_collections
        joined = indexed.join(collections, collections.c.id == indexed.c.collection_id).join(
            _holder, _holder.c.id == collections.c.owner_id
        )
        chosen = and_(self._text_match(indexed, indexed.c.collection_id, query), collection_condition(visible))
        page = (
            select(collections.c.id, func.count().over().label("total"))
            .select_from(joined)
            .where(chosen)
            .order_by(_rank(indexed.c.search, query), indexed.c.search, collections.c.id)
            .offset(skip)
            .limit(limit)
        )
        rows, total = await self._paged(page, select(func.count()).select_from(joined).where(chosen), skip)
        return Page([row["id"] for row in rows], total, skip)
