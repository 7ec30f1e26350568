"""The Subsonic error codes (API Reference, with the OpenSubsonic 42-44) and the exception that
carries one to the serializer.

Clients act on the code, not the message: 40 makes them ask for the password again, 41 and 42 let
the newer ones fall back to another mechanism, 70 shows "not found". The messages are fixed texts:
none repeats a parameter's value, so no password, token, salt or API key reaches a response or a
log line through an error.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    GENERIC = 0
    MISSING_PARAMETER = 10
    CLIENT_MUST_UPGRADE = 20  # never sent: every `v` is accepted
    SERVER_MUST_UPGRADE = 30  # never sent
    WRONG_CREDENTIALS = 40
    TOKEN_AUTH_NOT_SUPPORTED = 41
    MECHANISM_NOT_SUPPORTED = 42
    CONFLICTING_MECHANISMS = 43
    INVALID_API_KEY = 44
    NOT_AUTHORIZED = 50
    NOT_FOUND = 70


WRONG_CREDENTIALS = (
    "Wrong username or password. Subsonic clients sign in with an app password, never the account password"
)
TOKEN_AUTH_NOT_SUPPORTED = (
    "Token authentication is not supported by this server: send the app password as p, or as apiKey without u"
)
MECHANISM_NOT_SUPPORTED = "Authentication mechanism not supported: send an app password as apiKey"
CONFLICTING_MECHANISMS = "Multiple conflicting authentication mechanisms provided"
INVALID_API_KEY = "Invalid API key"
NOT_AUTHORIZED = "User is not authorized for the given operation"
NOT_FOUND = "The requested data was not found"
MISSING_PARAMETER = "Required parameter is missing: {}"

APP_PASSWORDS_PATH = "/api/v1/users/me/subsonic-credentials"
"""Where a user makes, lists and revokes app passwords; ``helpUrl`` of 40, 41 and 42 is this path
on the public base URL."""


def app_passwords_url(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + APP_PASSWORDS_PATH


class SubsonicError(Exception):
    """An API-method error: answered as ``status="failed"`` with ``error {code, message, helpUrl?}``
    (HTTP 200, what clients parse)."""

    def __init__(self, code: ErrorCode, message: str, *, help_url: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.help_url = help_url

    def __repr__(self) -> str:
        return f"SubsonicError({self.code.name}, {self.message!r})"


def generic(message: str) -> SubsonicError:
    return SubsonicError(ErrorCode.GENERIC, message)


def missing_parameter(name: str) -> SubsonicError:
    return SubsonicError(ErrorCode.MISSING_PARAMETER, MISSING_PARAMETER.format(name))


def wrong_credentials(help_url: str | None = None) -> SubsonicError:
    """The one answer for a wrong secret, an unknown user, the account password, a revoked app
    password and a disabled account alike: nothing tells them apart."""
    return SubsonicError(ErrorCode.WRONG_CREDENTIALS, WRONG_CREDENTIALS, help_url=help_url)


def token_auth_not_supported(help_url: str | None = None) -> SubsonicError:
    return SubsonicError(ErrorCode.TOKEN_AUTH_NOT_SUPPORTED, TOKEN_AUTH_NOT_SUPPORTED, help_url=help_url)


def mechanism_not_supported(help_url: str | None = None) -> SubsonicError:
    return SubsonicError(ErrorCode.MECHANISM_NOT_SUPPORTED, MECHANISM_NOT_SUPPORTED, help_url=help_url)


def conflicting_mechanisms() -> SubsonicError:
    return SubsonicError(ErrorCode.CONFLICTING_MECHANISMS, CONFLICTING_MECHANISMS)


def invalid_api_key() -> SubsonicError:
    return SubsonicError(ErrorCode.INVALID_API_KEY, INVALID_API_KEY)


def not_authorized() -> SubsonicError:
    """The caller can see the object but may not change it, or the method is for admins."""
    return SubsonicError(ErrorCode.NOT_AUTHORIZED, NOT_AUTHORIZED)


def not_found() -> SubsonicError:
    """An id that does not exist, is malformed, or names something the caller may not see: the
    same answer for all three, so that a private object's existence is never revealed."""
    return SubsonicError(ErrorCode.NOT_FOUND, NOT_FOUND)
