"""The one in-process cache the cache adapters keep their values in: the most recently used values
up to a number of entries and/or a total weight, with hit and miss counters, reported with its
size to the metrics under the adapter's name (``sono_cache_*``). Each adapter says what its values
mean and when one no longer answers (``valid``); this keeps them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sono.application.metrics import Metrics, NoMetrics

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _weightless(value: object) -> int:
    return 0


class Lru(Generic[K, V]):
    def __init__(
        self,
        name: str,
        *,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        weigh: Callable[[V], int] = _weightless,
        metrics: Metrics | None = None,
    ) -> None:
        for bound in (max_entries, max_bytes):
            if bound is not None and bound < 0:
                raise ValueError("a cache's bound must not be negative")
        self.name = name
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._weigh = weigh
        self._metrics = metrics or NoMetrics()
        self._bytes = 0
        self._values: OrderedDict[K, tuple[V, int]] = OrderedDict()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: K, valid: Callable[[V], bool] | None = None) -> V | None:
        """The value kept under ``key`` (counted as a hit), or None (a miss). A value ``valid``
        refuses is dropped and counts as a miss."""
        kept = self._values.get(key)
        hit = kept is not None and (valid is None or valid(kept[0]))
        self._metrics.cache_lookup(self.name, hit)
        if not hit:
            self.misses += 1
            if kept is not None:
                self._drop(key)
                self._report()
            return None
        assert kept is not None
        self.hits += 1
        self._values.move_to_end(key)
        return kept[0]

    def peek(self, key: K) -> V | None:
        """The value kept under ``key``, or None, as it is: not counted, not made recent."""
        kept = self._values.get(key)
        return None if kept is None else kept[0]

    def put(self, key: K, value: V) -> None:
        """Keep ``value``, then drop the least recently used values beyond the bounds (a value
        heavier than ``max_bytes`` alone is not kept)."""
        weight = self._weigh(value)
        if self.max_entries == 0 or (self.max_bytes is not None and weight > self.max_bytes):
            return
        self._drop(key)
        self._values[key] = (value, weight)
        self._bytes += weight
        while (self.max_entries is not None and len(self._values) > self.max_entries) or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            self._drop(next(iter(self._values)))
        self._report()

    def clear(self) -> None:
        if self._values:
            self._values.clear()
            self._bytes = 0
            self._report()

    def _drop(self, key: K) -> None:
        kept = self._values.pop(key, None)
        if kept is not None:
            self._bytes -= kept[1]

    def _report(self) -> None:
        self._metrics.cache_size(self.name, len(self._values), self._bytes)


class KeptIn(Generic[K, V]):
    """An adapter whose values live in an ``Lru`` (``_kept``): its counters and size, as the tests
    and the operators read them."""

    _kept: Lru[K, V]

    @property
    def hits(self) -> int:
        return self._kept.hits

    @property
    def misses(self) -> int:
        return self._kept.misses

    @property
    def size_bytes(self) -> int:
        return self._kept.size_bytes

    def __len__(self) -> int:
        return len(self._kept)
