"""The message bus: the one seam between entrypoints and the core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from sono.application import context
from sono.application.bus import Call, Context, MessageBus, handles
from sono.application.common import audit
from sono.application.messages import ANONYMOUS, Actor, Audience, Command, Message, Query, Via
from sono.domain.errors import NotAuthenticated, NotFound, PermissionDenied, SessionEnded
from sono.domain.gdpr import AuditEvent
from sono.domain.users import User
from tests.fakes.security import FakeClock
from tests.fakes.uow import FakeUnitOfWorkFactory
from tests.unit.conftest import World

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Peek(Query[str]):
    pass


@dataclass(frozen=True, slots=True)
class Remember(Command[int]):
    audience: ClassVar[Audience] = Audience.SIGNED_IN
    fail: bool = False


@dataclass(frozen=True, slots=True)
class Purge(Command[None]):
    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass
class Recorder:
    clock: FakeClock
    calls: list[str]

    @handles(Peek)
    async def peek(self, query: Peek, ctx: Context) -> str:
        self.calls.append(f"peek by {ctx.actor.via}")
        return "seen"

    @handles(Remember)
    async def remember(self, command: Remember, ctx: Context) -> int:
        await audit(ctx.uow, self.clock, AuditEvent.ADMIN_ACTION, actor_id=ctx.actor.user_id, action="remember")

        async def effect() -> None:
            self.calls.append("after commit")

        ctx.after_commit(effect)
        if command.fail:
            raise NotFound("gone")
        return ctx.actor.id

    @handles(Purge)
    async def purge(self, command: Purge, ctx: Context) -> None:
        self.calls.append("purged")


def _bus(clock: FakeClock) -> tuple[MessageBus, FakeUnitOfWorkFactory, Recorder]:
    uows = FakeUnitOfWorkFactory()
    recorder = Recorder(clock, [])
    bus = MessageBus(uows)
    bus.register(recorder)
    return bus, uows, recorder


async def _user(uows: FakeUnitOfWorkFactory, name: str, *, admin: bool = False) -> Actor:
    async with uows() as uow:
        user = await uow.users.add(User(name, f"{name}@example.com", "x", created_at=NOW, is_superuser=admin))
        await uow.commit()
    assert user.id is not None
    return Actor.user(user.id, is_admin=admin)


async def _audit_ips(uows: FakeUnitOfWorkFactory, user_id: int) -> list[str | None]:
    async with uows() as uow:
        return [entry.ip_address for entry in await uow.audit.list_for_user(user_id)]


async def test_a_command_commits_runs_its_effects_after_and_the_audit_takes_the_request_ip(clock: FakeClock) -> None:
    bus, uows, recorder = _bus(clock)
    alice = await _user(uows, "alice")
    served = context.enter(context.RequestInfo("req-1", "203.0.113.9"))
    try:
        assert await bus(Remember(), alice) == alice.user_id
    finally:
        context.leave(served)
    assert recorder.calls == ["after commit"]
    assert uows.units[-1].committed
    assert await _audit_ips(uows, alice.id) == ["203.0.113.9"]


async def test_a_failing_command_writes_nothing_and_runs_no_effect(clock: FakeClock) -> None:
    bus, uows, recorder = _bus(clock)
    alice = await _user(uows, "alice")
    with pytest.raises(NotFound):
        await bus(Remember(fail=True), alice)
    assert recorder.calls == []
    assert not uows.units[-1].committed
    assert await _audit_ips(uows, alice.id) == []


async def test_a_command_of_a_user_whose_account_is_gone_ends_their_session(clock: FakeClock) -> None:
    bus, uows, recorder = _bus(clock)
    with pytest.raises(SessionEnded):
        await bus(Remember(), Actor.user(404))
    assert recorder.calls == []
    assert await _audit_ips(uows, 404) == []


@pytest.mark.parametrize(
    ("message", "actor", "refusal"),
    [
        (Remember(), ANONYMOUS, NotAuthenticated),
        (Purge(), ANONYMOUS, NotAuthenticated),
        (Purge(), Actor.user(7), PermissionDenied),
    ],
)
async def test_the_audience_is_enforced_before_any_handler_or_transaction(
    clock: FakeClock, message: Message[Any], actor: Actor, refusal: type[Exception]
) -> None:
    bus, uows, recorder = _bus(clock)
    with pytest.raises(refusal):
        await bus(message, actor)
    assert (recorder.calls, uows.units) == ([], [])


async def test_admins_and_operators_reach_admin_messages_and_queries_commit_nothing(clock: FakeClock) -> None:
    bus, uows, recorder = _bus(clock)
    root = await _user(uows, "root", admin=True)
    del uows.units[:]
    await bus(Purge(), root)
    await bus(Purge(), Actor.operator())
    assert await bus(Peek(), ANONYMOUS) == "seen"
    assert recorder.calls == ["purged", "purged", "peek by anonymous"]
    assert [unit.committed for unit in uows.units] == [True, True, False]


async def test_middleware_wraps_every_message_outermost_first_and_sees_refusals(clock: FakeClock) -> None:
    bus, _, _ = _bus(clock)
    seen: list[str] = []

    def named(label: str) -> Any:
        async def middleware(message: Message[Any], actor: Actor, call: Call) -> Any:
            seen.append(f"{label}>{message.name()}")
            try:
                return await call()
            except Exception as exc:
                seen.append(f"{label}!{type(exc).__name__}")
                raise

        return middleware

    bus.add_middleware(named("outer"))
    bus.add_middleware(named("inner"))
    await bus(Peek(), ANONYMOUS)
    with pytest.raises(NotAuthenticated):
        await bus(Purge(), ANONYMOUS)
    assert seen == [
        "outer>tests.Peek",
        "inner>tests.Peek",
        "outer>tests.Purge",
        "inner>tests.Purge",
        "inner!NotAuthenticated",
        "outer!NotAuthenticated",
    ]


def test_a_message_type_has_one_handler_and_an_unknown_one_is_an_error(clock: FakeClock) -> None:
    bus, _, recorder = _bus(clock)
    with pytest.raises(ValueError, match="Peek"):
        bus.register(Recorder(clock, []))
    assert recorder.calls == []


async def test_an_unregistered_message_is_refused(clock: FakeClock) -> None:
    bus = MessageBus(FakeUnitOfWorkFactory())
    with pytest.raises(LookupError):
        await bus(Peek(), ANONYMOUS)


def test_actors_say_how_they_authenticated() -> None:
    assert (ANONYMOUS.signed_in, ANONYMOUS.viewer.user_id) == (False, None)
    assert Actor.user(3).viewer.is_user(3)
    assert Actor.operator().via is Via.CLI and Actor.operator().signed_in
    with pytest.raises(NotAuthenticated):
        _ = ANONYMOUS.id


async def test_the_application_registers_every_announcement_message(world: World) -> None:
    from sono.application.announcements import messages

    declared = {
        value
        for value in vars(messages).values()
        if isinstance(value, type) and issubclass(value, Message) and value.__module__ == messages.__name__
    }
    assert declared and declared <= world.app.bus.message_types
