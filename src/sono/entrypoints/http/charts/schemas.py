"""The shapes of the charts' answers, exactly as the endpoint reference shows them (ranks and counts
are integers; ``scraped_at`` and ``peak_date`` are null when the charts database does not know
them), and their presenters."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec

from sono.domain.charts import ArtistSearch, MonthlyListeners, Song, StreamedArtist


class StreamedArtistOut(msgspec.Struct):
    rank: int
    artist: str
    streams: int | None
    daily: int | None
    as_lead: int | None
    solo: int | None
    as_feature: int | None
    scraped_at: datetime | None


class MonthlyListenersOut(msgspec.Struct):
    rank: int
    artist: str
    listeners: int | None
    peak: int | None
    peak_date: date | None
    scraped_at: datetime | None


class SongOut(msgspec.Struct):
    rank: int
    title: str
    artist: str
    streams: int | None
    daily: int | None
    scraped_at: datetime | None


class ArtistSearchOut(msgspec.Struct):
    top_streamed: list[StreamedArtistOut]
    monthly_listeners: list[MonthlyListenersOut]
    top_songs: list[SongOut]


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC at most to the millisecond (rendered as ``...Z``)."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def streamed_artist_out(row: StreamedArtist) -> StreamedArtistOut:
    return StreamedArtistOut(
        row.rank, row.artist, row.streams, row.daily, row.as_lead, row.solo, row.as_feature, _utc(row.scraped_at)
    )


def monthly_listeners_out(row: MonthlyListeners) -> MonthlyListenersOut:
    return MonthlyListenersOut(row.rank, row.artist, row.listeners, row.peak, row.peak_date, _utc(row.scraped_at))


def song_out(row: Song) -> SongOut:
    return SongOut(row.rank, row.title, row.artist, row.streams, row.daily, _utc(row.scraped_at))


def artist_search_out(found: ArtistSearch) -> ArtistSearchOut:
    return ArtistSearchOut(
        top_streamed=[streamed_artist_out(row) for row in found.top_streamed],
        monthly_listeners=[monthly_listeners_out(row) for row in found.monthly_listeners],
        top_songs=[song_out(row) for row in found.top_songs],
    )
