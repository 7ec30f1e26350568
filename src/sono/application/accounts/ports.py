"""What accounts and sessions need from the outside world."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sono.application.values import Page
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import User


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Insert and assign ``user.id``. Raises ``Conflict`` (constraint ``uq_users_email_lower``
        or ``uq_users_username_lower``) when the email or username is taken."""

    async def get(self, user_id: int, *, for_update: bool = False) -> User | None:
        """``for_update`` holds a row lock until the unit of work ends (no-op on SQLite, where the
        writer lock serialises writers anyway)."""

    async def lock_for_change(self, user_id: int) -> User | None:
        """The user, their row locked against other changes of the account until the unit of work
        ends, but not against what refers to it (PostgreSQL: ``FOR NO KEY UPDATE``, which the
        caller's hold of the bus, ``FOR KEY SHARE``, does not conflict with: two changes of one
        account queue instead of deadlocking)."""

    async def hold(self, user_ids: Iterable[int], *, exclusive: bool = False) -> set[int]:
        """Those of ``user_ids`` that exist, their rows held until the unit of work ends, so that
        no concurrent transaction deletes them (``exclusive``: nor locks them for a change) before
        this one has written what refers to them. Take holds in the order ``sono.application.uow``
        documents (PostgreSQL: ``FOR KEY SHARE`` / ``FOR UPDATE``, in id order; SQLite's writer
        lock serialises writers anyway)."""

    async def get_by_username(self, username: str) -> User | None:
        """Case-insensitive."""

    async def get_by_email(self, email: str) -> User | None:
        """Case-insensitive."""

    async def get_by_login(self, login: str) -> User | None:
        """By username, else by email, both case-insensitively."""

    async def search(self, query: str, *, skip: int, limit: int) -> Page[User]:
        """Active users whose username or display name contains ``query`` case-insensitively
        (``%`` and ``_`` literal), by username."""

    async def delete(self, user: User) -> None:
        """Delete the row; the database cascades to everything the user owns and sets
        ``audit_log.user_id``/``actor_id`` to NULL."""


class RefreshFamilyRepository(Protocol):
    async def add(self, family: RefreshFamily) -> None: ...
    async def get(self, family_id: str) -> RefreshFamily | None: ...
    async def rotate(self, family_id: str, old_jti: str, new_jti: str, now: datetime) -> bool:
        """Atomically make ``new_jti`` current (and ``old_jti`` previous) if ``old_jti`` is still
        current and the family is not revoked (compare-and-swap). False when another request won
        or the family is revoked; the family object then shows the stored state."""

    async def revoke_all_for_user(self, user_id: int, now: datetime, reason: str) -> int: ...
    async def delete_expired(self, now: datetime) -> int: ...


class ResetTokenRepository(Protocol):
    async def add(self, token: PasswordResetToken) -> PasswordResetToken: ...
    async def get_by_hash(self, token_hash: str) -> PasswordResetToken | None: ...
    async def consume(self, token_id: int, now: datetime) -> bool:
        """Atomically mark the token used if it is still unused (compare-and-swap): True for
        exactly one of several concurrent callers."""

    async def invalidate_for_user(self, user_id: int, now: datetime) -> int:
        """Mark every unused token of the user as used at ``now``."""

    async def delete_expired(self, now: datetime) -> int:
        """Delete tokens that expired (or were used) before ``now``."""


class SessionLookup(Protocol):
    """The reads on the hot paths (every authenticated request, every login), kept apart from the
    unit of work so that an adapter can answer each in one cheap round trip, outside any
    transaction."""

    async def user_by_login(self, login: str) -> User | None:
        """By username, else by email, both case-insensitively (as ``UserRepository.get_by_login``)."""

    async def principal(self, user_id: int, family_id: str, now: datetime) -> tuple[User | None, bool]:
        """The user (None when there is no such user) and whether the session ``family_id`` is
        still live (exists, not revoked, not expired at ``now``), read together."""


class PasswordHasher(Protocol):
    """Argon2id; hashing runs off the event loop with bounded concurrency."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or a malformed hash, never raises for those."""

    async def verify_dummy(self, password: str) -> None:
        """Spend the cost of one verification (logins of unknown accounts)."""

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    jti: str
    family_id: str
    token_version: int
    is_superuser: bool
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    user_id: int
    jti: str
    family_id: str
    token_version: int
    expires_at: datetime


class TokenIssuer(Protocol):
    """Signs and checks JWTs. Access and refresh tokens use different secrets."""

    access_ttl_seconds: int
    refresh_ttl_seconds: int

    def issue_access(self, claims: AccessClaims) -> str: ...
    def issue_refresh(self, claims: RefreshClaims) -> str: ...
    def decode_access(self, token: str) -> AccessClaims:
        """Raises ``InvalidToken`` when the token is malformed, forged, expired or not an access
        token."""

    def decode_refresh(self, token: str) -> RefreshClaims:
        """Raises ``InvalidToken`` likewise."""


class PasswordDecryptor(Protocol):
    """The deployment's RSA key pair for client-side password encryption (RSA-OAEP-256)."""

    key_id: str
    public_key_pem: str

    def decrypt(self, ciphertext_b64: str) -> str:
        """Raises ``BadRequest("Invalid encrypted password")`` when it does not decrypt."""


class Notifier(Protocol):
    """Messages to users. The adapter owns the wording, templates and links."""

    async def password_reset(self, *, to: str, name: str, token: str, expires_minutes: int) -> None:
        """Send the password reset link carrying ``token``. Raises ``DeliveryFailed`` when the
        transport refuses or cannot be reached."""
