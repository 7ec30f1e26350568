"""How a Subsonic request authenticates: the decision table over ``u``, ``p``, ``t``, ``s`` and
``apiKey``, and the checks of what a client presented against a candidate secret.

The secret is always an app password (a server-generated per-device credential), never the
account password: it is what ``p`` carries (clear or ``enc:`` + hex), what ``t = md5(secret + s)``
is made from, and what ``apiKey`` is.

The table (OpenSubsonic ``apiKeyAuthentication`` and the Subsonic API Reference):

- ``apiKey`` with any of ``u``, ``p``, ``t``, ``s``: 43; alone: the API-key mechanism (an unknown
  key is 44, decided where keys are looked up).
- ``p`` with ``t`` or ``s``: 43.
- ``t`` without ``s``, or ``s`` without ``t``: 10.
- ``u`` + ``t`` + ``s``: token authentication, or 41 when it is switched off.
- ``u`` + ``p``: password authentication (an ``enc:`` value that is not hex of UTF-8 is 40).
- ``p``, ``t`` + ``s`` without ``u``, ``u`` alone, or nothing: 10.

A parameter sent empty counts as not sent (some clients send every parameter, unused ones
blank). A parameter sent twice with two different values is 43: which one would count is exactly
the ambiguity the error exists for. Structural errors (43, then 10) come before the switch (41).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sono.entrypoints.subsonic import errors

AUTH_PARAMETERS = frozenset({"u", "p", "t", "s", "apiKey"})
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*", re.ASCII)


@dataclass(frozen=True)
class ApiKey:
    key: str

    def __repr__(self) -> str:
        return "ApiKey(***)"


@dataclass(frozen=True)
class Password:
    username: str
    password: str  # decoded from ``enc:`` when it came so

    def __repr__(self) -> str:
        return f"Password({self.username!r}, ***)"


@dataclass(frozen=True)
class Token:
    username: str
    token: str
    salt: str

    def __repr__(self) -> str:
        return f"Token({self.username!r}, ***)"


Credentials = ApiKey | Password | Token


def credentials(params: Iterable[tuple[str, str]], *, token_auth: bool, help_url: str | None = None) -> Credentials:
    """The mechanism the parameters use and what they present, or the ``SubsonicError`` the table
    gives. ``token_auth`` is the ``SONO_SUBSONIC_TOKEN_AUTH`` switch; ``help_url`` goes with 40
    and 41 (where app passwords are made)."""
    given: dict[str, str] = {}
    for name, value in params:
        if name not in AUTH_PARAMETERS or not value:
            continue
        if given.setdefault(name, value) != value:
            raise errors.conflicting_mechanisms()
    api_key, username, password, token, salt = (given.get(name) for name in ("apiKey", "u", "p", "t", "s"))
    if api_key is not None:
        if username is not None or password is not None or token is not None or salt is not None:
            raise errors.conflicting_mechanisms()
        return ApiKey(api_key)
    if password is not None and (token is not None or salt is not None):
        raise errors.conflicting_mechanisms()
    if token is not None and salt is None:
        raise errors.missing_parameter("s")
    if salt is not None and token is None:
        raise errors.missing_parameter("t")
    if username is None:
        raise errors.missing_parameter("u")
    if token is not None and salt is not None:
        if not token_auth:
            raise errors.token_auth_not_supported(help_url)
        return Token(username, token, salt)
    if password is None:
        raise errors.missing_parameter("p")
    plain = decoded_password(password)
    if plain is None:
        raise errors.wrong_credentials(help_url)
    return Password(username, plain)


def decoded_password(p: str) -> str | None:
    """``p`` as sent: clear text, or ``enc:`` followed by the hex of its UTF-8 bytes (``None``
    when that is not what follows)."""
    if not p.startswith("enc:"):
        return p
    hex_digits = p[4:]
    if _HEX.fullmatch(hex_digits) is None:
        return None
    try:
        return bytes.fromhex(hex_digits).decode("utf-8")
    except UnicodeDecodeError:
        return None


def token_for(secret: str, salt: str) -> str:
    """``t`` as the protocol defines it: the hex MD5 of the secret followed by the salt. MD5's
    weakness matters for guessable passwords; an app password has about 190 random bits."""
    return hashlib.md5(_bytes(secret + salt)).hexdigest()  # noqa: S324 - the protocol's definition


def password_matches(password: str, secret: str) -> bool:
    return hmac.compare_digest(_bytes(password), _bytes(secret))


def token_matches(token: str, salt: str, secret: str) -> bool:
    """Whether ``t`` is ``md5(secret + s)`` (hex in either case)."""
    return hmac.compare_digest(_bytes(token.lower()), _bytes(token_for(secret, salt)))


def matching_secret(presented: Password | Token, secrets: Sequence[str]) -> int | None:
    """The index of the first of a user's secrets that ``presented`` matches, or ``None``. Every
    candidate is checked, matched or not, so the time does not tell which one matched or how
    many a user has beyond their count."""
    found = None
    for index, secret in enumerate(secrets):
        if isinstance(presented, Password):
            matched = password_matches(presented.password, secret)
        else:
            matched = token_matches(presented.token, presented.salt, secret)
        if matched and found is None:
            found = index
    return found


def _bytes(text: str) -> bytes:
    # compare_digest refuses str with non-ASCII characters; a client may send any.
    return text.encode("utf-8", "surrogatepass")
