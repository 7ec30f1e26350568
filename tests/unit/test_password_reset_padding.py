"""Forgot-password takes as long for an unknown email as for a real one: the padding logic, with
an injected clock (``FakeClock.sleep`` advances it) instead of measured durations."""

from __future__ import annotations

import pytest

from sono.adapters.mail import EmailMessage
from sono.adapters.mail.notifier import EmailNotifier
from sono.application.accounts.messages import ForgotPassword
from sono.application.accounts.password_reset import PasswordResetHandlers
from sono.application.bus import MessageBus
from sono.application.messages import ANONYMOUS
from tests.fakes.mailer import InMemoryMailer
from tests.fakes.security import FakeClock
from tests.unit.conftest import World

FLOOR = 0.05


class SlowMailer(InMemoryMailer):
    """Sending takes ``seconds`` of the fake clock's time."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.clock = clock
        self.seconds = seconds

    async def send(self, message: EmailMessage) -> None:
        self.clock.advance(self.seconds)
        await super().send(message)


@pytest.fixture
async def reset(world: World) -> tuple[MessageBus, SlowMailer]:
    await world.register("alice")
    disabled = await world.register("mallory")
    async with world.uow() as uow:
        user = await uow.users.get(disabled.id)  # type: ignore[arg-type]
        assert user is not None
        user.is_active = False
        await uow.commit()
    mailer = SlowMailer(world.clock, seconds=0.3)
    bus = MessageBus(world.uow)
    bus.register(
        PasswordResetHandlers(
            world.hasher,
            world.decryptor,
            EmailNotifier(mailer, frontend_url="https://sono.example"),
            world.clock,
            min_response_seconds=FLOOR,
        )
    )
    return bus, mailer


async def _duration(clock: FakeClock, service: MessageBus, email: str) -> float:
    before = clock.monotonic()
    await service(ForgotPassword(email), ANONYMOUS)
    return clock.monotonic() - before


async def test_an_unknown_email_waits_at_least_the_floor(world: World, reset: tuple[MessageBus, SlowMailer]) -> None:
    service, mailer = reset
    assert await _duration(world.clock, service, "nobody@example.com") == pytest.approx(FLOOR)
    assert world.clock.slept == [pytest.approx(FLOOR)]
    assert mailer.sent == []


async def test_a_real_request_is_not_padded(world: World, reset: tuple[MessageBus, SlowMailer]) -> None:
    service, mailer = reset
    assert await _duration(world.clock, service, "alice@example.com") == pytest.approx(0.3)
    assert world.clock.slept == []  # sending took longer than any target
    assert len(mailer.sent) == 1


async def test_unknown_and_disabled_emails_take_as_long_as_real_ones(
    world: World, reset: tuple[MessageBus, SlowMailer]
) -> None:
    service, mailer = reset
    for _ in range(40):  # the moving average of real requests settles on what sending takes
        await _duration(world.clock, service, "alice@example.com")
    real = await _duration(world.clock, service, "alice@example.com")
    unknown = await _duration(world.clock, service, "nobody@example.com")
    disabled = await _duration(world.clock, service, "mallory@example.com")
    assert real == pytest.approx(0.3)
    assert unknown == pytest.approx(real, rel=0.01)
    assert disabled == pytest.approx(real, rel=0.01)
    assert len(mailer.sent) == 41  # nothing went to the unknown or disabled address

    mailer.seconds = 0.1  # the mail server got faster: the padding follows it down
    for _ in range(40):
        await _duration(world.clock, service, "alice@example.com")
    assert await _duration(world.clock, service, "nobody@example.com") == pytest.approx(0.1, rel=0.01)
