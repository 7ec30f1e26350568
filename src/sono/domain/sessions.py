"""Login sessions (refresh-token families), revoked tokens and password-reset tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

RESET_TOKEN_LIFETIME = timedelta(hours=1)


@dataclass(eq=False)
class RefreshFamily:
    """One login session. Every refresh rotates ``current_jti``; a token of the family whose jti is
    no longer current has been used already, so presenting it again revokes the whole family."""

    id: str
    user_id: int
    current_jti: str
    created_at: datetime
    expires_at: datetime
    last_rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self, now: datetime, reason: str) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
            self.revoked_reason = reason


@dataclass(eq=False)
class RevokedToken:
    """An access token that stopped working before its expiry (logout)."""

    jti: str
    expires_at: datetime
    user_id: int | None = None


class ResetTokenState:
    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(eq=False)
class PasswordResetToken:
    user_id: int
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    id: int | None = None

    def state(self, now: datetime) -> str:
        if self.used_at is not None:
            return ResetTokenState.USED
        if now >= self.expires_at:
            return ResetTokenState.EXPIRED
        return ResetTokenState.VALID
