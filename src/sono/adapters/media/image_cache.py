"""``ImageCache`` in the process's memory: the most recently used resized images up to a total
size, with hit and miss counters, reported with its size to the metrics (``cover_art``; one
instance per process, held by its ports). Nothing to invalidate: a key names an object's content
(cover ids carry a version) and a size."""

from __future__ import annotations

from collections import OrderedDict

from sono.application.metrics import Metrics, NoMetrics
from sono.domain.media import ProcessedImage

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class MemoryImageCache:
    NAME = "cover_art"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, *, metrics: Metrics | None = None) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._metrics = metrics or NoMetrics()
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._images: OrderedDict[str, ProcessedImage] = OrderedDict()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._images)

    async def get(self, key: str) -> ProcessedImage | None:
        image = self._images.get(key)
        self._metrics.cache_lookup(self.NAME, image is not None)
        if image is None:
            self.misses += 1
            return None
        self.hits += 1
        self._images.move_to_end(key)
        return image

    async def put(self, key: str, image: ProcessedImage) -> None:
        if len(image.data) > self.max_bytes:
            return
        old = self._images.pop(key, None)
        if old is not None:
            self._bytes -= len(old.data)
        self._images[key] = image
        self._bytes += len(image.data)
        while self._bytes > self.max_bytes:
            _, dropped = self._images.popitem(last=False)
            self._bytes -= len(dropped.data)
        self._metrics.cache_size(self.NAME, len(self._images), self._bytes)
