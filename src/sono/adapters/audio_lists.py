"""``AudioListCache`` in the process's memory: public list answers by page and URL expiry, each
kept with the page it was made from (``public_audio`` in the metrics; one instance per process,
held by its ports).

An answer is given out again only for the same page: the very page object (the catalog hands out
the same one while the database is unchanged) or one equal to it, field by field, in every file
and owner (a page read anew, e.g. on PostgreSQL). Whatever a request shows of a file or its owner
is such a field, so a kept answer is the answer that page would get. Writes of audio files drop
every answer at once (``invalidate``), before the page would tell."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sono.adapters.lru import KeptIn, Lru
from sono.application.audio.ports import AudioList, ListKey, OwnedAudio
from sono.application.metrics import Metrics
from sono.application.values import Page
from sono.domain.audio import AudioFile
from sono.domain.users import User

DEFAULT_ENTRIES = 64
_AUDIO_FIELDS = tuple(field.name for field in fields(AudioFile))
_USER_FIELDS = tuple(field.name for field in fields(User))


def fingerprint(page: Page[OwnedAudio]) -> tuple[Any, ...]:
    """Every field of every file and owner on the page, and the page's place and total: two
    pages with equal fingerprints are presented alike."""
    rows = tuple(
        (
            tuple(getattr(entry.audio, name) for name in _AUDIO_FIELDS),
            tuple(getattr(entry.owner, name) for name in _USER_FIELDS),
        )
        for entry in page.items
    )
    return (page.total, page.skip, rows)


@dataclass(frozen=True, slots=True)
class _Kept:
    source: Page[OwnedAudio]
    fingerprint: tuple[Any, ...]
    answer: AudioList


class MemoryAudioListCache(KeptIn[ListKey, _Kept]):
    NAME = "public_audio"

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, *, metrics: Metrics | None = None) -> None:
        self.max_entries = max_entries
        self._kept = Lru(self.NAME, max_entries=max_entries, metrics=metrics)

    async def get(self, key: ListKey, source: Page[OwnedAudio]) -> AudioList | None:
        def same_page(kept: _Kept) -> bool:
            return kept.source is source or kept.fingerprint == fingerprint(source)

        kept = self._kept.get(key, same_page)
        return kept.answer if kept is not None else None

    async def put(self, key: ListKey, source: Page[OwnedAudio], answer: AudioList) -> None:
        self._kept.put(key, _Kept(source, fingerprint(source), answer))

    async def invalidate(self) -> None:
        self._kept.clear()
