"""What the core knows about the request it serves, without taking it as an argument: the request
id (for logs and the audit log) and the client's address. Entrypoints bind it once per request or
job (``bind``); the audit log and the log formatter read it (``current``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class RequestInfo:
    request_id: str = "-"
    ip: str | None = None


_current: ContextVar[RequestInfo] = ContextVar("sono_request", default=RequestInfo())  # noqa: B039


def current() -> RequestInfo:
    return _current.get()


@contextmanager
def bind(**changes: str | None) -> Iterator[RequestInfo]:
    """Amend the current request's information for the block (the edge binds ``request_id`` and
    ``ip``; a worker binds the id of the job it runs)."""
    info = replace(_current.get(), **changes)  # type: ignore[arg-type]
    token = _current.set(info)
    try:
        yield info
    finally:
        _current.reset(token)


def enter(info: RequestInfo) -> Token[RequestInfo]:
    """Start serving a request (the edge calls ``leave`` with the token when it ends)."""
    return _current.set(info)


def leave(token: Token[RequestInfo]) -> None:
    _current.reset(token)
