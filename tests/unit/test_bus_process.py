"""The bus's processes: a message whose handler sends its steps through the bus as the same actor,
each command in its own committed unit of work, with the audience of each step checked, the
middleware around the process and each step, and what the steps did undone when a later one fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import pytest

from sono.application.bus import Call, Context, MessageBus, Preparation, ProcessContext, handles, prepares
from sono.application.common import audit
from sono.application.messages import Actor, Audience, Command, Message, Process, Query
from sono.domain.errors import BadRequest, PermissionDenied
from sono.domain.gdpr import AuditEvent
from sono.domain.users import User
from tests.fakes.repositories.accounts import FakeUserRepository
from tests.fakes.security import FakeClock
from tests.fakes.uow import FakeUnitOfWork, FakeUnitOfWorkFactory

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = Actor.operator()


@dataclass(frozen=True, slots=True)
class Stage(Command[str]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    label: str


@dataclass(frozen=True, slots=True)
class File(Command[str]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    label: str
    fail: bool = False


@dataclass(frozen=True, slots=True)
class AdminStep(Command[str]):
    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class Peek(Query[int]):
    """How many audit entries are committed (read in a unit of work of its own)."""


@dataclass(frozen=True, slots=True)
class Upload(Process[str]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    fail_filing: bool = False
    fail_store: bool = False
    admin_step: bool = False


@dataclass
class Handlers:
    clock: FakeClock
    uows: FakeUnitOfWorkFactory
    calls: list[str] = field(default_factory=list)
    failing_undo: bool = False

    @handles(Upload)
    async def upload(self, process: Upload, ctx: ProcessContext) -> str:
        assert not hasattr(ctx, "uow")  # a process has none of its own
        if process.admin_step:
            await ctx.send(AdminStep())
        key = await ctx.send(Stage("song"))
        self.calls.append(f"staged, committed: {self.uows.units[-1].committed}, open: {self._open()}")

        async def remove_object() -> None:
            self.calls.append(f"undo store of {key}")

        async def forget() -> None:
            self.calls.append(f"undo stage of {key}")
            if self.failing_undo:
                raise RuntimeError("storage down")

        ctx.on_failure(forget)
        self.calls.append(f"store {key} with {self._open()} units open, {await ctx.send(Peek())} entries seen")
        ctx.on_failure(remove_object)
        if process.fail_store:
            raise BadRequest("storage refused")
        return await ctx.send(File(key, fail=process.fail_filing))

    def _open(self) -> int:
        assert isinstance(self.uows, Tracking)
        return self.uows.open

    @handles(Stage)
    async def stage(self, command: Stage, ctx: Context) -> str:
        await audit(ctx.uow, self.clock, AuditEvent.LOGIN_FAILURE, reason="stage")
        return f"key-{command.label}"

    @handles(File)
    async def file(self, command: File, ctx: Context) -> str:
        await audit(ctx.uow, self.clock, AuditEvent.LOGIN_FAILURE, reason="file")
        if command.fail:
            raise BadRequest("lost the race")
        return f"filed {command.label}"

    @handles(AdminStep)
    async def admin_step(self, command: AdminStep, ctx: Context) -> str:
        return "admin"

    @handles(Peek)
    async def peek(self, query: Peek, ctx: Context) -> int:
        return _entries(self.uows)


class Tracking(FakeUnitOfWorkFactory):
    """Counts the units of work open at the moment."""

    def __init__(self) -> None:
        super().__init__()
        self.open = 0

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        unit = _Tracked(self, self.database)  # type: ignore[abstract]  # the registry's repositories (__getattr__)
        self.units.append(unit)
        return unit


class _Tracked(FakeUnitOfWork):
    def __init__(self, factory: Tracking, database: Any) -> None:
        super().__init__(database)
        self._factory = factory

    async def __aenter__(self) -> Self:
        self._factory.open += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._factory.open -= 1
        await self.rollback()


def _entries(uows: FakeUnitOfWorkFactory) -> int:
    return sum(1 for entry in uows.database.audit.values() if entry.event == AuditEvent.LOGIN_FAILURE)


@dataclass
class Recorder:
    """A middleware recording what it sees, indented by nesting."""

    seen: list[str] = field(default_factory=list)
    depth: int = 0

    async def __call__(self, message: Message[Any], actor: Actor, call: Call) -> Any:
        self.seen.append("  " * self.depth + message.name())
        self.depth += 1
        try:
            return await call()
        finally:
            self.depth -= 1


def _bus() -> tuple[MessageBus, FakeUnitOfWorkFactory, Handlers, Recorder]:
    uows = Tracking()
    handlers = Handlers(FakeClock(NOW), uows)
    recorder = Recorder()
    bus = MessageBus(uows, [recorder])
    bus.register(handlers)
    return bus, uows, handlers, recorder


async def test_each_step_is_its_own_committed_unit_of_work_and_none_is_open_between() -> None:
    bus, uows, handlers, _ = _bus()

    assert await bus(Upload(), OPERATOR) == "filed key-song"

    assert handlers.calls == [
        "staged, committed: True, open: 0",
        "store key-song with 0 units open, 1 entries seen",  # the stage step's write is committed
    ]
    assert [unit.committed for unit in uows.units] == [True, False, True]  # stage, peek (a query), file
    assert _entries(uows) == 2


async def test_the_middleware_sees_the_process_and_each_step_nested_in_it() -> None:
    bus, _, _, recorder = _bus()

    await bus(Upload(), OPERATOR)

    assert recorder.seen == ["tests.Upload", "  tests.Stage", "  tests.Peek", "  tests.File"]


async def test_a_failing_step_runs_the_undos_latest_first_and_raises_its_error() -> None:
    bus, uows, handlers, _ = _bus()

    with pytest.raises(BadRequest, match="lost the race"):
        await bus(Upload(fail_filing=True), OPERATOR)

    assert handlers.calls[-2:] == ["undo store of key-song", "undo stage of key-song"]
    assert not uows.units[-1].committed  # the failed step's unit of work rolled back
    assert _entries(uows) == 1  # the stage step's stands: undoing it is the undo's work


async def test_a_failure_between_steps_undoes_too_and_a_failing_undo_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus, uows, handlers, _ = _bus()
    handlers.failing_undo = True

    with pytest.raises(BadRequest, match="storage refused"):
        await bus(Upload(fail_store=True), OPERATOR)

    assert handlers.calls[-2:] == ["undo store of key-song", "undo stage of key-song"]
    assert "undoing a step of tests.Upload failed" in caplog.text
    assert [unit.committed for unit in uows.units] == [True, False]  # no filing step ran


async def test_nothing_is_undone_when_the_process_succeeds() -> None:
    bus, _, handlers, _ = _bus()
    await bus(Upload(), OPERATOR)
    assert not any(call.startswith("undo") for call in handlers.calls)


async def test_each_step_has_its_audience_checked_for_the_processes_actor() -> None:
    bus, uows, handlers, _ = _bus()

    with pytest.raises(PermissionDenied):
        await bus(Upload(admin_step=True), Actor.user(3))  # may start it, not send the admin step

    assert (uows.units, handlers.calls) == ([], [])
    assert await bus(Upload(admin_step=True), OPERATOR) == "filed key-song"


async def test_the_process_itself_has_its_audience_checked() -> None:
    bus, uows, handlers, _ = _bus()
    with pytest.raises(Exception, match="Not authenticated"):
        await bus(Upload(), Actor())
    assert (uows.units, handlers.calls) == ([], [])


@dataclass(frozen=True, slots=True)
class Serialised(Command[None]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    locks_caller: ClassVar[bool] = True


@dataclass
class Holds:
    @handles(Serialised)
    async def serialised(self, command: Serialised, ctx: Context) -> None:
        return None

    @handles(Stage)
    async def stage(self, command: Stage, ctx: Context) -> str:
        return command.label


async def test_a_command_that_locks_its_caller_has_their_row_locked_for_update_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not held first and locked later: two of the caller's commands would wait for each other."""
    uows = FakeUnitOfWorkFactory()
    async with uows() as uow:
        alice = await uow.users.add(User("alice", "alice@example.com", "hash"))
        await uow.commit()
    holds: list[bool] = []
    hold = FakeUserRepository.hold

    async def recording(self: FakeUserRepository, user_ids: Any, *, exclusive: bool = False) -> set[int]:
        holds.append(exclusive)
        return await hold(self, user_ids, exclusive=exclusive)

    monkeypatch.setattr(FakeUserRepository, "hold", recording)
    bus = MessageBus(uows)
    bus.register(Holds())
    assert alice.id is not None

    await bus(Serialised(), Actor.user(alice.id))
    await bus(Stage("x"), Actor.user(alice.id))

    assert holds == [True, False]


def test_a_process_has_no_preparation() -> None:
    class Preparing:
        @prepares(Upload)
        async def prepare(self, process: Upload, prep: Preparation) -> None:
            return None

    with pytest.raises(TypeError, match="is a process"):
        MessageBus(FakeUnitOfWorkFactory()).register(Preparing())
