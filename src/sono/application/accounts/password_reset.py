"""Password reset by email: request, verify the link's token, set a new password."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sono.application.accounts.messages import ForgotPassword, ResetPassword, VerifyResetToken
from sono.application.accounts.ports import Notifier, PasswordDecryptor, PasswordHasher
from sono.application.bus import Context, Preparation, handles, prepares
from sono.application.common import audit
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.application.values import Problems
from sono.domain.errors import BadRequest, DeliveryFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.sessions import RESET_TOKEN_LIFETIME, PasswordResetToken, ResetTokenState
from sono.domain.users import User, password_problems

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


async def usable_token(uow: UnitOfWork, clock: Clock, token: str) -> PasswordResetToken:
    """The reset token ``token`` names; ``BadRequest`` (unknown, used or expired) unless it can
    reset a password."""
    reset = await uow.reset_tokens.get_by_hash(hash_reset_token(token)) if token else None
    state = ResetTokenState.UNKNOWN if reset is None else reset.state(clock.now())
    if state != ResetTokenState.VALID:
        raise BadRequest(_TOKEN_ERRORS[state])
    assert reset is not None
    return reset


@dataclass(frozen=True, slots=True)
class _Link:
    user: User
    token: str


class PasswordResetHandlers:
    def __init__(
        self,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        notifier: Notifier,
        clock: Clock,
        *,
        min_response_seconds: float = 0.05,
    ) -> None:
        self._hasher = hasher
        self._decryptor = decryptor
        self._notifier = notifier
        self._clock = clock
        self._floor = min_response_seconds
        self._typical_send = min_response_seconds  # moving average of real requests' duration

    @handles(ForgotPassword)
    async def forgot_password(self, command: ForgotPassword, ctx: Context) -> None:
        """Store a reset token if an active account has this email; once committed, mail its link.
        The outcome, and the time it takes, are the same either way: requests for unknown emails
        wait as long as a typical real one."""
        started = self._clock.monotonic()
        link = await self._new_link(ctx.uow, command.email.strip())

        async def answer() -> None:
            if link is not None:
                await self._mail(link)
            elapsed = self._clock.monotonic() - started
            if link is not None:
                self._typical_send = 0.8 * self._typical_send + 0.2 * elapsed
            target = max(self._floor, self._typical_send)
            if elapsed < target:
                await self._clock.sleep(target - elapsed)

        ctx.after_commit(answer, part_of_answer=True)

    async def _new_link(self, uow: UnitOfWork, email: str) -> _Link | None:
        user = await uow.users.get_by_email(email)
        if user is None or not user.is_active or user.id not in await uow.users.hold([user.id or 0]):
            return None
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        await uow.reset_tokens.add(
            PasswordResetToken(
                user_id=user.id,
                token_hash=hash_reset_token(token),
                created_at=now,
                expires_at=now + RESET_TOKEN_LIFETIME,
            )
        )
        await audit(uow, self._clock, AuditEvent.PASSWORD_RESET_REQUESTED, user_id=user.id)
        return _Link(user, token)

    async def _mail(self, link: _Link) -> None:
        try:
            await self._notifier.password_reset(
                to=link.user.email,
                name=link.user.display_name or link.user.username,
                token=link.token,
                expires_minutes=int(RESET_TOKEN_LIFETIME.total_seconds() // 60),
            )
        except DeliveryFailed:
            raise DeliveryFailed(SEND_FAILED) from None

    @handles(VerifyResetToken)
    async def verify_token(self, query: VerifyResetToken, ctx: Context) -> None:
        await usable_token(ctx.uow, self._clock, query.token)

    @prepares(ResetPassword)
    async def prepare_reset(self, command: ResetPassword, prep: Preparation) -> str:
        """The token first (400), then the password's rules (422), then its hash, outside any
        transaction."""
        plain = command.new_password.reveal(self._decryptor)
        await prep.ask(VerifyResetToken(command.token))
        problems = Problems()
        problems.check("new_password", password_problems(plain))
        problems.raise_if_any()
        return await self._hasher.hash(plain)

    @handles(ResetPassword)
    async def reset_password(self, command: ResetPassword, ctx: Context) -> None:
        """Set the new password, use up the token (and every other one of the user) and end every
        session of the user."""
        password_hash: str = ctx.prepared
        now = self._clock.now()
        uow = ctx.uow
        reset = await usable_token(uow, self._clock, command.token)
        assert reset.id is not None
        if not await uow.reset_tokens.consume(reset.id, now):
            raise BadRequest(TOKEN_USED)
        user = await uow.users.get(reset.user_id, for_update=True)
        if user is None or not user.is_active:
            raise BadRequest(UNKNOWN_TOKEN)
        user.password_hash = password_hash
        user.updated_at = now
        user.end_all_sessions()
        await uow.families.revoke_all_for_user(reset.user_id, now, "password_reset")
        await uow.app_passwords.delete_for_user(reset.user_id)
        await uow.reset_tokens.invalidate_for_user(reset.user_id, now)
        await audit(uow, self._clock, AuditEvent.PASSWORD_RESET_DONE, user_id=user.id)
