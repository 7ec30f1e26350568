"""Subsonic app passwords: per-device, server-generated secrets a player presents on ``/rest``
instead of the account password (which Sono keeps only as an Argon2id hash).

A secret is 32 characters of ``[A-Za-z0-9]`` (about 190 bits): ASCII only and nothing that needs
URL-encoding. What is stored is never the secret: a keyed ``lookup`` digest (one indexed read for
``apiKey`` and ``p``) and, when token authentication is on, the secret sealed under a key that is
not in the database (``t = md5(secret + s)`` needs the secret itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sono.domain.errors import NotAuthenticated
from sono.domain.users import USERNAME_MAX

SECRET_LENGTH = 32
SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HINT_LENGTH = 4
NAME_MAX_LENGTH = 64
MAX_PER_USER = 10
# How often the last use of one credential is written: a player sends dozens of requests a second.
USE_RECORD_INTERVAL = timedelta(minutes=1)
CLIENT_MAX_LENGTH = 100

NAME_REQUIRED = "Name must not be empty"
NAME_TOO_LONG = f"Name must be at most {NAME_MAX_LENGTH} characters"
NAME_TAKEN = "An app password with this name already exists"
LIMIT_REACHED = f"App password limit reached: at most {MAX_PER_USER} per user. Revoke one first."
APP_PASSWORD_NOT_FOUND = "App password not found"


class Refusal(StrEnum):
    """Why a player's credentials were refused (the Subsonic entrypoint maps each to a code)."""

    WRONG_CREDENTIALS = "wrong-credentials"  # Subsonic 40: unknown user, wrong secret, inactive user
    INVALID_API_KEY = "invalid-api-key"  # Subsonic 44
    TOKEN_AUTH_DISABLED = "token-auth-disabled"  # Subsonic 41


class AppPasswordRefused(NotAuthenticated):
    """Credentials presented on ``/rest`` that do not authenticate anyone; ``reason`` says why."""

    detail = "Wrong username or password"

    def __init__(self, reason: Refusal) -> None:
        super().__init__(_REFUSAL_DETAILS[reason])
        self.reason = reason


_REFUSAL_DETAILS = {
    Refusal.WRONG_CREDENTIALS: "Wrong username or password",
    Refusal.INVALID_API_KEY: "Invalid API key",
    Refusal.TOKEN_AUTH_DISABLED: "Token authentication is not supported",
}


@dataclass
class AppPassword:
    """One stored credential. ``lookup`` and ``sealed_secret`` are what the secret leaves behind; ``hint``
    is its last four characters (what the owner sees to tell them apart)."""

    id: int | None
    user_id: int
    name: str
    lookup: str
    sealed_secret: bytes | None
    hint: str
    created_at: datetime
    last_used_at: datetime | None = None
    last_client: str | None = None

    def record_use(self, now: datetime, client: str | None) -> None:
        self.last_used_at = now
        client = client_name(client)
        if client is not None:
            self.last_client = client


@dataclass(frozen=True, slots=True)
class ExportedAppPassword:
    """An app password in the owner's data export: its name and dates, nothing of the secret."""

    name: str
    created_at: datetime
    last_used_at: datetime | None
    last_client: str | None

    @classmethod
    def of(cls, credential: AppPassword) -> ExportedAppPassword:
        return cls(credential.name, credential.created_at, credential.last_used_at, credential.last_client)


def client_name(client: str | None) -> str | None:
    """What is kept of a player's ``c`` parameter (None: keep the one recorded before)."""
    client = (client or "").strip()[:CLIENT_MAX_LENGTH]
    return client or None


@dataclass(frozen=True, slots=True)
class UseDue:
    """Which credentials' last use is worth writing at ``now``: never used, or last written at
    least ``USE_RECORD_INTERVAL`` ago (a player sends dozens of requests a second; one write a
    minute per credential is enough). The fake evaluates ``matches``; the SQL adapter compiles
    ``cutoff`` into its ``WHERE``."""

    now: datetime

    @property
    def cutoff(self) -> datetime:
        return self.now - USE_RECORD_INTERVAL

    def matches(self, credential: AppPassword) -> bool:
        return credential.last_used_at is None or credential.last_used_at <= self.cutoff


def new_secret() -> str:
    """A fresh secret: ``SECRET_LENGTH`` characters of ``[A-Za-z0-9]`` from ``secrets``."""
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def clean_name(name: str) -> str:
    return name.strip()


def name_problem(name: str) -> str | None:
    """Why a (trimmed) name is not acceptable, or None."""
    if not name:
        return NAME_REQUIRED
    if len(name) > NAME_MAX_LENGTH:
        return NAME_TOO_LONG
    return None


def could_be_username(username: str) -> bool:
    """Whether a name a player sent could name an account at all (else no read is needed, and a
    NUL or a lone surrogate never reaches the database)."""
    if not 0 < len(username) <= USERNAME_MAX or "\x00" in username:
        return False
    try:
        username.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def hint_of(secret: str) -> str:
    return secret[-HINT_LENGTH:]


# ---------------------------------------------------------------------- checking what a player sent


def token_for(secret: str, salt: str) -> str:
    """``t`` as the Subsonic protocol defines it: the hex MD5 of the secret followed by the salt.
    MD5's weakness matters for guessable passwords; an app password has about 190 random bits."""
    return hashlib.md5(_bytes(secret + salt)).hexdigest()  # noqa: S324 - the protocol's definition


def token_matches(token: str, salt: str, secret: str) -> bool:
    """Whether ``t`` is ``md5(secret + s)`` (hex in either case), compared in constant time."""
    return hmac.compare_digest(_bytes(token.lower()), _bytes(token_for(secret, salt)))


def matching_token(token: str, salt: str, secrets: list[str]) -> int | None:
    """The index of the first secret ``t``/``s`` was made from, or None. Every candidate is
    checked, so the time does not tell which one matched."""
    found = None
    for index, secret in enumerate(secrets):
        if token_matches(token, salt, secret) and found is None:
            found = index
    return found


def _bytes(text: str) -> bytes:
    # compare_digest refuses str with non-ASCII characters; a client may send any.
    return text.encode("utf-8", "surrogatepass")
