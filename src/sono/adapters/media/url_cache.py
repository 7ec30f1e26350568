"""``SignedUrlCache`` in the process's memory: the most recently used signed URLs by object key and
expiry, up to a number (``signed_urls`` in the metrics; one instance per process, held by its
ports). Nothing to invalidate: a URL is the same for an object key and an expiry, and a new expiry
is a new entry (the old ones age out)."""

from __future__ import annotations

from sono.adapters.lru import KeptIn, Lru
from sono.application.metrics import Metrics

DEFAULT_ENTRIES = 20_000


class MemorySignedUrlCache(KeptIn[tuple[str, int], str]):
    NAME = "signed_urls"

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, *, metrics: Metrics | None = None) -> None:
        self._kept = Lru(self.NAME, max_entries=max_entries, weigh=len, metrics=metrics)

    def get(self, key: str, expires: int) -> str | None:
        return self._kept.get((key, expires))

    def put(self, key: str, expires: int, url: str) -> None:
        self._kept.put((key, expires), url)
