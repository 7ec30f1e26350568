"""``CollectionDetails`` in the process's memory: the most recently read collection screens, one
per collection with the stamp it was made for (``collection_detail`` in the metrics; one instance
per process, held by its ports).

Nothing is invalidated by hand: a stamp names the state of the collection the detail shows (the
catalog's version: it changes with any change the catalog reads, in this process or another) and
the URLs' expiry, so a lookup with another stamp misses and drops the detail made for the old one.
The size is an estimate (what the kept objects weigh is not measured): a kilobyte per collection
and per track, and the URLs' length."""

from __future__ import annotations

from collections.abc import Hashable

from sono.adapters.lru import KeptIn, Lru
from sono.application.collections.views import CollectionDetail
from sono.application.metrics import Metrics

DEFAULT_MAX_ENTRIES = 256
_APPROX_ITEM_BYTES = 1024


def approximate_bytes(detail: CollectionDetail) -> int:
    items = 1 + len(detail.view.tracks or ())
    return items * _APPROX_ITEM_BYTES + sum(len(url) for url in detail.urls.values())


def _weight(kept: tuple[Hashable, CollectionDetail]) -> int:
    return approximate_bytes(kept[1])


class MemoryCollectionDetails(KeptIn[int, tuple[Hashable, CollectionDetail]]):
    NAME = "collection_detail"

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, *, metrics: Metrics | None = None) -> None:
        self.max_entries = max_entries
        self._kept = Lru(self.NAME, max_entries=max_entries, weigh=_weight, metrics=metrics)

    async def get(self, collection_id: int, stamp: Hashable) -> CollectionDetail | None:
        """The detail kept for ``collection_id`` if it was made for ``stamp``; one made for another
        state of the collection (or URLs now expired) is dropped."""
        kept = self._kept.get(collection_id, lambda kept: kept[0] == stamp)
        return kept[1] if kept is not None else None

    async def put(self, collection_id: int, stamp: Hashable, detail: CollectionDetail) -> None:
        self._kept.put(collection_id, (stamp, detail))
