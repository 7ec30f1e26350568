"""OpenTelemetry tracing, an optional extra (``pip install -e ".[otel]"``), off unless the standard
``OTEL_*`` variables ask for it (``Settings.tracing_enabled``).

Nothing here imports ``opentelemetry`` at module level, and nothing imports this module unless
tracing is on: with tracing off Sono imports nothing of ``opentelemetry`` (redis-py looks for it
on its own), and without the extra a request for traces is one warning, then no traces.

- ``provider_from_env()``: the process's tracer provider, made as the SDK's environment variables
  say (``OTEL_TRACES_EXPORTER``: ``otlp`` by default, ``console`` or ``none``; the exporter's
  ``OTEL_EXPORTER_OTLP_*``; ``OTEL_SERVICE_NAME``, ``sono`` by default), installed as the global
  one so that library instrumentations (Redis) use it too.
- ``trace_engine(engine, provider)``: one client span per SQL statement of a SQLAlchemy engine
  (``db.system``, ``db.statement``), a child of the span of the request or job that ran it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_SPAN = "_sono_otel_span"


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
    aiobotocore, which botocore's instrumentation does not see: no S3 spans yet."""
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor
    except ImportError:
        return
    RedisInstrumentor().instrument(tracer_provider=provider)


def trace_engine(engine: AsyncEngine, provider: Any) -> None:
    """A client span for every statement ``engine`` runs, child of the current span."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    tracer = provider.get_tracer("sono.sql")
    sync_engine = engine.sync_engine
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
