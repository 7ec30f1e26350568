"""``AudioListCache`` in the process's memory: public list answers by page and URL expiry, each
kept with the page it was made from, with hit and miss counters, reported with its size to the
metrics (``public_audio``; one instance per process, held by its ports).

An answer is given out again only for the same page: the very page object (the catalog hands out
the same one while the database is unchanged) or one equal to it, field by field, in every file
and owner (a page read anew, e.g. on PostgreSQL). Whatever a request shows of a file or its owner
is such a field, so a kept answer is the answer that page would get. Writes of audio files drop
every answer at once (``invalidate``), before the page would tell."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any

from sono.application.audio.ports import AudioList, ListKey, OwnedAudio
from sono.application.metrics import Metrics, NoMetrics
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


class MemoryAudioListCache:
    NAME = "public_audio"

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, *, metrics: Metrics | None = None) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        self.max_entries = max_entries
        self._metrics = metrics or NoMetrics()
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[ListKey, _Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    async def get(self, key: ListKey, source: Page[OwnedAudio]) -> AudioList | None:
        kept = self._answers.get(key)
        hit = kept is not None and (kept.source is source or kept.fingerprint == fingerprint(source))
        self._metrics.cache_lookup(self.NAME, hit)
        if not hit:
            self.misses += 1
            return None
        assert kept is not None
        self.hits += 1
        self._answers.move_to_end(key)
        return kept.answer

    async def put(self, key: ListKey, source: Page[OwnedAudio], answer: AudioList) -> None:
        if self.max_entries == 0:
            return
        self._answers[key] = _Kept(source, fingerprint(source), answer)
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)
        self._report()

    async def invalidate(self) -> None:
        if self._answers:
            self._answers.clear()
            self._report()

    def _report(self) -> None:
        self._metrics.cache_size(self.NAME, len(self._answers), 0)
