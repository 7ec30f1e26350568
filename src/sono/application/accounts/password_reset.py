"""Password reset by email: request, verify the link's token, set a new password."""

from __future__ import annotations

import hashlib
import secrets
from contextlib import nullcontext
from typing import Any

from sono.application import context
from sono.application.accounts.messages import ResetPassword, VerifyResetToken
from sono.application.accounts.ports import Notifier, PasswordDecryptor, PasswordHasher
from sono.application.common import PasswordInput, Send, audit
from sono.application.messages import ANONYMOUS, Message
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import BadRequest, DeliveryFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.sessions import RESET_TOKEN_LIFETIME, PasswordResetToken, ResetTokenState

SEND_FAILED = "Failed to send password reset email. Please try again later."
UNKNOWN_TOKEN = "Invalid or expired reset token"
TOKEN_USED = "This reset link has already been used"
_TOKEN_ERRORS = {
    ResetTokenState.UNKNOWN: UNKNOWN_TOKEN,
    ResetTokenState.USED: TOKEN_USED,
    ResetTokenState.EXPIRED: "This reset link has expired. Please request a new one.",
}


def hash_reset_token(token: str) -> str:
    """Reset tokens are stored only as their SHA-256 (they carry 256 random bits, so a fast hash is
    enough: nothing to brute-force)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class PasswordResetService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        notifier: Notifier,
        clock: Clock,
        *,
        min_response_seconds: float = 0.05,
        send: Send | None = None,
    ) -> None:
        """``send``: the bus, to which the entry points already converted hand their messages."""
        self._send = send
        self._uow = uow
        self._hasher = hasher
        self._decryptor = decryptor
        self._notifier = notifier
        self._clock = clock
        self._floor = min_response_seconds
        self._typical_send = min_response_seconds  # moving average of real requests' duration

    async def forgot_password(self, email: str, *, ip: str | None = None) -> None:
        """Send a reset link if an active account has this email. The outcome, and the time it
        takes, are the same either way: requests for unknown emails wait as long as a typical real
        one."""
        started = self._clock.monotonic()
        sent = await self._send_reset_link(email.strip(), ip)
        elapsed = self._clock.monotonic() - started
        if sent:
            self._typical_send = 0.8 * self._typical_send + 0.2 * elapsed
        target = max(self._floor, self._typical_send)
        if elapsed < target:
            await self._clock.sleep(target - elapsed)

    async def verify_token(self, token: str) -> None:
        """Raises ``BadRequest`` (unknown, used or expired) unless the token can reset a password
        (the ``VerifyResetToken`` message)."""
        await self._through_bus(VerifyResetToken(token))

    async def reset_password(self, token: str, new_password: PasswordInput, *, ip: str | None = None) -> None:
        """Set the new password, use up the token (and every other one of the user) and end every
        session of the user (the ``ResetPassword`` message)."""
        with context.bind(ip=ip) if ip is not None else nullcontext():
            await self._through_bus(ResetPassword(token, new_password))

    async def _through_bus(self, message: Message[Any]) -> Any:
        if self._send is None:
            raise RuntimeError(f"PasswordResetService: {message.name()} needs the bus")
        return await self._send(message, ANONYMOUS)

    # ------------------------------------------------------------------ helpers

    async def _send_reset_link(self, email: str, ip: str | None) -> bool:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None or not user.is_active or user.id not in await uow.users.hold([user.id or 0]):
                return False
            await uow.reset_tokens.add(
                PasswordResetToken(
                    user_id=user.id,
                    token_hash=hash_reset_token(token),
                    created_at=now,
                    expires_at=now + RESET_TOKEN_LIFETIME,
                )
            )
            await audit(uow, self._clock, AuditEvent.PASSWORD_RESET_REQUESTED, user_id=user.id, ip=ip)
            await uow.commit()
        try:
            await self._notifier.password_reset(
                to=user.email,
                name=user.display_name or user.username,
                token=token,
                expires_minutes=int(RESET_TOKEN_LIFETIME.total_seconds() // 60),
            )
        except DeliveryFailed:
            raise DeliveryFailed(SEND_FAILED) from None
        return True

    async def _usable_token(self, uow: UnitOfWork, token: str) -> PasswordResetToken:
        return await usable_token(uow, self._clock, token)


async def usable_token(uow: UnitOfWork, clock: Clock, token: str) -> PasswordResetToken:
    """The reset token ``token`` names; ``BadRequest`` (unknown, used or expired) unless it can
    reset a password."""
    reset = await uow.reset_tokens.get_by_hash(hash_reset_token(token)) if token else None
    state = ResetTokenState.UNKNOWN if reset is None else reset.state(clock.now())
    if state != ResetTokenState.VALID:
        raise BadRequest(_TOKEN_ERRORS[state])
    assert reset is not None
    return reset
