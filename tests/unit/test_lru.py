"""The one in-process cache the cache adapters keep their values in (``sono.adapters.lru``)."""

from __future__ import annotations

import pytest

from sono.adapters.lru import Lru
from tests.fakes.metrics import RecordingMetrics


def test_hits_and_misses_are_counted_and_reported() -> None:
    metrics = RecordingMetrics()
    lru: Lru[str, str] = Lru("things", max_entries=2, weigh=len, metrics=metrics)
    assert lru.get("a") is None
    lru.put("a", "xyz")
    assert lru.get("a") == "xyz"
    assert (lru.hits, lru.misses, len(lru), lru.size_bytes) == (1, 1, 1, 3)
    assert metrics.lookups == [("things", False), ("things", True)]
    assert metrics.sizes[-1] == ("things", 1, 3)


def test_the_least_recently_used_goes_first_beyond_the_number_of_entries() -> None:
    lru: Lru[str, int] = Lru("n", max_entries=2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # b is now the least recently used
    lru.put("c", 3)
    assert (lru.get("b"), lru.get("a"), lru.get("c")) == (None, 1, 3)


def test_the_total_weight_is_bounded_and_a_value_heavier_than_it_is_not_kept() -> None:
    lru: Lru[str, bytes] = Lru("w", max_bytes=10, weigh=len)
    lru.put("a", b"12345")
    lru.put("b", b"123456")  # 11 bytes in all: a goes
    assert (lru.get("a"), lru.get("b"), lru.size_bytes) == (None, b"123456", 6)
    lru.put("c", b"x" * 11)
    assert lru.get("c") is None and lru.size_bytes == 6
    lru.put("b", b"1")  # replaced, not added
    assert (len(lru), lru.size_bytes) == (1, 1)


def test_a_value_that_no_longer_answers_is_dropped_as_a_miss() -> None:
    metrics = RecordingMetrics()
    lru: Lru[int, tuple[str, str]] = Lru("v", max_entries=4, metrics=metrics)
    lru.put(1, ("v1", "answer"))
    assert lru.get(1, lambda kept: kept[0] == "v1") == ("v1", "answer")
    assert lru.get(1, lambda kept: kept[0] == "v2") is None
    assert (len(lru), lru.hits, lru.misses) == (0, 1, 1)
    assert metrics.sizes[-1] == ("v", 0, 0)


def test_nothing_is_kept_with_no_room_and_clear_empties() -> None:
    none: Lru[str, int] = Lru("z", max_entries=0)
    none.put("a", 1)
    assert none.get("a") is None and len(none) == 0
    lru: Lru[str, str] = Lru("c", max_entries=3, weigh=len)
    lru.put("a", "aa")
    lru.clear()
    assert (len(lru), lru.size_bytes, lru.get("a")) == (0, 0, None)
    with pytest.raises(ValueError, match="negative"):
        Lru("bad", max_entries=-1)
