"""``CollectionDetails`` in the process's memory: the most recently read collection screens, one
per collection with the stamp it was made for, with hit and miss counters, reported with their size
to the metrics (``collection_detail``; one instance per process, held by its ports).

Nothing is invalidated by hand: a stamp names the state of the collection the detail shows (the
catalog's version: it changes with any change the catalog reads, in this process or another) and
the URLs' expiry, so a lookup with another stamp misses and drops the detail made for the old one.
The size is an estimate (what the kept objects weigh is not measured): a kilobyte per collection
and per track, and the URLs' length."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from sono.application.collections.views import CollectionDetail
from sono.application.metrics import Metrics, NoMetrics

DEFAULT_MAX_ENTRIES = 256
_APPROX_ITEM_BYTES = 1024


def approximate_bytes(detail: CollectionDetail) -> int:
    items = 1 + len(detail.view.tracks or ())
    return items * _APPROX_ITEM_BYTES + sum(len(url) for url in detail.urls.values())


class MemoryCollectionDetails:
    NAME = "collection_detail"

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, *, metrics: Metrics | None = None) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        self.max_entries = max_entries
        self._metrics = metrics or NoMetrics()
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._kept: OrderedDict[int, tuple[Hashable, CollectionDetail, int]] = OrderedDict()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._kept)

    async def get(self, collection_id: int, stamp: Hashable) -> CollectionDetail | None:
        kept = self._kept.get(collection_id)
        hit = kept is not None and kept[0] == stamp
        self._metrics.cache_lookup(self.NAME, hit)
        if not hit:
            self.misses += 1
            if kept is not None:  # made for another state of the collection (or URLs now expired)
                self._drop(collection_id)
                self._report()
            return None
        assert kept is not None
        self.hits += 1
        self._kept.move_to_end(collection_id)
        return kept[1]

    async def put(self, collection_id: int, stamp: Hashable, detail: CollectionDetail) -> None:
        if self.max_entries == 0:
            return
        self._drop(collection_id)
        size = approximate_bytes(detail)
        self._kept[collection_id] = (stamp, detail, size)
        self._bytes += size
        while len(self._kept) > self.max_entries:
            self._drop(next(iter(self._kept)))
        self._report()

    def _drop(self, collection_id: int) -> None:
        kept = self._kept.pop(collection_id, None)
        if kept is not None:
            self._bytes -= kept[2]

    def _report(self) -> None:
        self._metrics.cache_size(self.NAME, len(self._kept), self._bytes)
