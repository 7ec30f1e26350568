"""Users and the rules on their names, emails and passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sono.domain.errors import BadRequest

DEFAULT_MAX_AUDIO_UPLOADS = 20
MAX_AUDIO_UPLOADS_LIMIT = 1_000_000
USERNAME_MIN, USERNAME_MAX = 3, 50
DISPLAY_NAME_MAX = 50
BIO_MAX = 500
EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 8, 128
ALREADY_DISABLED = "User is already disabled"
ALREADY_ENABLED = "User is already enabled"

_USERNAME_RE = re.compile(r"[A-Za-z0-9_-]+")
# Pragmatic address check: one @, a dotted domain, no spaces or control characters.
_EMAIL_RE = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)+")
_SPECIAL_RE = re.compile(r"[^A-Za-z0-9]")


@dataclass(eq=False)
class User:
    username: str
    email: str
    password_hash: str
    display_name: str | None = None
    bio: str | None = None
    profile_picture_key: str | None = None
    is_active: bool = True
    is_superuser: bool = False
    max_audio_uploads: int = DEFAULT_MAX_AUDIO_UPLOADS
    token_version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deactivated_at: datetime | None = None
    deletion_requested_at: datetime | None = None
    """When the pending deletion request was made; None unless one is pending."""
    id: int | None = field(default=None)

    def end_all_sessions(self) -> None:
        """Every access and refresh token issued before now stops working."""
        self.token_version += 1

    def deactivate(self, now: datetime) -> None:
        """Disable the account: it can no longer log in and every session ends."""
        self.is_active = False
        self.deactivated_at = now
        self.updated_at = now
        self.end_all_sessions()

    def disable(self, now: datetime) -> None:
        """An administrator's disable: only an active account (the original server answered 400
        to a second one, and admin tools rely on it)."""
        if not self.is_active:
            raise BadRequest(ALREADY_DISABLED)
        self.deactivate(now)

    def enable(self, now: datetime) -> None:
        """An administrator's enable: only a disabled account."""
        if self.is_active:
            raise BadRequest(ALREADY_ENABLED)
        self.reactivate(now)

    def reactivate(self, now: datetime) -> None:
        self.is_active = True
        self.deactivated_at = None
        self.updated_at = now

    def upload_quota_problem(self, current_uploads: int) -> str | None:
        """Why one more audio file may not be uploaded, or None when it may."""
        if current_uploads >= self.max_audio_uploads:
            return f"Upload limit reached. You have {current_uploads} out of {self.max_audio_uploads} audio files."
        return None

    def upload_quota(self, used_uploads: int, total_bytes: int) -> UploadQuota:
        return UploadQuota(used_uploads=used_uploads, max_uploads=self.max_audio_uploads, total_bytes=total_bytes)


@dataclass(frozen=True, slots=True)
class UploadQuota:
    """A user's audio uploads against their limit (what both they and the admins see)."""

    used_uploads: int
    max_uploads: int
    total_bytes: int

    @property
    def remaining_uploads(self) -> int:
        return max(0, self.max_uploads - self.used_uploads)


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively; we keep the user's spelling but compare lowercased."""
    return email.strip().lower()


def normalize_username(username: str) -> str:
    """Usernames are unique case-insensitively too (``ALICE`` is ``alice``); the spelling chosen at
    registration is kept for display, comparisons use this form."""
    return username.strip().lower()


def username_problems(username: str) -> list[str]:
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        return [f"Username must be between {USERNAME_MIN} and {USERNAME_MAX} characters"]
    if not _USERNAME_RE.fullmatch(username):
        return ["Username may only contain letters, numbers, underscores and hyphens"]
    return []


def email_problems(email: str) -> list[str]:
    if len(email) > EMAIL_MAX or not _EMAIL_RE.fullmatch(email):
        return ["value is not a valid email address"]
    return []


def display_name_problems(display_name: str | None) -> list[str]:
    if display_name is not None and len(display_name) > DISPLAY_NAME_MAX:
        return [f"Display name must be at most {DISPLAY_NAME_MAX} characters"]
    return []


def bio_problems(bio: str | None) -> list[str]:
    if bio is not None and len(bio) > BIO_MAX:
        return [f"Bio must be at most {BIO_MAX} characters"]
    return []


def password_problems(password: str) -> list[str]:
    """Every rule of the password policy the password breaks, in the reference's order."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Password must be at least {PASSWORD_MIN} characters long")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Password must be at most {PASSWORD_MAX} characters long")
    if not any(c.isupper() for c in password):
        problems.append("Password must contain at least one uppercase letter")
    if not any(c.islower() for c in password):
        problems.append("Password must contain at least one lowercase letter")
    if not any(c.isdigit() for c in password):
        problems.append("Password must contain at least one number")
    if not _SPECIAL_RE.search(password):
        problems.append("Password must contain at least one special character")
    return problems
