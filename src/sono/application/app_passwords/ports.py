"""What app passwords need from the outside world: where they are kept, and the keyed digest and
the encryption that stand in for the secret in storage."""

from __future__ import annotations

from typing import Protocol

from sono.domain.app_passwords import AppPassword, UseDue
from sono.domain.users import User


class SecretSealer(Protocol):
    """The server's keys for app passwords, none of them in the database.

    ``lookup`` is a keyed digest (HMAC-SHA256): equal secrets give equal lookups, and a database
    dump alone cannot be checked against guesses. ``seal``/``open`` encrypt a secret (AES-256-GCM)
    so that token authentication (``t = md5(secret + s)``) can recompute from it."""

    def lookup(self, secret: str) -> str:
        """The hex digest stored in ``lookup`` (unique index)."""

    def seal(self, secret: str) -> bytes: ...

    def open(self, sealed: bytes) -> str | None:
        """The secret, or None when ``sealed`` does not open under the server's keys (another
        key, altered bytes)."""


class AppPasswordRepository(Protocol):
    async def add(self, credential: AppPassword) -> AppPassword:
        """Insert and assign ``id``. Raises ``Conflict`` (``uq_subsonic_credentials_user_id_name``,
        ``uq_subsonic_credentials_lookup``)."""

    async def lock_owner(self, user_id: int) -> bool:
        """Hold the user's row until the unit of work ends so that creations for one user queue
        (the limit of 10 holds), without blocking the key-share holds other use cases take
        (PostgreSQL ``FOR NO KEY UPDATE``; SQLite serialises writers anyway). False when the user
        is gone."""

    async def get(self, user_id: int, credential_id: int) -> AppPassword | None:
        """One of the user's credentials (another user's is None)."""

    async def list_for_user(self, user_id: int) -> list[AppPassword]:
        """Newest first."""

    async def by_lookup(self, lookup: str) -> tuple[AppPassword, User] | None:
        """The credential with this lookup and its user, in one read."""

    async def for_username(self, username: str) -> tuple[User, list[AppPassword]] | None:
        """The user (username compared case-insensitively) and all their credentials, in one read."""

    async def record_use(self, credential_id: int, due: UseDue, client: str | None) -> bool:
        """Set ``last_used_at`` (and ``last_client`` when given) if the credential still matches
        ``due``; whether it did."""

    async def delete(self, credential: AppPassword) -> None: ...

    async def delete_for_user(self, user_id: int) -> int:
        """Revoke every credential of the user; how many there were."""

    async def sealed(self) -> list[AppPassword]:
        """Every credential holding a sealed secret, by id (key rotation)."""
