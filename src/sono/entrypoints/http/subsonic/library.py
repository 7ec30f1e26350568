"""The Subsonic methods over the library read model (artists, albums, genres and songs derived from
tags; ``sono.application.library``) and the caller's stars and plays
(``sono.application.annotations``): browsing by ID3 tags and by "folders" (a thin shim over the
same artists and albums), lists, search, star/unstar, scrobble and the starred lists.

Everything counts and lists only what the caller may see: the core's queries decide (an artist or
album none of whose songs the caller may see is not found, 70).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sono.application.annotations.messages import AnnotateSongs, GetStarred, RecordPlays, StarItems, UnstarItems
from sono.application.library.messages import (
    LIMIT_MAX,
    AlbumView,
    ArtistView,
    CoverArt,
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
    SongView,
)
from sono.application.values import Page
from sono.domain.annotations import SongAnnotation
from sono.domain.audio import AudioFile
from sono.domain.errors import ValidationFailed
from sono.domain.library import AlbumSort, SearchKind, SongOrder
from sono.entrypoints.http.subsonic import mapping
from sono.entrypoints.http.subsonic.endpoint import METHODS, Answer, Call
from sono.entrypoints.subsonic import errors, ids
from sono.entrypoints.subsonic.ids import InvalidId, Kind
from sono.entrypoints.subsonic.response import render_ok
from sono.entrypoints.subsonic.shapes import Responses

T = TypeVar("T")

IGNORED_ARTICLES = ("The", "El", "La", "Los", "Las", "Le", "Les")
EVERYTHING_MAX = 20_000
"""At most this many artists in ``getArtists``/``getIndexes`` (they are not paged by the protocol)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LIST_TYPES = {
    "random": AlbumSort.RANDOM,
    "newest": AlbumSort.NEWEST,
    "highest": AlbumSort.NEWEST,  # no ratings yet: the newest, as the issue allows
    "alphabeticalByName": AlbumSort.NAME,
    "alphabeticalByArtist": AlbumSort.ARTIST,
    "byYear": AlbumSort.YEAR,
    "byGenre": AlbumSort.NAME,
    "frequent": AlbumSort.FREQUENT,  # the caller's own listens (scrobbles)
    "recent": AlbumSort.RECENT,
}


# --------------------------------------------------------------------------- helpers


def _id(call: Call, text: str, *kinds: Kind) -> ids.ItemId:
    try:
        return ids.parse_item(text, *kinds)
    except InvalidId:
        raise errors.not_found() from None


def _required_id(call: Call, name: str, *kinds: Kind) -> ids.ItemId:
    return _id(call, call.request.required(name), *kinds)


async def _every(fetch: Callable[[int, int], Awaitable[Page[T]]], cap: int) -> list[T]:
    """Every item of a paged query, at most ``cap``."""
    found: list[T] = []
    while len(found) < cap:
        page = await fetch(len(found), min(LIMIT_MAX, cap - len(found)))
        found.extend(page.items)
        if not page.items or not page.has_more:
            break
    return found


def cover(art: CoverArt | None) -> str | None:
    """An album's or artist's cover: the cover of one of its visible songs (a song cover id, so
    ``getCoverArt`` checks that song's visibility)."""
    if art is None:
        return None
    return ids.cover_id(Kind.TRACK, art.audio_id, ids.cover_version(art.key))


async def notes_of(call: Call, audio: Sequence[AudioFile]) -> dict[int, SongAnnotation]:
    """The caller's star, play count and last play of these files (one read)."""
    wanted = tuple(a.id for a in audio if a.id is not None)
    if not wanted or call.actor.user_id is None:
        return {}
    return await call.container.bus(AnnotateSongs(wanted), call.actor)


def song(view: SongView, notes: dict[int, SongAnnotation]) -> dict[str, Any]:
    album_id = ids.item_id(Kind.ALBUM, view.album_id)
    return mapping.child(
        view.audio,
        parent=album_id,
        albumId=album_id,
        artistId=ids.item_id(Kind.ARTIST, view.artist_id),
        artist=view.artist,
        album=view.album,
        **mapping.annotated(notes.get(view.audio.id or 0)),
    )


async def songs(call: Call, views: Sequence[SongView]) -> list[dict[str, Any]]:
    notes = await notes_of(call, [v.audio for v in views])
    return [song(v, notes) for v in views]


def album_id3(view: AlbumView, starred: dict[int, datetime]) -> dict[str, Any]:
    return {
        "id": ids.item_id(Kind.ALBUM, view.id),
        "name": view.name,
        "artist": view.artist,
        "artistId": ids.item_id(Kind.ARTIST, view.artist_id),
        "coverArt": cover(view.cover),
        "songCount": view.song_count,
        "duration": round(view.duration),
        "created": view.created or EPOCH,
        "starred": starred.get(view.id),
        "year": view.year,
        "genre": view.genre,
    }


def album_child(view: AlbumView, starred: dict[int, datetime]) -> dict[str, Any]:
    """An album as a directory entry (``getAlbumList``, ``getMusicDirectory``, ``search2``)."""
    return {
        "id": ids.item_id(Kind.ALBUM, view.id),
        "parent": ids.item_id(Kind.ARTIST, view.artist_id),
        "isDir": True,
        "title": view.name,
        "album": view.name,
        "artist": view.artist,
        "year": view.year,
        "genre": view.genre,
        "coverArt": cover(view.cover),
        "duration": round(view.duration),
        "created": view.created,
        "starred": starred.get(view.id),
        "albumId": ids.item_id(Kind.ALBUM, view.id),
        "artistId": ids.item_id(Kind.ARTIST, view.artist_id),
    }


def artist_id3(view: ArtistView, starred: dict[int, datetime]) -> dict[str, Any]:
    return {
        "id": ids.item_id(Kind.ARTIST, view.id),
        "name": view.name,
        "coverArt": cover(view.cover),
        "albumCount": view.album_count,
        "starred": starred.get(view.id),
    }


def artist(view: ArtistView, starred: dict[int, datetime]) -> dict[str, Any]:
    return {"id": ids.item_id(Kind.ARTIST, view.id), "name": view.name, "starred": starred.get(view.id)}


async def starred_of(call: Call) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """When the caller starred each album and each artist (one read)."""
    if call.actor.user_id is None:
        return {}, {}
    stars = await call.container.bus(GetStarred(), call.actor)
    return {s.item_id: s.starred_at for s in stars.albums}, {s.item_id: s.starred_at for s in stars.artists}


def index_name(name: str) -> str:
    """The A-Z group of an artist, its leading article ignored (``#`` for anything else)."""
    words = name.split(maxsplit=1)
    if len(words) == 2 and words[0].casefold() in {a.casefold() for a in IGNORED_ARTICLES}:
        name = words[1]
    first = unicodedata.normalize("NFKD", name[:1]).encode("ascii", "ignore").decode("ascii").upper()
    return first if "A" <= first <= "Z" and len(first) == 1 else "#"


def indexed(artists: Sequence[ArtistView], shape: Callable[[ArtistView], dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for view in artists:
        groups.setdefault(index_name(view.name), []).append(shape(view))
    return [{"name": name, "artist": groups[name]} for name in sorted(groups)]


def _paging(call: Call, size: str, offset: str, default: int = 10) -> tuple[int, int]:
    count = call.request.integer(size, default, minimum=0, maximum=LIMIT_MAX) or 0
    skip = call.request.integer(offset, 0, minimum=0) or 0
    return count, skip


# --------------------------------------------------------------------------- browsing


@METHODS.add("getSong")
async def get_song(call: Call) -> Answer:
    """A song the caller may see, with where the library files it (album and artist ids)."""
    number = _required_id(call, "id", Kind.TRACK).number
    view = await call.container.bus(GetSong(number), call.actor)
    return render_ok(call.format, Responses.SONG, (await songs(call, [view]))[0])


async def _artists(call: Call) -> list[ArtistView]:
    bus, actor = call.container.bus, call.actor
    return await _every(lambda skip, limit: bus(ListArtists(skip=skip, limit=limit), actor), EVERYTHING_MAX)


@METHODS.add("getArtists")
async def get_artists(call: Call) -> Answer:
    _, starred = await starred_of(call)
    index = indexed(await _artists(call), lambda v: artist_id3(v, starred))
    value = {"ignoredArticles": " ".join(IGNORED_ARTICLES), "index": index}
    return render_ok(call.format, Responses.ARTISTS, value)


@METHODS.add("getIndexes")
async def get_indexes(call: Call) -> Answer:
    _, starred = await starred_of(call)
    index = indexed(await _artists(call), lambda v: artist(v, starred))
    value = {"lastModified": 0, "ignoredArticles": " ".join(IGNORED_ARTICLES), "index": index}
    return render_ok(call.format, Responses.INDEXES, value)


@METHODS.add("getArtist")
async def get_artist(call: Call) -> Answer:
    number = _required_id(call, "id", Kind.ARTIST).number
    detail = await call.container.bus(GetArtist(number), call.actor)
    albums_starred, artists_starred = await starred_of(call)
    value = artist_id3(detail.artist, artists_starred) | {
        "album": [album_id3(a, albums_starred) for a in detail.albums]
    }
    return render_ok(call.format, Responses.ARTIST, value)


@METHODS.add("getAlbum")
async def get_album(call: Call) -> Answer:
    number = _required_id(call, "id", Kind.ALBUM).number
    detail = await call.container.bus(GetAlbum(number), call.actor)
    albums_starred, _ = await starred_of(call)
    value = album_id3(detail.album, albums_starred) | {"song": await songs(call, detail.songs)}
    return render_ok(call.format, Responses.ALBUM, value)


@METHODS.add("getMusicDirectory")
async def get_music_directory(call: Call) -> Answer:
    """An artist as a directory of its albums, an album as a directory of its songs."""
    wanted = _required_id(call, "id", Kind.ARTIST, Kind.ALBUM)
    albums_starred, artists_starred = await starred_of(call)
    if wanted.kind is Kind.ARTIST:
        detail = await call.container.bus(GetArtist(wanted.number), call.actor)
        value: dict[str, Any] = {
            "id": str(wanted),
            "name": detail.artist.name,
            "starred": artists_starred.get(wanted.number),
            "child": [album_child(a, albums_starred) for a in detail.albums],
        }
    else:
        album = await call.container.bus(GetAlbum(wanted.number), call.actor)
        value = {
            "id": str(wanted),
            "parent": ids.item_id(Kind.ARTIST, album.album.artist_id),
            "name": album.album.name,
            "starred": albums_starred.get(wanted.number),
            "child": await songs(call, album.songs),
        }
    return render_ok(call.format, Responses.DIRECTORY, value)


@METHODS.add("getGenres")
async def get_genres(call: Call) -> Answer:
    bus, actor = call.container.bus, call.actor
    found = await _every(lambda skip, limit: bus(ListGenres(skip=skip, limit=limit), actor), EVERYTHING_MAX)
    genres = [{"value": g.name, "songCount": g.song_count, "albumCount": g.album_count} for g in found]
    return render_ok(call.format, Responses.GENRES, {"genre": genres})


# --------------------------------------------------------------------------- lists


async def _album_list(call: Call) -> list[AlbumView]:
    kind = call.request.required("type")
    size, offset = _paging(call, "size", "offset")
    bus, actor = call.container.bus, call.actor
    if size == 0:
        return []
    if kind == "starred":
        stars = await bus(GetStarred(), actor)  # newest first; those no longer visible are left out
        wanted = tuple(star.item_id for star in stars.albums[offset : offset + size])
        return await bus(GetAlbums(wanted), actor) if wanted else []
    sort = _LIST_TYPES.get(kind)
    if sort is None:
        raise errors.generic(f"Unknown list type: {kind[:40]}")
    query = ListAlbums(sort=sort, skip=offset, limit=size)
    if kind == "byYear":
        first = call.request.integer("fromYear", minimum=-(10**6), maximum=10**6)
        last = call.request.integer("toYear", minimum=-(10**6), maximum=10**6)
        if first is None:
            raise errors.missing_parameter("fromYear")
        if last is None:
            raise errors.missing_parameter("toYear")
        if first > last:  # latest first, as the API says
            sort, first, last = AlbumSort.YEAR_DESCENDING, last, first
        query = ListAlbums(sort=sort, from_year=first, to_year=last, skip=offset, limit=size)
    elif kind == "byGenre":
        query = ListAlbums(sort=sort, genre=call.request.required("genre"), skip=offset, limit=size)
    return list((await bus(query, actor)).items)


@METHODS.add("getAlbumList2")
async def get_album_list2(call: Call) -> Answer:
    albums = await _album_list(call)
    starred, _ = await starred_of(call)
    return render_ok(call.format, Responses.ALBUM_LIST2, {"album": [album_id3(a, starred) for a in albums]})


@METHODS.add("getAlbumList")
async def get_album_list(call: Call) -> Answer:
    albums = await _album_list(call)
    starred, _ = await starred_of(call)
    return render_ok(call.format, Responses.ALBUM_LIST, {"album": [album_child(a, starred) for a in albums]})


@METHODS.add("getRandomSongs")
async def get_random_songs(call: Call) -> Answer:
    size, _ = _paging(call, "size", "offset")
    found: Sequence[SongView] = []
    if size:
        genre = call.request.first("genre") or None
        found = (await call.container.bus(ListSongs(genre=genre, order=SongOrder.RANDOM, limit=size), call.actor)).items
    return render_ok(call.format, Responses.RANDOM_SONGS, {"song": await songs(call, found)})


@METHODS.add("getSongsByGenre")
async def get_songs_by_genre(call: Call) -> Answer:
    genre = call.request.required("genre")
    count, offset = _paging(call, "count", "offset")
    found: Sequence[SongView] = []
    if count:
        query = ListSongs(genre=genre, order=SongOrder.STABLE, skip=offset, limit=count)
        found = (await call.container.bus(query, call.actor)).items
    return render_ok(call.format, Responses.SONGS_BY_GENRE, {"song": await songs(call, found)})


# --------------------------------------------------------------------------- search


def search_text(call: Call) -> str:
    """The query as players send it: ``""`` (two quote characters) and a trailing ``*`` mean
    nothing (an empty query lists everything: Symfonium's library sync)."""
    text = (call.request.first("query") or "").strip()
    if text == '""':
        return ""
    return text.rstrip("*").strip()


async def _search(call: Call) -> tuple[list[ArtistView], list[AlbumView], list[SongView]]:
    text = search_text(call)
    artist_count, artist_offset = _paging(call, "artistCount", "artistOffset", 20)
    album_count, album_offset = _paging(call, "albumCount", "albumOffset", 20)
    song_count, song_offset = _paging(call, "songCount", "songOffset", 20)
    bus, actor = call.container.bus, call.actor
    artists: Sequence[ArtistView] = []
    albums: Sequence[AlbumView] = []
    found: Sequence[SongView] = []
    if not text:  # everything, in a stable order
        if artist_count:
            artists = (await bus(ListArtists(skip=artist_offset, limit=artist_count), actor)).items
        if album_count:
            query = ListAlbums(sort=AlbumSort.NAME, skip=album_offset, limit=album_count)
            albums = (await bus(query, actor)).items
        if song_count:
            songs_query = ListSongs(order=SongOrder.STABLE, skip=song_offset, limit=song_count)
            found = (await bus(songs_query, actor)).items
        return list(artists), list(albums), list(found)
    try:
        if artist_count:
            hit = await bus(Search(text, frozenset({SearchKind.ARTISTS}), artist_offset, artist_count), actor)
            artists = hit.artists.items if hit.artists else []
        if album_count:
            hit = await bus(Search(text, frozenset({SearchKind.ALBUMS}), album_offset, album_count), actor)
            albums = hit.albums.items if hit.albums else []
        if song_count:
            hit = await bus(Search(text, frozenset({SearchKind.SONGS}), song_offset, song_count), actor)
            found = hit.songs.items if hit.songs else []
    except ValidationFailed:  # a query with nothing to search for (punctuation only, too long)
        return [], [], []
    return list(artists), list(albums), list(found)


async def _found(
    call: Call,
    artists: Sequence[ArtistView],
    albums: Sequence[AlbumView],
    found: Sequence[SongView],
    *,
    id3: bool,
    starred: tuple[dict[int, datetime], dict[int, datetime]] | None = None,
) -> dict[str, Any]:
    """Artists, albums and songs as one answer's lists: in the ID3 shapes (``search3``,
    ``getStarred2``) or as directory entries (``search2``, ``getStarred``). ``starred``: when the
    caller starred each album and each artist, when it was read already (else it is read here)."""
    albums_starred, artists_starred = starred if starred is not None else await starred_of(call)
    shape_artist = artist_id3 if id3 else artist
    shape_album = album_id3 if id3 else album_child
    return {
        "artist": [shape_artist(a, artists_starred) for a in artists],
        "album": [shape_album(a, albums_starred) for a in albums],
        "song": await songs(call, found),
    }


@METHODS.add("search3")
async def search3(call: Call) -> Answer:
    return render_ok(call.format, Responses.SEARCH_RESULT3, await _found(call, *await _search(call), id3=True))


@METHODS.add("search2")
async def search2(call: Call) -> Answer:
    return render_ok(call.format, Responses.SEARCH_RESULT2, await _found(call, *await _search(call), id3=False))


# --------------------------------------------------------------------------- stars and plays


def _targets(call: Call) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The songs, albums and artists of ``id`` (any of the three), ``albumId`` and ``artistId``."""
    found: dict[Kind, list[int]] = {Kind.TRACK: [], Kind.ALBUM: [], Kind.ARTIST: []}
    for name, kinds in (
        ("id", (Kind.TRACK, Kind.ALBUM, Kind.ARTIST)),
        ("albumId", (Kind.ALBUM,)),
        ("artistId", (Kind.ARTIST,)),
    ):
        for text in call.request.all(name):
            if text:
                item = _id(call, text, *kinds)
                found[item.kind].append(item.number)
    if not any(found.values()):
        raise errors.missing_parameter("id")
    return tuple(found[Kind.TRACK]), tuple(found[Kind.ALBUM]), tuple(found[Kind.ARTIST])


@METHODS.add("star")
async def star(call: Call) -> Answer:
    songs_, albums, artists = _targets(call)
    await call.container.bus(StarItems(songs_, albums, artists), call.actor)
    return render_ok(call.format)


@METHODS.add("unstar")
async def unstar(call: Call) -> Answer:
    songs_, albums, artists = _targets(call)
    await call.container.bus(UnstarItems(songs_, albums, artists), call.actor)
    return render_ok(call.format)


@METHODS.add("scrobble")
async def scrobble(call: Call) -> Answer:
    """Finished listens (``submission`` not false) of ``id`` at ``time`` (milliseconds since the
    epoch; now when not given), each repeatable and paired in order."""
    numbers = [_id(call, text, Kind.TRACK).number for text in call.request.all("id") if text]
    if not numbers:
        raise errors.missing_parameter("id")
    times: list[datetime | None] = []
    for text in call.request.all("time"):
        if not text.isascii() or not text.isdigit() or len(text) > 15:
            raise errors.generic("Parameter time must be milliseconds since the epoch")
        times.append(datetime.fromtimestamp(int(text) / 1000, UTC))
    plays = tuple((number, times[i] if i < len(times) else None) for i, number in enumerate(numbers))
    submission = call.request.boolean("submission", True)
    await call.container.bus(RecordPlays(plays, submission), call.actor)
    return render_ok(call.format)


async def _starred(call: Call, *, id3: bool) -> dict[str, Any]:
    """The caller's starred artists, albums and songs that they may still see, newest first, as
    one answer's lists (the one read of their stars serves both the lists and the ``starred`` dates)."""
    stars = await call.container.bus(GetStarred(), call.actor)
    bus, actor = call.container.bus, call.actor
    artist_ids = tuple(s.item_id for s in stars.artists)[:LIMIT_MAX]
    album_ids = tuple(s.item_id for s in stars.albums)[:LIMIT_MAX]
    song_ids = tuple(s.item_id for s in stars.songs)[:LIMIT_MAX]
    artists = await bus(GetArtists(artist_ids), actor) if artist_ids else []
    albums = await bus(GetAlbums(album_ids), actor) if album_ids else []
    found = await bus(GetSongs(song_ids), actor) if song_ids else []
    starred = {s.item_id: s.starred_at for s in stars.albums}, {s.item_id: s.starred_at for s in stars.artists}
    return await _found(call, artists, albums, found, id3=id3, starred=starred)


@METHODS.add("getStarred2")
async def get_starred2(call: Call) -> Answer:
    return render_ok(call.format, Responses.STARRED2, await _starred(call, id3=True))


@METHODS.add("getStarred")
async def get_starred(call: Call) -> Answer:
    return render_ok(call.format, Responses.STARRED, await _starred(call, id3=False))
