"""``SongAnnotations`` over the fake database."""

from __future__ import annotations

from collections.abc import Iterable

from sono.domain.annotations import SongAnnotation, StarKind
from tests.fakes.repositories import FakeDatabase


class FakeSongAnnotations:
    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def songs(self, user_id: int, audio_ids: Iterable[int]) -> dict[int, SongAnnotation]:
        found = {}
        for audio_id in set(audio_ids):
            star = self._database.stars.get((user_id, StarKind.SONG.value, audio_id))
            plays = self._database.play_counts.get((user_id, audio_id))
            if star is None and plays is None:
                continue
            found[audio_id] = SongAnnotation(
                starred=star.starred_at if star else None,
                play_count=plays.count if plays else 0,
                last_played=plays.last_played if plays else None,
            )
        return found
