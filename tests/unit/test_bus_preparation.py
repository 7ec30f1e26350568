"""The bus's preparation step (work outside the unit of work), a command's audited refusal, effects
whose failure is the answer, and messages without a unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from sono.application.bus import Context, MessageBus, Preparation, handles, prepares
from sono.application.common import audit
from sono.application.messages import ANONYMOUS, Actor, Audience, Command, Query
from sono.domain.errors import BadRequest, DeliveryFailed, NotAuthenticated, PermissionDenied
from sono.domain.gdpr import AuditEvent
from tests.fakes.security import FakeClock
from tests.fakes.uow import FakeUnitOfWorkFactory

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Count(Query[int]):
    pass


@dataclass(frozen=True, slots=True)
class Slow(Command[str]):
    refuse: bool = False
    fail_early: bool = False


@dataclass(frozen=True, slots=True)
class Guarded(Command[str]):
    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class Mail(Command[None]):
    fail: bool = False


@dataclass(frozen=True, slots=True)
class Lookup(Query[str]):
    unit_of_work: ClassVar[bool] = False


@dataclass
class Handlers:
    clock: FakeClock
    uows: FakeUnitOfWorkFactory
    calls: list[str] = field(default_factory=list)

    @handles(Count)
    async def count(self, query: Count, ctx: Context) -> int:
        self.calls.append("count")
        return len(self.uows.units)

    @prepares(Slow)
    async def prepare(self, command: Slow, prep: Preparation) -> str:
        # no unit of work is open while it runs, except the ones its queries open and close
        self.calls.append(f"prepare with {await prep.ask(Count())} units so far")
        if command.fail_early:
            raise BadRequest("early")
        return "hashed"

    @handles(Slow)
    async def slow(self, command: Slow, ctx: Context) -> str:
        self.calls.append(f"handle {ctx.prepared}")
        await audit(ctx.uow, self.clock, AuditEvent.LOGIN_FAILURE, reason="x")
        if command.refuse:
            ctx.refuse(NotAuthenticated("no"))
        return str(ctx.prepared)

    @prepares(Guarded)
    async def never(self, command: Guarded, prep: Preparation) -> None:
        self.calls.append("prepared")

    @handles(Guarded)
    async def guarded(self, command: Guarded, ctx: Context) -> str:
        return "in"

    @handles(Mail)
    async def mail(self, command: Mail, ctx: Context) -> None:
        async def send() -> None:
            self.calls.append("mail")
            if command.fail:
                raise DeliveryFailed("down")

        ctx.after_commit(send, part_of_answer=True)

    @handles(Lookup)
    async def lookup(self, query: Lookup, ctx: Context) -> str:
        with pytest.raises(RuntimeError):
            ctx.uow.users  # noqa: B018 - there is none
        return "fast"


def _bus() -> tuple[MessageBus, FakeUnitOfWorkFactory, Handlers]:
    uows = FakeUnitOfWorkFactory()
    handlers = Handlers(FakeClock(NOW), uows)
    bus = MessageBus(uows)
    bus.register(handlers)
    return bus, uows, handlers


async def _failures(uows: FakeUnitOfWorkFactory) -> int:
    return sum(1 for e in uows.database.audit.values() if e.event == AuditEvent.LOGIN_FAILURE)


async def test_the_preparation_runs_before_the_unit_of_work_and_hands_its_answer_over() -> None:
    bus, uows, handlers = _bus()
    assert await bus(Slow(), ANONYMOUS) == "hashed"
    assert handlers.calls == ["count", "prepare with 1 units so far", "handle hashed"]
    assert len(uows.units) == 2 and uows.units[-1].committed  # the query's, then the command's


async def test_a_failing_preparation_opens_no_unit_of_work_for_the_command() -> None:
    bus, uows, handlers = _bus()
    with pytest.raises(BadRequest):
        await bus(Slow(fail_early=True), ANONYMOUS)
    assert len(uows.units) == 1  # the preparation's query only
    assert "handle hashed" not in handlers.calls


async def test_the_audience_is_checked_before_the_preparation() -> None:
    bus, uows, handlers = _bus()
    with pytest.raises(PermissionDenied):
        await bus(Guarded(), Actor.user(3))
    assert (handlers.calls, uows.units) == ([], [])


async def test_a_refusal_commits_what_the_command_wrote_then_raises() -> None:
    bus, uows, _ = _bus()
    with pytest.raises(NotAuthenticated):
        await bus(Slow(refuse=True), ANONYMOUS)
    assert uows.units[-1].committed
    assert await _failures(uows) == 1


async def test_an_effect_that_is_part_of_the_answer_raises_after_the_commit() -> None:
    bus, uows, handlers = _bus()
    await bus(Mail(), ANONYMOUS)
    with pytest.raises(DeliveryFailed):
        await bus(Mail(fail=True), ANONYMOUS)
    assert uows.units[-1].committed
    assert handlers.calls == ["mail", "mail"]


async def test_a_message_without_a_unit_of_work_opens_none() -> None:
    bus, uows, _ = _bus()
    assert await bus(Lookup(), ANONYMOUS) == "fast"
    assert uows.units == []
