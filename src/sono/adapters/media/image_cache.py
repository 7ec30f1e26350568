"""``ImageCache`` in the process's memory: the most recently used resized images up to a total
size (``cover_art`` in the metrics; one instance per process, held by its ports). Nothing to
invalidate: a key names an object's content (cover ids carry a version) and a size."""

from __future__ import annotations

from sono.adapters.lru import KeptIn, Lru
from sono.application.metrics import Metrics
from sono.domain.media import ProcessedImage

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _weight(image: ProcessedImage) -> int:
    return len(image.data)


class MemoryImageCache(KeptIn[str, ProcessedImage]):
    NAME = "cover_art"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, *, metrics: Metrics | None = None) -> None:
        self.max_bytes = max_bytes
        self._kept = Lru(self.NAME, max_bytes=max_bytes, weigh=_weight, metrics=metrics)

    async def get(self, key: str) -> ProcessedImage | None:
        return self._kept.get(key)

    async def put(self, key: str, image: ProcessedImage) -> None:
        self._kept.put(key, image)
