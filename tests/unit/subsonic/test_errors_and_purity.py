"""The error constructors, and the protocol layer's independence: standard library only, no
adapter, no web framework, no core import (it is wired over the core, never the reverse)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sono.entrypoints.subsonic import errors
from sono.entrypoints.subsonic.errors import ErrorCode, SubsonicError
from tests.unit.test_architecture import PACKAGE, imported_modules, outside

HELP = "https://sono.example/api/v1/users/me/subsonic-credentials"


def test_the_protocol_layer_imports_only_the_standard_library_and_itself() -> None:
    imports = imported_modules(PACKAGE / "entrypoints" / "subsonic")
    assert len(imports) >= 8
    assert outside(imports, ("sono.entrypoints.subsonic",)) == {
        "entrypoints/subsonic/response.py": ["sono"]  # sono.__version__, the serverVersion it answers
    }


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (errors.wrong_credentials, ErrorCode.WRONG_CREDENTIALS),
        (errors.token_auth_not_supported, ErrorCode.TOKEN_AUTH_NOT_SUPPORTED),
        (errors.mechanism_not_supported, ErrorCode.MECHANISM_NOT_SUPPORTED),
    ],
)
def test_the_authentication_refusals_point_to_where_app_passwords_are_made(
    make: Callable[[str | None], SubsonicError], code: ErrorCode
) -> None:
    error = make(HELP)
    assert (error.code, error.help_url) == (code, HELP)
    assert make(None).help_url is None


def test_the_other_errors() -> None:
    made = {
        errors.conflicting_mechanisms(): (43, errors.CONFLICTING_MECHANISMS),
        errors.invalid_api_key(): (44, errors.INVALID_API_KEY),
        errors.not_authorized(): (50, errors.NOT_AUTHORIZED),
        errors.not_found(): (70, errors.NOT_FOUND),
        errors.missing_parameter("id"): (10, "Required parameter is missing: id"),
        errors.generic("Unknown method"): (0, "Unknown method"),
    }
    for error, (code, message) in made.items():
        assert (int(error.code), error.message, error.help_url) == (code, message, None)


def test_the_codes_are_the_api_references() -> None:
    assert {code.name: int(code) for code in ErrorCode} == {
        "GENERIC": 0,
        "MISSING_PARAMETER": 10,
        "CLIENT_MUST_UPGRADE": 20,
        "SERVER_MUST_UPGRADE": 30,
        "WRONG_CREDENTIALS": 40,
        "TOKEN_AUTH_NOT_SUPPORTED": 41,
        "MECHANISM_NOT_SUPPORTED": 42,
        "CONFLICTING_MECHANISMS": 43,
        "INVALID_API_KEY": 44,
        "NOT_AUTHORIZED": 50,
        "NOT_FOUND": 70,
    }


def test_app_passwords_url() -> None:
    assert errors.app_passwords_url("https://sono.example/") == HELP
    assert errors.app_passwords_url("https://sono.example") == HELP
