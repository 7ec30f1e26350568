"""OpenTelemetry tracing, an optional extra (``pip install -e ".[otel]"``), off unless the standard
``OTEL_*`` variables ask for it (``Settings.tracing_enabled``).

Nothing here imports ``opentelemetry`` at module level, and nothing imports this module unless
tracing is on: with tracing off Sono imports nothing of ``opentelemetry`` (redis-py looks for it
on its own), and without the extra a request for traces is one warning, then no traces.

- ``provider_from_env()``: the process's tracer provider, made as the SDK's environment variables
  say (``OTEL_TRACES_EXPORTER``: ``otlp`` by default, ``console`` or ``none``; the exporter's
  ``OTEL_EXPORTER_OTLP_*``; ``OTEL_SERVICE_NAME``, ``sono`` by default), installed as the global
  one so that library instrumentations (Redis) use it too.
- ``OtelTracer``: the core's ``Tracer`` port (spans at the seam, a trace carried through the
  outbox into the worker that delivers the event).
- ``traced_calls(target, tracer, system)``: client spans around an adapter's calls (S3, SMTP).
- ``trace_engine(engine, provider)``: one client span per SQL statement of a SQLAlchemy engine
  (``db.system``, ``db.statement``), a child of the span of the request or job that ran it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_SPAN = "_sono_otel_span"
T = TypeVar("T")


def provider_from_env(env: Mapping[str, str] | None = None) -> Any | None:
    """The SDK's tracer provider configured from ``OTEL_*`` (and made the global one), or None
    when the extra is not installed (logged) or the exporter is ``none``."""
    env = os.environ if env is None else env
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        log.warning("OTEL_* variables ask for traces, but the otel extra is not installed: tracing stays off")
        return None
    exporter_name = (env.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")[0].strip().lower()
    if exporter_name == "none":
        return None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # made by an earlier container of this process
        return current
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": "sono"}
    provider = TracerProvider(resource=Resource.create(attributes))
    exporter: Any
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http: tracing stays off")
            return None
        exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument_libraries(provider)
    return provider


def _instrument_libraries(provider: Any) -> None:
    """Redis clients, process-wide (the instrumentation patches the library). S3 goes through
    aiobotocore, which botocore's instrumentation does not see: its spans come from ``traced_calls``."""
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor
    except ImportError:
        return
    RedisInstrumentor().instrument(tracer_provider=provider)


def trace_engine(engine: AsyncEngine | Engine, provider: Any) -> None:
    """A client span for every statement ``engine`` runs, child of the current span (the
    statement's thread runs in the context of the task that asked for it)."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    tracer = provider.get_tracer("sono.sql")
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    system = "postgresql" if sync_engine.dialect.name == "postgresql" else sync_engine.dialect.name

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement, "db.operation": operation},
        )
        if context is not None:
            setattr(context, _SPAN, span)

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()
            setattr(context, _SPAN, None)

    def failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN, None)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()
            setattr(exception_context.execution_context, _SPAN, None)

    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    event.listen(sync_engine, "handle_error", failed)


class OtelTracer:
    """The core's ``Tracer`` port on OpenTelemetry: spans as children of the current one, and the
    W3C trace context to carry a trace through the outbox into a worker."""

    enabled = True

    def __init__(self, provider: Any, name: str = "sono") -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._tracer = provider.get_tracer(name)
        self._propagator = TraceContextTextMapPropagator()

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, Any] | None = None, *, kind: Any = None) -> Iterator[None]:
        from opentelemetry.trace import SpanKind

        with self._tracer.start_as_current_span(name, kind=kind or SpanKind.INTERNAL, attributes=attributes):
            yield

    def carrier(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier)
        return carrier

    @contextmanager
    def continued(
        self, carrier: Mapping[str, str] | None, name: str, attributes: Mapping[str, Any] | None = None
    ) -> Iterator[None]:
        from opentelemetry.trace import SpanKind

        context = self._propagator.extract(dict(carrier)) if carrier else None
        with self._tracer.start_as_current_span(name, context=context, kind=SpanKind.CONSUMER, attributes=attributes):
            yield


def traced_calls(target: T, tracer: OtelTracer, system: str, attributes: Mapping[str, Any] | None = None) -> T:
    """``target`` with a client span around each of its coroutine methods (``{system} {method}``):
    the S3 storage and the SMTP mailer, whose libraries OpenTelemetry does not instrument here."""
    return _TracedCalls(target, tracer, system, dict(attributes or {}))  # type: ignore[return-value]


class _TracedCalls:
    def __init__(self, target: Any, tracer: OtelTracer, system: str, attributes: dict[str, Any]) -> None:
        self._target = target
        self._tracer = tracer
        self._system = system
        self._attributes = attributes

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(value):
            return value
        tracer, span_name = self._tracer, f"{self._system} {name}"
        attributes = {"sono.system": self._system, **self._attributes}

        @functools.wraps(value)
        async def call(*args: Any, **kwargs: Any) -> Any:
            from opentelemetry.trace import SpanKind

            with tracer.span(span_name, attributes, kind=SpanKind.CLIENT):
                return await value(*args, **kwargs)

        return call
