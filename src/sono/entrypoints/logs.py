"""The one logging setup of every entrypoint (``sono serve`` and its workers, the CLI commands, job
runs), the context every log line carries and the one place credentials are redacted.

- ``SONO_LOG_FORMAT=text`` (the default, for a terminal): ``time LEVEL logger: message``.
  ``SONO_LOG_FORMAT=json``: one JSON object per line with ``time``, ``level``, ``logger``,
  ``message``, ``request_id``, ``user_id``, ``route``, ``method``, ``status`` and ``duration_ms``
  (the last two on access lines), plus ``exc`` for a traceback.
- The context: the request id has one source, ``sono.application.context`` (the HTTP edge binds
  it per request, the CLI per command, the periodic jobs per run; the audit log reads the same).
  Beside it the edge binds a ``LogContext`` (route, method, user id) in a context variable; a log
  record factory copies both onto every record, from any logger, so every line a request causes
  carries the same request id, route (the template, never the raw path), method and user id (an
  integer, never an email or a token).
- Redaction: ``is_secret`` is the one rule saying which names hold credentials (query parameters,
  form fields, headers); ``redact_query``/``redact_fields``/``redact_headers`` apply it to what a
  log line quotes, and both formatters pass every formatted line through ``redact_text`` as well,
  so a URL logged by any code (a presigned S3 URL, a library's request line) loses its signature.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import unquote_plus

from sono.application import context as request_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")
REDACTED = "***"

# --------------------------------------------------------------------------- redaction

_SECRET_NAMES = frozenset(
    {
        "p",  # Subsonic: the password (or "enc:<hex>" of it)
        "t",  # Subsonic: the salted token
        "s",  # Subsonic: the salt
        "key",
        "sig",
        "auth",
        "code",
        "otp",
        "pass",
        "passwd",
        "pwd",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-amz-credential",
    }
)
_SECRET_PARTS = re.compile(r"password|token|secret|signature|apikey|api[-_]key|credential|session", re.IGNORECASE)


def is_secret(name: str) -> bool:
    """Whether a query parameter, form field or header of this name holds a credential (any case):
    the one rule every redaction here follows."""
    return name.lower() in _SECRET_NAMES or _SECRET_PARTS.search(name) is not None


def redact_query(query: str) -> str:
    """A query string (or form body) with the value of every secret parameter replaced by ``***``;
    names and the other values kept as they came."""
    if not query:
        return query
    pairs = query.split("&")
    for i, pair in enumerate(pairs):
        name, sep, _ = pair.partition("=")
        if sep and is_secret(unquote_plus(name)):
            pairs[i] = f"{name}={REDACTED}"
    return "&".join(pairs)


def redact_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """Form fields (or any name -> value mapping) fit for a log line."""
    return {name: REDACTED if is_secret(name) else value for name, value in fields.items()}


def redact_headers(headers: Iterable[tuple[str | bytes, str | bytes]]) -> list[tuple[str, str]]:
    """Headers fit for a log line: ``Authorization``, ``Cookie`` and every other credential
    redacted, names lower-cased."""
    redacted = []
    for raw_name, raw_value in headers:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        redacted.append((name, REDACTED if is_secret(name) else value))
    return redacted


_SECRET_WORDS = ("password", "token", "secret", "signature", "apikey", "api_key", "credential", "session")
_URL_PARAMETER = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&#\s\"'<>?;]+)=(?P<value>[^&#\s\"'<>;]*)")
_ASSIGNMENT = re.compile(r"(?<![\w-])(?P<name>[\w-]+)=(?P<value>[^\s&\"',;)]+)")
_CREDENTIALS = re.compile(r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def _url_parameter(match: re.Match[str]) -> str:
    if match["value"] in ("", REDACTED) or not is_secret(unquote_plus(match["name"])):
        return match[0]
    return f"{match['lead']}{match['name']}={REDACTED}"


def _assignment(match: re.Match[str]) -> str:
    if match["value"] == REDACTED or _SECRET_PARTS.search(match["name"]) is None:
        return match[0]
    return f"{match['name']}={REDACTED}"


def redact_text(text: str) -> str:
    """Free text (a formatted log line, a traceback) with credentials removed: secret parameters
    of any URL in it, ``password=...``-like assignments and bearer or basic credentials. Cheap on
    the lines that hold none (substring tests before any expression runs)."""
    if "=" in text and ("?" in text or "&" in text or ";" in text):
        text = _URL_PARAMETER.sub(_url_parameter, text)
    lower = text.lower()
    if "=" in text and any(word in lower for word in _SECRET_WORDS):
        text = _ASSIGNMENT.sub(_assignment, text)
    if "bearer" in lower or "basic" in lower:
        text = _CREDENTIALS.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    return text


# --------------------------------------------------------------------------- context


@dataclass(slots=True)
class LogContext:
    """What every log line of one request (or command, or job run) carries beside its request id
    (which ``sono.application.context`` holds). The HTTP edge creates it; routing and
    authentication fill in ``route`` and ``user_id`` as they learn them."""

    method: str | None = None
    route: str | None = None
    user_id: int | None = None
    scope: Mapping[str, Any] | None = None  # the ASGI scope: routing writes the route template into it
    hung_up: bool = False  # the client disconnected before its answer was complete

    def route_template(self) -> str | None:
        if self.route is None and self.scope is not None:
            return self.scope.get("path_template") or None
        return self.route


_context: ContextVar[LogContext | None] = ContextVar("sono_log_context", default=None)


def current_request_id() -> str:
    """The id of the request (or command, or job run) being served; ``-`` outside of one."""
    return request_context.current().request_id


def new_request_id() -> str:
    return secrets.token_hex(16)


@contextmanager
def bound(context: LogContext) -> Iterator[LogContext]:
    """Every log record made inside carries ``context``."""
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


@contextmanager
def bound_run(route: str) -> Iterator[LogContext]:
    """A command's or a job run's lines: a request id of their own (in ``sono.application.context``,
    no client address) and the command's name as the route."""
    with request_context.bind(request_id=new_request_id(), ip=None), bound(LogContext(route=route)) as context:
        yield context


def bind_user(user_id: int | None) -> None:
    """The authenticated caller of the current request (its id only)."""
    context = _context.get()
    if context is not None:
        context.user_id = user_id


def client_hung_up() -> bool:
    """Whether the client of the current request has gone (its error is no server error)."""
    context = _context.get()
    return context is not None and context.hung_up


def install_log_context() -> None:
    """Give every log record, from any logger, the current context: ``request_id`` (``-`` outside
    of one), ``user_id``, ``route`` and ``method`` (None when unknown). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "sono_log_context", False):
        return

    def record_with_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_context.current().request_id
        context = _context.get()
        if context is None:
            record.user_id = record.route = record.method = None
        else:
            record.user_id = context.user_id
            record.route = context.route_template()
            record.method = context.method
        return record

    record_with_context.sono_log_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_context)


# --------------------------------------------------------------------------- formatters


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message`` (and the traceback), credentials redacted."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **_: Any) -> None:
        super().__init__(fmt or TEXT_FORMAT, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


_CONTEXT_FIELDS = ("request_id", "user_id", "route", "method", "status", "duration_ms")
_EXTRA_FIELDS = ("client", "path")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; control characters escaped by JSON, credentials redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for name in _CONTEXT_FIELDS:
            entry[name] = getattr(record, name, None)
        if entry["request_id"] is None:
            entry["request_id"] = "-"
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact_text(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


# --------------------------------------------------------------------------- setup

_QUIET_LOGGERS = {"alembic": logging.WARNING}  # Alembic narrates every connection at INFO


def configure_logging(level: str, log_format: str, *, stream: IO[str] | None = None) -> None:
    """The process's logging for the CLI and job runs: one handler on the root logger writing
    ``log_format`` to ``stream`` (stderr). Like ``logging.basicConfig``, it leaves a root logger
    that already has handlers alone (an embedding application's or a test's), apart from the
    context every record gets."""
    install_log_context()
    root = logging.getLogger()
    if level.upper() != "DEBUG":
        for name, quiet in _QUIET_LOGGERS.items():
            logging.getLogger(name).setLevel(quiet)
    if root.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level.upper())


def uvicorn_logging_config(level: str, log_format: str) -> dict[str, Any]:
    """The same setup as ``configure_logging``, as the ``dictConfig`` uvicorn applies in every
    worker: one root handler with Sono's formatter, uvicorn's own loggers propagating to it."""
    formatter_class = JsonFormatter if log_format == "json" else TextFormatter
    uvicorn_loggers = {name: {"level": level.upper(), "handlers": [], "propagate": True} for name in _UVICORN_LOGGERS}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"sono": {"()": f"{formatter_class.__module__}.{formatter_class.__qualname__}"}},
        "handlers": {"sono": {"class": "logging.StreamHandler", "formatter": "sono", "stream": "ext://sys.stderr"}},
        "loggers": uvicorn_loggers,
        "root": {"handlers": ["sono"], "level": level.upper()},
    }


_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
