"""A ``Metrics`` port that records what it is told, for tests that check what a caller reports."""

from __future__ import annotations

from sono.application.metrics import NoMetrics


class RecordingMetrics(NoMetrics):
    """Counts what it is told, as the port's callers use it."""

    enabled = True

    def __init__(self) -> None:
        self.use_cases: list[tuple[str, str | None]] = []
        self.lookups: list[tuple[str, bool]] = []
        self.sizes: list[tuple[str, int, int]] = []

    def use_case(self, name: str, seconds: float, error: str | None) -> None:
        assert seconds >= 0
        self.use_cases.append((name, error))

    def cache_lookup(self, cache: str, hit: bool) -> None:
        self.lookups.append((cache, hit))

    def cache_size(self, cache: str, entries: int, size_bytes: int) -> None:
        self.sizes.append((cache, entries, size_bytes))
