"""``Renditions`` in the process's memory (``renditions`` in the metrics): what an entrypoint made
of a kept answer, kept with that answer (a strong reference, so the object compared is the object
kept) and given out only for it. One instance per process, held by its ports."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sono.adapters.lru import KeptIn, Lru
from sono.application.metrics import Metrics

DEFAULT_ENTRIES = 256


@dataclass(frozen=True, slots=True)
class _Rendition:
    source: object
    rendition: Any


class MemoryRenditions(KeptIn[Hashable, _Rendition]):
    NAME = "renditions"

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, *, metrics: Metrics | None = None) -> None:
        self._kept = Lru(self.NAME, max_entries=max_entries, metrics=metrics)

    def get(self, key: Hashable, source: object) -> Any | None:
        kept = self._kept.get(key, lambda kept: kept.source is source)
        return None if kept is None else kept.rendition

    def put(self, key: Hashable, source: object, rendition: Any) -> None:
        self._kept.put(key, _Rendition(source, rendition))
