from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from sono.application.accounts.messages import (
    Authenticate,
    ForgotPassword,
    Login,
    Refresh,
    ResetPassword,
    VerifyResetToken,
)
from sono.application.accounts.password_reset import hash_reset_token
from sono.application.common import PasswordInput
from sono.domain.errors import BadRequest, DeliveryFailed, NotAuthenticated, ValidationFailed
from tests.unit.conftest import PASSWORD, World

NEW_PASSWORD = "N3w!Password"


def _token_from_last_mail(world: World) -> str:
    message = world.mailer.sent[-1]
    match = re.search(r"https://sono\.example/reset-password\?token=([\w%-]+)", message.text)
    assert match, message.text
    return unquote(match.group(1))


async def _request_token(world: World, email: str = "alice@example.com") -> str:
    await world.send(ForgotPassword(email))
    return _token_from_last_mail(world)


async def test_forgot_password_mails_a_link_and_stores_only_a_hash(world: World) -> None:
    await world.register()

    await world.send(ForgotPassword("ALICE@example.com"))

    mail = world.mailer.sent[-1]
    assert mail.to == "alice@example.com"
    assert mail.subject == "Password Reset Request - Sono"
    token = _token_from_last_mail(world)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    async with world.uow() as uow:
        stored = await uow.reset_tokens.get_by_hash(hash_reset_token(token))
        assert stored is not None and stored.token_hash != token
        assert (stored.expires_at - stored.created_at).total_seconds() == 3600


async def test_forgot_password_for_an_unknown_email_looks_the_same(world: World) -> None:
    await world.send(ForgotPassword("nobody@example.com"))
    assert world.mailer.sent == []
    assert world.clock.slept and world.clock.slept[-1] > 0  # padded to a typical request's duration


async def test_forgot_password_skips_disabled_accounts(world: World) -> None:
    user = await world.register()
    async with world.uow() as uow:
        stored = await uow.users.get(user.id)  # type: ignore[arg-type]
        assert stored is not None
        stored.is_active = False
        await uow.commit()
    await world.send(ForgotPassword("alice@example.com"))
    assert world.mailer.sent == []


async def test_a_refusing_mail_transport_is_reported(world: World) -> None:
    await world.register()
    world.mailer.fail = True
    with pytest.raises(DeliveryFailed, match=re.escape("Failed to send password reset email. Please try again later.")):
        await world.send(ForgotPassword("alice@example.com"))


async def test_verify_token_states(world: World) -> None:
    await world.register()
    token = await _request_token(world)

    await world.send(VerifyResetToken(token))  # no error: valid
    with pytest.raises(BadRequest, match="Invalid or expired reset token"):
        await world.send(VerifyResetToken("not-a-token"))
    with pytest.raises(BadRequest, match="Invalid or expired reset token"):
        await world.send(VerifyResetToken(""))
    world.clock.advance(3601)
    with pytest.raises(BadRequest, match=re.escape("This reset link has expired. Please request a new one.")):
        await world.send(VerifyResetToken(token))


async def test_reset_password_end_to_end(world: World) -> None:
    await world.register()
    session = await world.send(Login("alice", PasswordInput(PASSWORD)))
    token = await _request_token(world)
    other_token = await _request_token(world)

    await world.send(ResetPassword(token, PasswordInput(NEW_PASSWORD)))

    assert await world.send(Login("alice", PasswordInput(NEW_PASSWORD)))
    with pytest.raises(NotAuthenticated):
        await world.send(Login("alice", PasswordInput(PASSWORD)))
    with pytest.raises(NotAuthenticated):  # every session ended
        await world.send(Authenticate(session.access_token))
    with pytest.raises(NotAuthenticated):
        await world.send(Refresh(session.refresh_token))
    with pytest.raises(BadRequest, match="This reset link has already been used"):
        await world.send(ResetPassword(token, PasswordInput(NEW_PASSWORD)))
    with pytest.raises(BadRequest, match="This reset link has already been used"):  # others are spent too
        await world.send(VerifyResetToken(other_token))


async def test_reset_password_enforces_the_policy_on_the_new_password(world: World) -> None:
    await world.register()
    token = await _request_token(world)
    with pytest.raises(ValidationFailed) as caught:
        await world.send(ResetPassword(token, PasswordInput("weakpassword1!")))
    assert [(e.field, e.msg) for e in caught.value.errors] == [
        ("new_password", "Password must contain at least one uppercase letter")
    ]
    await world.send(VerifyResetToken(token))  # the token was not spent: no error


async def test_reset_password_accepts_an_encrypted_password(world: World) -> None:
    await world.register()
    token = await _request_token(world)
    await world.send(ResetPassword(token, PasswordInput(world.decryptor.encrypt(NEW_PASSWORD), encrypted=True)))
    assert await world.send(Login("alice", PasswordInput(NEW_PASSWORD)))


async def test_expired_token_cannot_reset(world: World) -> None:
    await world.register()
    token = await _request_token(world)
    world.clock.advance(3600)
    with pytest.raises(BadRequest, match="expired"):
        await world.send(ResetPassword(token, PasswordInput(NEW_PASSWORD)))
