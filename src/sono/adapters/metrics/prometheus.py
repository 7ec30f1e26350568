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
from pathlib import Path
from typing import Final

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
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> Path | None:
    """The folder of the multiprocess mode, when this process runs in it."""
    value = os.environ.get(MULTIPROCESS_VARIABLE)
    return Path(value) if value else None


def prepare_multiprocess_dir(path: Path) -> None:
    """Make ``path`` an empty folder for a new server's metrics (the values of a previous run
    must not be added to this one's)."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


class PrometheusMetrics:
    enabled = True

    def __init__(self) -> None:
        self._dir = multiprocess_dir()
        self.registry = registry = CollectorRegistry(auto_describe=True)
        live: Final = "livesum"  # a gauge of the processes alive (multiprocess mode)

        self._use_case_calls = Counter("sono_use_case_calls", "Use-case calls", ["use_case"], registry=registry)
        self._use_case_errors = Counter(
            "sono_use_case_errors",
            "Use-case calls that raised, by error class",
            ["use_case", "error"],
            registry=registry,
        )
        self._use_case_seconds = Histogram(
            "sono_use_case_duration_seconds",
            "Use-case latency",
            ["use_case"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._cache = Counter("sono_cache_lookups", "Cache lookups", ["cache", "result"], registry=registry)
        self._pool_in_use = Gauge(
            "sono_db_pool_in_use",
            "Database connections checked out",
            ["pool"],
            registry=registry,
            multiprocess_mode=live,
        )
        self._pool_overflow = Gauge(
            "sono_db_pool_overflow",
            "Database connections beyond the pool size",
            ["pool"],
            registry=registry,
            multiprocess_mode=live,
        )
        self._pool_waiting = Gauge(
            "sono_db_pool_waiting",
            "Callers waiting for a database connection",
            ["pool"],
            registry=registry,
            multiprocess_mode=live,
        )
        self._pool_timeouts = Counter(
            "sono_db_pool_timeouts", "Database connection checkouts that timed out", ["pool"], registry=registry
        )
        self._rate_limited = Counter(
            "sono_rate_limit_rejections", "Requests refused by a rate limit", ["route"], registry=registry
        )
        self._login_failures = Counter("sono_login_failures", "Failed logins", ["route", "reason"], registry=registry)
        self._upload_bytes = Counter(
            "sono_upload_bytes", "Bytes of uploaded files received", ["route"], registry=registry
        )
        self._uploads = Counter("sono_uploads", "Uploads received", ["route"], registry=registry)
        self._uploads_refused = Counter(
            "sono_uploads_refused", "Uploads refused", ["route", "reason"], registry=registry
        )
        self._media_bytes = Counter(
            "sono_media_sent_bytes", "Bytes of stored media sent (streams, downloads)", ["kind"], registry=registry
        )
        self._in_flight = Gauge(
            "sono_http_requests_in_flight", "HTTP requests being served", registry=registry, multiprocess_mode=live
        )
        self._requests = Counter(
            "sono_http_requests", "HTTP requests", ["route", "method", "status"], registry=registry
        )
        self._latency = Histogram(
            "sono_http_request_duration_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._received = Counter(
            "sono_http_request_bytes", "HTTP request body bytes", ["route", "method"], registry=registry
        )
        self._sent = Counter(
            "sono_http_response_bytes", "HTTP response body bytes", ["route", "method"], registry=registry
        )

    # ------------------------------------------------------------------ the port

    def use_case(self, name: str, seconds: float, error: str | None) -> None:
        self._use_case_calls.labels(name).inc()
        self._use_case_seconds.labels(name).observe(seconds)
        if error is not None:
            self._use_case_errors.labels(name, error).inc()

    def cache_lookup(self, cache: str, hit: bool) -> None:
        self._cache.labels(cache, "hit" if hit else "miss").inc()

    def pool_checkout(self, pool: str, delta: int, overflow: int) -> None:
        self._pool_in_use.labels(pool).inc(delta)
        self._pool_overflow.labels(pool).set(max(0, overflow))

    def pool_waiting(self, pool: str, delta: int) -> None:
        self._pool_waiting.labels(pool).inc(delta)

    def pool_timeout(self, pool: str) -> None:
        self._pool_timeouts.labels(pool).inc()

    def rate_limited(self, route: str) -> None:
        self._rate_limited.labels(route).inc()

    def login_failed(self, route: str, reason: str) -> None:
        self._login_failures.labels(route, reason).inc()

    def upload_received(self, route: str, size: int) -> None:
        self._uploads.labels(route).inc()
        self._upload_bytes.labels(route).inc(size)

    def upload_refused(self, route: str, reason: str) -> None:
        self._uploads_refused.labels(route, reason).inc()

    def media_sent(self, kind: str, size: int) -> None:
        self._media_bytes.labels(kind).inc(size)

    def http_started(self) -> None:
        self._in_flight.inc()

    def http_finished(self, route: str, method: str, status: int, seconds: float, received: int, sent: int) -> None:
        self._in_flight.dec()
        method = method if method in _METHODS else "OTHER"
        self._requests.labels(route, method, str(status)).inc()
        self._latency.labels(route, method).observe(seconds)
        if received:
            self._received.labels(route, method).inc(received)
        if sent:
            self._sent.labels(route, method).inc(sent)

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
