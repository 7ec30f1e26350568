"""What entrypoints may ask of app passwords, and what they get back.

``AuthenticateAppPassword`` is what the Subsonic entrypoint sends for every ``/rest`` request: it
answers the ``Actor`` to send the request's own message as, or raises ``AppPasswordRefused`` whose
``reason`` maps to the Subsonic error code (40, 41 or 44).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sono.application.messages import Actor, Audience, Command, Query
from sono.domain.app_passwords import AppPasswordRefused, Refusal

__all__ = [
    "ApiKeyCredential",
    "AppPasswordRefused",
    "AppPasswordView",
    "AuthenticateAppPassword",
    "CreateAppPassword",
    "CreatedAppPassword",
    "ListAppPasswords",
    "ListUserAppPasswords",
    "PasswordCredential",
    "Refusal",
    "RevokeAppPassword",
    "RevokeUserAppPassword",
    "TokenCredential",
]


@dataclass(frozen=True, slots=True)
class AppPasswordView:
    """An app password as its owner (or an admin) sees it: never the secret, only its last four
    characters."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    last_client: str | None
    hint: str


@dataclass(frozen=True, slots=True)
class CreatedAppPassword:
    """A new app password and its secret, shown this once."""

    credential: AppPasswordView
    secret: str

    def __repr__(self) -> str:
        return f"CreatedAppPassword({self.credential!r}, secret=***)"


# ---------------------------------------------------------------------- the owner


@dataclass(frozen=True, slots=True)
class CreateAppPassword(Command[CreatedAppPassword]):
    """A new app password for the caller, named ``label`` (trimmed, 1..64 characters; unique per
    user: 409); at most 10 per user (400). (The field cannot be called ``name``: that is every
    message's ``name()``, which the bus's middleware calls.)"""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    label: str


@dataclass(frozen=True, slots=True)
class ListAppPasswords(Query[list[AppPasswordView]]):
    """The caller's app passwords, newest first."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class RevokeAppPassword(Command[None]):
    """Revoke one of the caller's app passwords (another user's or an unknown one: not found)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    credential_id: int


# ---------------------------------------------------------------------- admins


@dataclass(frozen=True, slots=True)
class ListUserAppPasswords(Query[list[AppPasswordView]]):
    """A user's app passwords, newest first (an unknown user: not found)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class RevokeUserAppPassword(Command[None]):
    """Revoke one of a user's app passwords (audited)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int
    credential_id: int


# ---------------------------------------------------------------------- players


@dataclass(frozen=True, slots=True)
class ApiKeyCredential:
    """``apiKey`` (OpenSubsonic ``apiKeyAuthentication``): the secret alone."""

    key: str

    def __repr__(self) -> str:
        return "ApiKeyCredential(***)"


@dataclass(frozen=True, slots=True)
class PasswordCredential:
    """``u`` + ``p``; the edge has already decoded an ``enc:`` value."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"PasswordCredential({self.username!r}, ***)"


@dataclass(frozen=True, slots=True)
class TokenCredential:
    """``u`` + ``t`` + ``s``: ``t = md5(secret + s)``."""

    username: str
    token: str
    salt: str

    def __repr__(self) -> str:
        return f"TokenCredential({self.username!r}, ***)"


@dataclass(frozen=True, slots=True)
class AuthenticateAppPassword(Query[Actor]):
    """Who a player is: an ``Actor`` with ``via=Via.APP_PASSWORD``, or ``AppPasswordRefused``
    (``WRONG_CREDENTIALS``: unknown user, wrong secret, inactive or deleted user, the account
    password; ``INVALID_API_KEY``; ``TOKEN_AUTH_DISABLED``). Never runs Argon2. A query: every
    player request asks it, so it reads in a read-only unit of work (on SQLite, it never queues
    behind the write lock); the credential's last use and ``client`` (the ``c`` parameter) are
    recorded afterwards in a short unit of work of their own, at most once a minute."""

    audience: ClassVar[Audience] = Audience.ANYONE
    credential: ApiKeyCredential | PasswordCredential | TokenCredential
    client: str | None = None

    def __repr__(self) -> str:
        return f"AuthenticateAppPassword({self.credential!r}, client={self.client!r})"
