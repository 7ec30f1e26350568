"""The one seam between entrypoints and the core.

Every entrypoint (the JSON API, the command line, workers, later the Subsonic API) sends messages
through ``MessageBus``; the bus checks the message's audience, opens the unit of work (read-only for
a query), runs the middleware (timing, log context, metrics, spans attach here once, not in each
handler), calls the handler, commits a command, and runs what the handler asked to do after the
commit.

Handlers are methods marked ``@handles(MessageType)`` on a feature's handler object, which receives
its ports in its constructor; ``MessageBus.register`` collects them.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sono.application.messages import Actor, Message
from sono.application.uow import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")
M = TypeVar("M", bound=Message[Any])
log = logging.getLogger(__name__)

_HANDLES = "__sono_handles__"


@dataclass(slots=True)
class Context:
    """What a handler works with: who asks, and the unit of work the bus opened for the message."""

    actor: Actor
    uow: UnitOfWork
    _after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    def after_commit(self, effect: Callable[[], Awaitable[object]]) -> None:
        """Run ``effect`` once the command's changes are committed (never if they are not), e.g.
        deleting stored objects that no row points at any more. A failure is logged, not raised: the
        answer already stands."""
        self._after_commit.append(effect)


Handler = Callable[[Any, Context], Awaitable[Any]]
Call = Callable[[], Awaitable[Any]]


class Middleware(Protocol):
    """Wraps every message's handling: ``return await call()`` runs the rest."""

    async def __call__(self, message: Message[Any], actor: Actor, call: Call) -> Any: ...


def handles(message_type: type[Message[Any]]) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """Marks a handler method for ``MessageBus.register``."""

    def mark(method: Callable[..., Awaitable[Any]]) -> Any:
        setattr(method, _HANDLES, message_type)
        return method

    return mark


class MessageBus:
    def __init__(self, uow: UnitOfWorkFactory, middleware: Sequence[Middleware] = ()) -> None:
        self._uow = uow
        self._middleware = list(middleware)
        self._handlers: dict[type[Message[Any]], Handler] = {}

    def register(self, *handler_objects: object) -> None:
        """Add every ``@handles`` method of the given objects. A message type has one handler."""
        for obj in handler_objects:
            for _, method in inspect.getmembers(obj, inspect.ismethod):
                message_type = getattr(method, _HANDLES, None)
                if message_type is None:
                    continue
                if message_type in self._handlers:
                    raise ValueError(f"{message_type.__name__} already has a handler")
                self._handlers[message_type] = method

    def add_middleware(self, middleware: Middleware) -> None:
        """Wrap every later message (outermost first, in the order added)."""
        self._middleware.append(middleware)

    @property
    def message_types(self) -> frozenset[type[Message[Any]]]:
        return frozenset(self._handlers)

    async def __call__(self, message: Message[R], actor: Actor) -> R:
        """Handle ``message`` for ``actor`` and return the handler's answer."""
        try:
            handler = self._handlers[type(message)]
        except KeyError:
            raise LookupError(f"no handler for {type(message).__name__}") from None

        async def run() -> Any:
            message.audience.check(actor)
            return await self._handle(handler, message, actor)

        call: Call = run
        for middleware in reversed(self._middleware):
            call = _wrap(middleware, message, actor, call)
        result: R = await call()
        return result

    async def _handle(self, handler: Handler, message: Message[Any], actor: Actor) -> Any:
        async with self._uow(read_only=not message.writes) as uow:
            context = Context(actor, uow)
            result = await handler(message, context)
            if message.writes:
                await uow.commit()
        for effect in context._after_commit:
            try:
                await effect()
            except Exception:
                log.warning("an effect after %s failed", message.name(), exc_info=True)
        return result


def _wrap(middleware: Middleware, message: Message[Any], actor: Actor, call: Call) -> Call:
    async def wrapped() -> Any:
        return await middleware(message, actor, call)

    return wrapped


class Timing:
    """Logs each message's name, actor and duration at DEBUG; slow ones (over ``slow_ms``) at INFO."""

    def __init__(self, *, slow_ms: float = 1000.0, clock: Callable[[], float] = time.perf_counter) -> None:
        self._slow_ms = slow_ms
        self._clock = clock

    async def __call__(self, message: Message[Any], actor: Actor, call: Call) -> Any:
        started = self._clock()
        outcome = "error"
        try:
            result = await call()
            outcome = "ok"
            return result
        finally:
            elapsed_ms = (self._clock() - started) * 1000
            level = logging.INFO if elapsed_ms >= self._slow_ms else logging.DEBUG
            log.log(level, "%s by %s: %s in %.1f ms", message.name(), actor.via, outcome, elapsed_ms)
