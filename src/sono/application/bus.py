"""The one seam between entrypoints and the core.

Every entrypoint (the JSON API, the command line, workers, later the Subsonic API) sends messages
through ``MessageBus``; the bus checks the message's audience, opens the unit of work (read-only for
a query; a user's command holds the user's row first), runs the middleware (timing, log context,
metrics, spans attach here once, not in each handler), calls the handler, commits a command, and
runs what the handler asked to do after the commit.

Handlers are methods marked ``@handles(MessageType)`` on a feature's handler object, which receives
its ports in its constructor; ``MessageBus.register`` collects them.

Work that must not happen inside a transaction (a password's hash, checked or computed) is a
message's *preparation*: a method marked ``@prepares(MessageType)``, which the bus runs after the
audience check and before it opens the unit of work; it may only read, by asking queries
(``Preparation.ask``), and its answer reaches the handler as ``ctx.prepared``. A message whose class
says ``unit_of_work = False`` (a read served by a fast port, as every request's authentication)
gets no unit of work at all.

A use case of several steps, some of which must not happen inside a transaction (storing an upload
of up to 50 MB between recording it as pending and filing its row), is a ``Process``: the bus opens
no unit of work for it, and its handler, given a ``ProcessContext``, sends each step through the
bus as the same actor (``ctx.send``), each command in its own unit of work committed before the
next step, its audience checked and the middleware around it (the process's span is the parent of
its steps'). What a step did that a later failure must undo (an object stored, a pending record)
is registered with ``ctx.on_failure``; no handler opens a unit of work of its own.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn, Protocol, TypeVar, cast

from sono.application.events import JobQueue, NoJobQueue, Outbox
from sono.application.messages import Actor, Message, Process, Query
from sono.application.tracing import Tracer
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.application.values import CALLER_GONE
from sono.domain.errors import SessionEnded, SonoError
from sono.domain.events import Event

R = TypeVar("R")
M = TypeVar("M", bound=Message[Any])
log = logging.getLogger(__name__)

_HANDLES = "__sono_handles__"
_PREPARES = "__sono_prepares__"


@dataclass(slots=True)
class Context:
    """What a handler works with: who asks, and the unit of work the bus opened for the message."""

    actor: Actor
    uow: UnitOfWork
    prepared: Any = None
    """What the message's preparation (``@prepares``) answered, if it has one."""
    _after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    _events: list[Event] = field(default_factory=list)

    def refuse(self, error: SonoError) -> NoReturn:
        """Answer ``error``, but commit what the command wrote first (the audit entry of a refused
        attempt); nothing runs after commit."""
        raise _Refused(error)

    def publish(self, event: Event) -> None:
        """Record ``event``: the bus stores it in the outbox in this unit of work before it commits
        (so it exists if and only if the change does); workers run its reactions later."""
        self._events.append(event)

    def after_commit(self, effect: Callable[[], Awaitable[object]], *, part_of_answer: bool = False) -> None:
        """Run ``effect`` once the command's changes are committed (never if they are not), e.g.
        deleting stored objects that no row points at any more. A failure is logged, not raised: the
        answer already stands; unless ``part_of_answer`` (a mail the caller asked for): then, the
        changes committed all the same, the failure is the answer."""
        self._after_commit.append(_Answering(effect) if part_of_answer else effect)


@dataclass(frozen=True, slots=True)
class _Answering:
    """An effect after commit whose failure is the message's answer."""

    effect: Callable[[], Awaitable[object]]

    def __call__(self) -> Awaitable[object]:
        return self.effect()


@dataclass(slots=True)
class _Progress:
    committed: bool = False


class _Refused(Exception):
    def __init__(self, error: SonoError) -> None:
        self.error = error


@dataclass(frozen=True, slots=True)
class Preparation:
    """What a message's preparation works with: who asks, and read access through queries."""

    actor: Actor
    _bus: MessageBus
    _undo: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    def on_failure(self, undo: Callable[[], Awaitable[object]]) -> None:
        """Run ``undo`` if the message's changes are not committed after all (the rest of the
        preparation, the handler or the commit failed): what the preparation stored outside the
        transaction is removed. A failure of ``undo`` is logged, not raised."""
        self._undo.append(undo)

    async def ask(self, query: Query[R]) -> R:
        """Send ``query`` as the same actor (a preparation never writes)."""
        if query.writes:  # pragma: no cover - Query says so
            raise TypeError(f"{query.name()} is not a query")
        return await self._bus(query, self.actor)


@dataclass(slots=True)
class ProcessContext:
    """What the handler of a ``Process`` works with: who asks, and the bus to send its steps
    through as them."""

    actor: Actor
    _bus: MessageBus
    _undo: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    async def send(self, message: Message[R]) -> R:
        """Send a step as the same actor: its audience is checked, and a command's unit of work is
        committed (or rolled back, raising) before this returns."""
        return await self._bus(message, self.actor)

    def on_failure(self, undo: Callable[[], Awaitable[object]]) -> None:
        """Run ``undo`` if the process fails after this (a later step or the handler raises, or
        the caller goes away): the undos run latest first. A failure of ``undo`` is logged, not
        raised (the jobs clear what it leaves, e.g. a pending object's record)."""
        self._undo.append(undo)


class _NoUnitOfWork:
    """What a handler of a message without a unit of work finds as ``ctx.uow``."""

    def __init__(self, message_type: type[Message[Any]]) -> None:
        self._message_type = message_type

    def __getattr__(self, attribute: str) -> Any:
        raise RuntimeError(f"{self._message_type.name()} has no unit of work")


Handler = Callable[[Any, Any], Awaitable[Any]]  # (message, Context or ProcessContext)
Preparer = Callable[[Any, Preparation], Awaitable[Any]]
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


def prepares(message_type: type[Message[Any]]) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """Marks a message's preparation for ``MessageBus.register``: ``(message, Preparation)``, run
    before the unit of work opens; its answer is the handler's ``ctx.prepared``."""

    def mark(method: Callable[..., Awaitable[Any]]) -> Any:
        setattr(method, _PREPARES, message_type)
        return method

    return mark


class MessageBus:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        middleware: Sequence[Middleware] = (),
        *,
        outbox: Outbox | None = None,
        jobs: JobQueue | None = None,
    ) -> None:
        self._uow = uow
        self.outbox = outbox
        self._jobs = jobs or NoJobQueue()
        self._middleware = list(middleware)
        self._handlers: dict[type[Message[Any]], Handler] = {}
        self._preparers: dict[type[Message[Any]], Preparer] = {}

    def register(self, *handler_objects: object) -> None:
        """Add every ``@handles`` method of the given objects (a message type has one handler)
        and every ``@reacts_to`` method to the outbox's reactions."""
        for obj in handler_objects:
            if self.outbox is not None:
                self.outbox.register(obj)
            for _, method in inspect.getmembers(obj, inspect.ismethod):
                prepared_type = getattr(method, _PREPARES, None)
                if prepared_type is not None:
                    if issubclass(prepared_type, Process):
                        raise TypeError(f"{prepared_type.__name__} is a process: its steps prepare")
                    if prepared_type in self._preparers:
                        raise ValueError(f"{prepared_type.__name__} already has a preparation")
                    self._preparers[prepared_type] = method
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

        call: Call = partial(self._checked, handler, message, actor)
        for middleware in reversed(self._middleware):
            call = partial(middleware, message, actor, call)
        result: R = await call()
        return result

    async def _checked(self, handler: Handler, message: Message[Any], actor: Actor) -> Any:
        message.audience.check(actor)
        return await self._handle(handler, message, actor)

    async def _handle(self, handler: Handler, message: Message[Any], actor: Actor) -> Any:
        if isinstance(message, Process):
            return await self._process(handler, message, actor)
        prepare = self._preparers.get(type(message))
        if prepare is None:
            return await self._run(handler, message, actor, None, None)
        preparation = Preparation(actor, self)
        progress = _Progress()
        try:
            prepared = await prepare(message, preparation)
            return await self._run(handler, message, actor, prepared, progress)
        except BaseException:
            if not progress.committed:
                await _undo(preparation._undo, f"the preparation of {message.name()}")
            raise

    async def _process(self, handler: Handler, message: Process[Any], actor: Actor) -> Any:
        context = ProcessContext(actor, self)
        try:
            return await handler(message, context)
        except BaseException:
            await _undo(reversed(context._undo), f"a step of {message.name()}")
            raise

    async def _run(
        self, handler: Handler, message: Message[Any], actor: Actor, prepared: Any, progress: _Progress | None
    ) -> Any:
        if not message.unit_of_work:
            context = Context(actor, cast(UnitOfWork, _NoUnitOfWork(type(message))), prepared)
            try:
                result = await handler(message, context)
            except _Refused as refusal:  # nothing to commit first
                raise refusal.error from None
            if context._events:
                raise RuntimeError(f"{message.name()} has no unit of work: it cannot publish events")
            if context._after_commit:
                await _run_effects(context, message.name())
            return result
        refused: SonoError | None = None
        async with self._uow(read_only=not message.writes) as uow:
            # Whatever a user's command writes may refer to them (an author, an audit entry's
            # actor): their row is held first, as the lock order wants (``sono.application.uow``),
            # so a concurrent erasure of the account waits or wins cleanly. A command that locks it
            # for update (``locks_caller``) has it locked so at once: a hold upgraded later would
            # let two of the caller's commands wait for each other.
            user_id = actor.user_id
            if (
                message.writes
                and user_id is not None
                and user_id not in await uow.users.hold([user_id], exclusive=message.locks_caller)
            ):
                raise SessionEnded(CALLER_GONE)
            context = Context(actor, uow, prepared)
            try:
                result = await handler(message, context)
            except _Refused as refusal:
                refused = refusal.error
                context._after_commit.clear()
            if message.writes:
                await self._store_events(uow, context)
                await uow.commit()
                if progress is not None:
                    progress.committed = True
            elif context._events:
                raise RuntimeError(f"{message.name()} is a query: it cannot publish events")
        if refused is not None:
            raise refused
        await _run_effects(context, message.name())
        return result

    async def _store_events(self, uow: UnitOfWork, context: Context) -> None:
        """Store what the handler published, and once it is committed, tell the job engine."""
        if not context._events:
            return
        if self.outbox is None:
            raise RuntimeError("events published on a bus without an outbox")
        await self.outbox.publish(uow, *context._events)
        context.after_commit(self._jobs.deliveries_due)


async def _undo(undos: Iterable[Callable[[], Awaitable[object]]], what: str) -> None:
    """Run each undo in turn; one that fails is logged (the jobs clear what it leaves), not raised."""
    for undo in undos:
        try:
            await undo()
        except Exception:
            log.warning("undoing %s failed", what, exc_info=True)


async def _run_effects(context: Context, name: str) -> None:
    failure: Exception | None = None
    for effect in context._after_commit:
        try:
            await effect()
        except Exception as exc:
            if isinstance(effect, _Answering):
                failure = failure or exc
            else:
                log.warning("an effect after %s failed", name, exc_info=True)
    if failure is not None:
        raise failure


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
            if log.isEnabledFor(level):
                log.log(level, "%s by %s: %s in %.1f ms", message.name(), actor.via, outcome, elapsed_ms)


class Traced:
    """A span per message (named after it, with how the actor came in), child of the request's or
    the job's span: the seam's span, under which the unit of work's SQL and the adapters' calls
    nest."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def __call__(self, message: Message[Any], actor: Actor, call: Call) -> Any:
        with self._tracer.span(message.name(), {"sono.via": str(actor.via), "sono.writes": message.writes}):
            return await call()
