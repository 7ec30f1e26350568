"""Stars and plays, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sono.domain.annotations import PlayCount, Star, StarKind, after_listen, newest_stars_first
from tests.fakes.repositories.base import FakeRepository, fake_table, foreign_key, repository


@dataclass
class StarRow:
    """A ``stars`` row (keyed by user, kind and item)."""

    user_id: int
    item_type: str
    item_id: int
    starred_at: datetime

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.user_id, self.item_type, self.item_id)


@dataclass
class PlayCountRow:
    """A ``play_counts`` row (keyed by user and file)."""

    user_id: int
    audio_file_id: int
    count: int
    last_played: datetime

    @property
    def key(self) -> tuple[int, int]:
        return (self.user_id, self.audio_file_id)


fake_table("stars", "stars", key="key")
fake_table("play_counts", "play_counts", key="key")
foreign_key("stars", "user_id", "users")
foreign_key("play_counts", "user_id", "users")
foreign_key("play_counts", "audio_file_id", "audio_files")


@repository("annotations")
class FakeAnnotationRepository(FakeRepository):
    async def star(self, user_id: int, kind: StarKind, item_ids: Sequence[int], at: datetime) -> None:
        for item_id in sorted(set(item_ids)):
            if (user_id, kind.value, item_id) not in self.db.stars:
                self.session.insert(self.db.stars, StarRow(user_id, kind.value, item_id, at))

    async def unstar(self, user_id: int, kind: StarKind, item_ids: Sequence[int]) -> None:
        wanted = set(item_ids)
        self.session.delete_where(
            self.db.stars, lambda r: r.user_id == user_id and r.item_type == kind.value and r.item_id in wanted
        )

    async def stars_of(self, user_id: int) -> list[Star]:
        rows = self.session.select(self.db.stars, lambda r: r.user_id == user_id)
        return newest_stars_first([Star(r.user_id, StarKind(r.item_type), r.item_id, r.starred_at) for r in rows])

    async def record_play(self, user_id: int, audio_file_id: int, at: datetime) -> None:
        row = self.session.get(self.db.play_counts, (user_id, audio_file_id))
        if row is None:
            count, last = after_listen(0, None, at)
            self.session.insert(self.db.play_counts, PlayCountRow(user_id, audio_file_id, count, last))
        else:
            row.count, row.last_played = after_listen(row.count, row.last_played, at)

    async def plays_of(self, user_id: int) -> list[PlayCount]:
        rows = self.session.select(self.db.play_counts, lambda r: r.user_id == user_id)
        rows.sort(key=lambda r: (-r.last_played.timestamp(), r.audio_file_id))
        return [PlayCount(r.user_id, r.audio_file_id, r.count, r.last_played) for r in rows]

    async def forget_stars(self, kind: StarKind, item_ids: Sequence[int]) -> None:
        wanted = set(item_ids)
        self.session.delete_where(self.db.stars, lambda r: r.item_type == kind.value and r.item_id in wanted)
