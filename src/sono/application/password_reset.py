"""Password reset by email: request, verify the link's token, set a new password."""

from __future__ import annotations

import hashlib
import secrets
from html import escape
from urllib.parse import quote

from sono.application.common import PasswordInput, Problems, audit
from sono.application.ports import (
    Clock,
    EmailMessage,
    Mailer,
    PasswordDecryptor,
    PasswordHasher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from sono.domain.errors import BadRequest, DeliveryFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.sessions import RESET_TOKEN_LIFETIME, PasswordResetToken, ResetTokenState
from sono.domain.users import password_problems

FORGOT_MESSAGE = "If an account with that email exists, we've sent password reset instructions."
VALID_MESSAGE = "Reset token is valid"
RESET_DONE_MESSAGE = "Password has been reset successfully. You can now log in with your new password."
SEND_FAILED = "Failed to send password reset email. Please try again later."
SUBJECT = "Password Reset Request - Sono"
_TOKEN_ERRORS = {
    ResetTokenState.UNKNOWN: "Invalid or expired reset token",
    ResetTokenState.USED: "This reset link has already been used",
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
        mailer: Mailer,
        clock: Clock,
        frontend_url: str,
        *,
        min_response_seconds: float = 0.05,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._decryptor = decryptor
        self._mailer = mailer
        self._clock = clock
        self._frontend_url = frontend_url.rstrip("/")
        self._floor = min_response_seconds
        self._typical_send = min_response_seconds  # moving average of real requests' duration

    async def forgot_password(self, email: str, *, ip: str | None = None) -> str:
        """Send a reset link if an active account has this email. The answer, and the time it
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
        return FORGOT_MESSAGE

    async def verify_token(self, token: str) -> str:
        async with self._uow(read_only=True) as uow:
            await self._usable_token(uow, token)
        return VALID_MESSAGE

    async def reset_password(self, token: str, new_password: PasswordInput, *, ip: str | None = None) -> str:
        """Set the new password, use up the token (and every other one of the user) and end every
        session of the user."""
        plain = new_password.reveal(self._decryptor)
        problems = Problems()
        problems.check(("body", "new_password"), password_problems(plain))
        problems.raise_if_any()
        async with self._uow(read_only=True) as uow:
            await self._usable_token(uow, token)
        password_hash = await self._hasher.hash(plain)
        now = self._clock.now()
        async with self._uow() as uow:
            reset = await self._usable_token(uow, token)
            assert reset.id is not None
            if not await uow.reset_tokens.consume(reset.id, now):
                raise BadRequest(_TOKEN_ERRORS[ResetTokenState.USED])
            user = await uow.users.get_for_update(reset.user_id)
            if user is None or not user.is_active:
                raise BadRequest(_TOKEN_ERRORS[ResetTokenState.UNKNOWN])
            user.password_hash = password_hash
            user.updated_at = now
            user.end_all_sessions()
            await uow.families.revoke_all_for_user(reset.user_id, now, "password_reset")
            await uow.reset_tokens.invalidate_for_user(reset.user_id, now)
            await audit(uow, self._clock, AuditEvent.PASSWORD_RESET_DONE, user_id=user.id, ip=ip)
            await uow.commit()
        return RESET_DONE_MESSAGE

    # ------------------------------------------------------------------ helpers

    async def _send_reset_link(self, email: str, ip: str | None) -> bool:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None or not user.is_active:
                return False
            assert user.id is not None
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
            await self._mailer.send(self._reset_email(user.email, user.display_name or user.username, token))
        except DeliveryFailed:
            raise DeliveryFailed(SEND_FAILED) from None
        return True

    def _reset_email(self, to: str, name: str, token: str) -> EmailMessage:
        link = f"{self._frontend_url}/reset-password?token={quote(token)}"
        minutes = int(RESET_TOKEN_LIFETIME.total_seconds() // 60)
        text = (
            f"Hello {name},\n\n"
            "Someone asked to reset the password of your Sono account. To choose a new password, "
            f"open this link within {minutes} minutes:\n\n{link}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n\n"
            "- Sono\n"
        )
        html = (
            f"<p>Hello {escape(name)},</p>"
            "<p>Someone asked to reset the password of your Sono account. To choose a new password, "
            f'open this link within {minutes} minutes:</p><p><a href="{escape(link)}">Reset your password</a></p>'
            "<p>If you did not ask for this, ignore this email: your password stays as it is.</p><p>- Sono</p>"
        )
        return EmailMessage(to=to, subject=SUBJECT, text=text, html=html)

    async def _usable_token(self, uow: UnitOfWork, token: str) -> PasswordResetToken:
        reset = await uow.reset_tokens.get_by_hash(hash_reset_token(token)) if token else None
        state = ResetTokenState.UNKNOWN if reset is None else reset.state(self._clock.now())
        if state != ResetTokenState.VALID:
            raise BadRequest(_TOKEN_ERRORS[state])
        assert reset is not None
        return reset
