"""Tracing as a port: spans at the seam and around the calls to other systems, and a trace that
continues from the request that recorded an event to the worker that delivers it.

The core names what it does (``span``) and carries the current trace along with an event
(``carrier``, ``continued``); the OpenTelemetry adapter (``sono.adapters.tracing``, the ``otel``
extra) makes real spans of it. Without it, ``NoTracer`` does nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Attribute = str | int | float | bool


class Tracer(Protocol):
    def span(self, name: str, attributes: Mapping[str, Attribute] | None = None) -> AbstractContextManager[None]:
        """A span around the block, child of the current one; an exception marks it failed."""

    def carrier(self) -> dict[str, str]:
        """The current trace context (W3C ``traceparent``...), to continue it elsewhere; empty when
        there is none."""

    def continued(
        self, carrier: Mapping[str, str] | None, name: str, attributes: Mapping[str, Attribute] | None = None
    ) -> AbstractContextManager[None]:
        """A span around the block in the trace ``carrier`` came from (a new trace without one)."""


class NoTracer:
    """Tracing off."""

    enabled = False

    def span(self, name: str, attributes: Mapping[str, Attribute] | None = None) -> AbstractContextManager[None]:
        return _nothing()

    def carrier(self) -> dict[str, str]:
        return {}

    def continued(
        self, carrier: Mapping[str, str] | None, name: str, attributes: Mapping[str, Attribute] | None = None
    ) -> AbstractContextManager[None]:
        return _nothing()


@contextmanager
def _nothing() -> Iterator[None]:
    yield
