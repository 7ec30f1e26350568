"""Login sessions (refresh-token families) and password-reset tokens."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

RESET_TOKEN_LIFETIME = timedelta(hours=1)
DEFAULT_REFRESH_GRACE = timedelta(seconds=60)


class RefreshOutcome(enum.Enum):
    """What presenting a refresh token of a family means."""

    ROTATE = "rotate"  # the current token: rotate it
    GRACE = "grace"  # the token rotated last, again, within the grace window: answer the current pair
    REUSE = "reuse"  # an older token, or the last one too late: stolen or replayed, end the session
    ENDED = "ended"  # the session has ended already


@dataclass(eq=False)
class RefreshFamily:
    """One login session. Every refresh rotates ``current_jti`` (the jti it replaces becomes
    ``previous_jti``). Presenting ``previous_jti`` again shortly after the rotation is a client
    racing itself (two requests found the access token expired and both refreshed); presenting
    any other old token means it was stolen or replayed, and the whole session ends. Access tokens
    name their family, so ending it ends them too."""

    id: str
    user_id: int
    current_jti: str
    created_at: datetime
    expires_at: datetime
    last_rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    previous_jti: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def revoke(self, now: datetime, reason: str) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
            self.revoked_reason = reason

    def outcome(self, jti: str, now: datetime, grace: timedelta) -> RefreshOutcome:
        if not self.is_live(now):
            return RefreshOutcome.ENDED
        if jti == self.current_jti:
            return RefreshOutcome.ROTATE
        rotated = self.last_rotated_at
        if jti == self.previous_jti and rotated is not None and now - rotated < grace:
            return RefreshOutcome.GRACE
        return RefreshOutcome.REUSE


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
