"""Stars and plays: a signed-in user stars and unstars songs, albums and artists they may see,
records finished listens, and reads their stars and their annotations of files shown to them.

Lock order (``sono.application.uow``): the bus holds the caller's row; the files named are held
next (so a deletion of one either committed before, and the file is 404, or waits until this
commits and then removes the stars with the file); the star and play rows are written last."""

from __future__ import annotations

from collections.abc import Sequence

from sono.application.annotations.messages import (
    AnnotateSongs,
    GetStarred,
    RecordPlays,
    StarItems,
    Starred,
    UnstarItems,
)
from sono.application.annotations.ports import SongAnnotations
from sono.application.audio.visibility import visible_audio_ids
from sono.application.bus import Context, handles
from sono.application.ports import Clock
from sono.application.values import Problems
from sono.domain.annotations import (
    ALBUM_NOT_FOUND,
    ARTIST_NOT_FOUND,
    PLAYS_MAX,
    STARS_MAX,
    TOO_MANY_PLAYS,
    TOO_MANY_STARS,
    SongAnnotation,
    StarKind,
    listened_at,
)
from sono.domain.audio import AUDIO_NOT_FOUND
from sono.domain.errors import NotFound
from sono.domain.library import visible_songs

_MISSING = {StarKind.SONG: AUDIO_NOT_FOUND, StarKind.ALBUM: ALBUM_NOT_FOUND, StarKind.ARTIST: ARTIST_NOT_FOUND}


class AnnotationHandlers:
    def __init__(self, clock: Clock, songs: SongAnnotations | None = None) -> None:
        self._clock = clock
        self._songs = songs

    @handles(StarItems)
    async def star(self, command: StarItems, ctx: Context) -> None:
        items = _items(command.songs, command.albums, command.artists)
        songs = items[StarKind.SONG]
        await ctx.uow.audio_files.hold(songs)
        for kind, ids in items.items():
            if set(ids) - await self._visible(ctx, kind, ids):
                raise NotFound(_MISSING[kind])
        now = self._clock.now()
        for kind, ids in items.items():
            if ids:
                await ctx.uow.annotations.star(ctx.actor.id, kind, ids, now)

    @handles(UnstarItems)
    async def unstar(self, command: UnstarItems, ctx: Context) -> None:
        items = _items(command.songs, command.albums, command.artists)
        for kind, ids in items.items():
            if set(ids) - await self._visible(ctx, kind, ids):
                raise NotFound(_MISSING[kind])
        for kind, ids in items.items():
            if ids:
                await ctx.uow.annotations.unstar(ctx.actor.id, kind, ids)

    @handles(RecordPlays)
    async def record(self, command: RecordPlays, ctx: Context) -> None:
        problems = Problems()
        if len(command.plays) > PLAYS_MAX:
            problems.check("plays", [TOO_MANY_PLAYS])
        problems.raise_if_any()
        ids = sorted({audio_id for audio_id, _ in command.plays})
        await ctx.uow.audio_files.hold(ids)
        if set(ids) - await self._visible(ctx, StarKind.SONG, ids):
            raise NotFound(AUDIO_NOT_FOUND)
        if not command.submission:
            return
        now = self._clock.now()
        listens = sorted((audio_id, listened_at(at, now)) for audio_id, at in command.plays)
        for audio_id, at in listens:  # counters in ascending id (the lock order); the result is the same in any
            await ctx.uow.annotations.record_play(ctx.actor.id, audio_id, at)

    @handles(GetStarred)
    async def starred(self, query: GetStarred, ctx: Context) -> Starred:
        stars = await ctx.uow.annotations.stars_of(ctx.actor.id)
        shown: dict[StarKind, set[int]] = {}
        for kind in StarKind:
            ids = [star.item_id for star in stars if star.kind == kind]
            shown[kind] = await self._visible(ctx, kind, ids) if ids else set()
        listed = {kind: [s for s in stars if s.kind == kind and s.item_id in shown[kind]] for kind in StarKind}
        return Starred(listed[StarKind.SONG], listed[StarKind.ALBUM], listed[StarKind.ARTIST])

    @handles(AnnotateSongs)
    async def annotate(self, query: AnnotateSongs, ctx: Context) -> dict[int, SongAnnotation]:
        if not query.audio_ids:
            return {}
        if self._songs is None:
            raise RuntimeError("no SongAnnotations port")
        return await self._songs.songs(ctx.actor.id, query.audio_ids)

    async def _visible(self, ctx: Context, kind: StarKind, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        if kind is StarKind.SONG:
            return await visible_audio_ids(ctx.uow, ctx.actor.viewer, ids)
        # Albums and artists are the library's: visible when one of their songs is (its rule).
        visible = visible_songs(ctx.actor.viewer)
        if kind is StarKind.ALBUM:
            return {album.id for album in await ctx.uow.library.albums_by_id(visible, ids)}
        return {artist.id for artist in await ctx.uow.library.artists_by_id(visible, ids)}


def _items(songs: Sequence[int], albums: Sequence[int], artists: Sequence[int]) -> dict[StarKind, list[int]]:
    """The ids of each kind, each once in ascending order (the lock order); 422 beyond the limit."""
    items = {
        StarKind.SONG: sorted(set(songs)),
        StarKind.ALBUM: sorted(set(albums)),
        StarKind.ARTIST: sorted(set(artists)),
    }
    problems = Problems()
    if sum(len(ids) for ids in items.values()) > STARS_MAX:
        problems.check("items", [TOO_MANY_STARS])
    problems.raise_if_any()
    return items
