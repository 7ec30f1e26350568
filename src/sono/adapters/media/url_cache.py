"""``SignedUrlCache`` in the process's memory: the most recently used signed URLs by object key and
expiry, up to a number, with hit and miss counters reported with its size to the metrics
(``signed_urls``; one instance per process, held by its ports). Nothing to invalidate: a URL is
the same for an object key and an expiry, and a new expiry is a new entry (the old ones age out)."""

from __future__ import annotations

from collections import OrderedDict

from sono.application.metrics import Metrics, NoMetrics

DEFAULT_ENTRIES = 20_000


class MemorySignedUrlCache:
    NAME = "signed_urls"

    def __init__(self, max_entries: int = DEFAULT_ENTRIES, *, metrics: Metrics | None = None) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        self.max_entries = max_entries
        self._metrics = metrics or NoMetrics()
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._urls: OrderedDict[tuple[str, int], str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._urls)

    def get(self, key: str, expires: int) -> str | None:
        url = self._urls.get((key, expires))
        self._metrics.cache_lookup(self.NAME, url is not None)
        if url is None:
            self.misses += 1
            return None
        self.hits += 1
        self._urls.move_to_end((key, expires))
        return url

    def put(self, key: str, expires: int, url: str) -> None:
        if self.max_entries == 0:
            return
        old = self._urls.pop((key, expires), None)
        if old is not None:
            self._bytes -= len(old)
        self._urls[key, expires] = url
        self._bytes += len(url)
        while len(self._urls) > self.max_entries:
            _, dropped = self._urls.popitem(last=False)
            self._bytes -= len(dropped)
        self._metrics.cache_size(self.NAME, len(self._urls), self._bytes)
