"""The ``Metrics`` port on ``prometheus-client``.

Each instance has its own registry (tests build many apps in one process). With several worker
processes, ``sono serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts: each process
then writes its values to files in that folder, and a scrape of any worker adds them all up
(prometheus-client's multiprocess mode; live gauges count only the processes still running, as
each worker marks itself dead when it stops). Several instances are several scrape targets, told
apart by Prometheus's ``instance`` label.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METRICS_FILE = re.compile(r"(counter|gauge_[a-z]+|histogram|summary)_\d+\.db")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> Path | None:
    """The folder of the multiprocess mode, when this process runs in it."""
    value = os.environ.get(MULTIPROCESS_VARIABLE)
    return Path(value) if value else None


def prepare_multiprocess_dir(path: Path) -> None:
    """Make ``path`` a folder without metrics for a new server (the values of a previous run must
    not be added to this one's). Only prometheus-client's files go: the folder may hold others
    (even ``sono.db``, if it is the data dir)."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.iterdir():
        if _METRICS_FILE.fullmatch(stale.name):
            stale.unlink(missing_ok=True)


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def forget_dead_processes(path: Path) -> list[int]:
    """Mark dead the processes that left live gauges in ``path`` but no longer run (a worker that
    was killed, and that uvicorn replaced, could not do it itself); the pids forgotten."""
    gone = set()
    for file in path.glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.fullmatch(file.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone.add(pid)
        except PermissionError:  # alive, someone else's
            pass
    for pid in gone:
        multiprocess.mark_process_dead(pid, str(path))
    return sorted(gone)


class _Labelled:
    """A metric with labels whose children are kept: finding one is a dictionary lookup instead of
    prometheus-client's validation under a lock (label values are bounded, so is the dictionary)."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self.children.get(labels)
        if child is None:
            child = self.children[labels] = self.metric.labels(*labels)
        return child


class PrometheusMetrics:
    enabled = True

    def __init__(self) -> None:
        self._dir = multiprocess_dir()
        if self._dir is not None:
            forget_dead_processes(self._dir)
        self.registry = registry = CollectorRegistry(auto_describe=True)
        live: Final = "livesum"  # a gauge of the processes alive (multiprocess mode)

        def counter(name: str, about: str, *labels: str) -> _Labelled:
            return _Labelled(Counter(name, about, labels, registry=registry))

        def gauge(name: str, about: str, *labels: str) -> _Labelled:
            return _Labelled(Gauge(name, about, labels, registry=registry, multiprocess_mode=live))

        def histogram(name: str, about: str, *labels: str) -> _Labelled:
            return _Labelled(Histogram(name, about, labels, buckets=LATENCY_BUCKETS, registry=registry))

        # use-case calls are the histogram's _count
        self._use_case_seconds = histogram("sono_use_case_duration_seconds", "Use-case calls and latency", "use_case")
        self._use_case_errors = counter("sono_use_case_errors", "Use-case calls that raised", "use_case", "error")
        self._cache = counter("sono_cache_lookups", "Cache lookups", "cache", "result")
        self._cache_entries = gauge("sono_cache_entries", "Entries a cache holds", "cache")
        self._cache_bytes = gauge("sono_cache_bytes", "Bytes a cache holds", "cache")
        self._pool_in_use = gauge("sono_db_pool_in_use", "Database connections checked out", "pool")
        self._pool_overflow = gauge("sono_db_pool_overflow", "Database connections beyond the pool size", "pool")
        self._pool_waiting = gauge("sono_db_pool_waiting", "Callers waiting for a database connection", "pool")
        self._pool_timeouts = counter("sono_db_pool_timeouts", "Connection checkouts that timed out", "pool")
        self._rate_limited = counter("sono_rate_limit_rejections", "Requests refused by a rate limit", "route")
        self._login_failures = counter("sono_login_failures", "Failed logins", "route", "reason")
        self._uploads = counter("sono_uploads", "Uploads received", "route")
        self._upload_bytes = counter("sono_upload_bytes", "Bytes of uploaded files received", "route")
        self._uploads_refused = counter("sono_uploads_refused", "Uploads refused", "route", "reason")
        self._media_bytes = counter("sono_media_sent_bytes", "Bytes of stored media sent", "kind")
        self._deliveries = counter("sono_outbox_deliveries", "Outbox reactions delivered", "reaction", "outcome")
        # Every process reading the outbox sees the same table: the largest recent reading, not a sum.
        self._outbox = _Labelled(
            Gauge("sono_outbox_rows", "Outbox rows by state", ["state"], registry=registry, multiprocess_mode="livemax")
        )
        self._outbox_age = Gauge(
            "sono_outbox_oldest_age_seconds",
            "How long the oldest queued outbox row has been due",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._in_flight = Gauge(
            "sono_http_requests_in_flight", "HTTP requests being served", registry=registry, multiprocess_mode=live
        )
        self._requests = counter("sono_http_requests", "HTTP requests", "route", "method", "status")
        self._latency = histogram("sono_http_request_duration_seconds", "HTTP request latency", "route", "method")
        self._received = counter("sono_http_request_bytes", "HTTP request body bytes", "route", "method")
        self._sent = counter("sono_http_response_bytes", "HTTP response body bytes", "route", "method")

    # ------------------------------------------------------------------ the port

    def use_case(self, name: str, seconds: float, error: str | None) -> None:
        self._use_case_seconds(name).observe(seconds)
        if error is not None:
            self._use_case_errors(name, error).inc()

    def cache_lookup(self, cache: str, hit: bool) -> None:
        self._cache(cache, "hit" if hit else "miss").inc()

    def cache_size(self, cache: str, entries: int, size_bytes: int) -> None:
        self._cache_entries(cache).set(entries)
        self._cache_bytes(cache).set(size_bytes)

    def pool_checkout(self, pool: str, delta: int, overflow: int) -> None:
        self._pool_in_use(pool).inc(delta)
        self._pool_overflow(pool).set(max(0, overflow))

    def pool_waiting(self, pool: str, delta: int) -> None:
        self._pool_waiting(pool).inc(delta)

    def pool_timeout(self, pool: str) -> None:
        self._pool_timeouts(pool).inc()

    def rate_limited(self, route: str) -> None:
        self._rate_limited(route).inc()

    def login_failed(self, route: str, reason: str) -> None:
        self._login_failures(route, reason).inc()

    def upload_received(self, route: str, size: int) -> None:
        self._uploads(route).inc()
        self._upload_bytes(route).inc(size)

    def upload_refused(self, route: str, reason: str) -> None:
        self._uploads_refused(route, reason).inc()

    def media_sent(self, kind: str, size: int) -> None:
        self._media_bytes(kind).inc(size)

    def delivery(self, reaction: str, outcome: str) -> None:
        self._deliveries(reaction, outcome).inc()

    def outbox_state(self, queued: int, failed: int, oldest_age_seconds: float) -> None:
        self._outbox("queued").set(queued)
        self._outbox("failed").set(failed)
        self._outbox_age.set(oldest_age_seconds)

    def http_started(self) -> None:
        self._in_flight.inc()

    def http_finished(self, route: str, method: str, status: int, seconds: float, received: int, sent: int) -> None:
        self._in_flight.dec()
        method = method if method in _METHODS else "OTHER"
        self._requests(route, method, str(status)).inc()
        self._latency(route, method).observe(seconds)
        if received:
            self._received(route, method).inc(received)
        if sent:
            self._sent(route, method).inc(sent)

    def exposition(self) -> tuple[bytes, str]:
        if self._dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self._dir))
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """This process stops: its live gauges no longer count (multiprocess mode)."""
        if self._dir is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self._dir))
