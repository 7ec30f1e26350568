"""The one redaction rule (``sono.entrypoints.logs``) and the formatters that apply it to every
line: credentials in query strings, form fields, headers and free text never reach a log."""

from __future__ import annotations

import json
import logging

import pytest

from sono.application import context
from sono.entrypoints.logs import (
    TEXT_FORMAT,
    JsonFormatter,
    LogContext,
    TextFormatter,
    bound,
    install_log_context,
    is_secret,
    redact_fields,
    redact_headers,
    redact_query,
    redact_text,
)

SECRET = "s3cr3tVALUE"


@pytest.mark.parametrize(
    "name",
    [
        "signature",
        "Signature",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "token",
        "access_token",
        "refresh_token",
        "p",
        "t",
        "s",
        "P",
        "apiKey",
        "api_key",
        "key",
        "KEY",
        "password",
        "new_password",
        "client_secret",
        "authorization",
        "Cookie",
        "Set-Cookie",
    ],
)
def test_credential_names_are_secret(name: str) -> None:
    assert is_secret(name)
    assert redact_query(f"a=1&{name}={SECRET}&b=2") == f"a=1&{name}=***&b=2"
    assert redact_fields({name: SECRET, "title": "x"}) == {name: "***", "title": "x"}
    assert redact_headers([(name.encode(), SECRET.encode()), (b"Accept", b"*/*")]) == [
        (name.lower(), "***"),
        ("accept", "*/*"),
    ]


@pytest.mark.parametrize("name", ["expires", "q", "query", "page", "size", "sort", "deletion_type", "title", "id"])
def test_ordinary_names_are_kept(name: str) -> None:
    assert not is_secret(name)
    assert redact_query(f"{name}=value") == f"{name}=value"


def test_redact_query_keeps_the_shape() -> None:
    assert redact_query("") == ""
    assert redact_query("flag&signature") == "flag&signature"  # no value: nothing to hide
    assert redact_query("sig%6Eature=abc&to%6Ben=x") == "sig%6Eature=***&to%6Ben=***"  # encoded names too
    assert redact_query("signature=a&signature=b") == "signature=***&signature=***"


@pytest.mark.parametrize(
    "text",
    [
        f"GET https://bucket.s3.example/audio/1.mp3?X-Amz-Algorithm=AWS4&X-Amz-Signature={SECRET}&X-Amz-Expires=60",
        f"fetched /api/v1/media/audio/1.mp3?expires=1&signature={SECRET}",
        f"/rest/ping.view?u=bob&t={SECRET}&s={SECRET}&v=1.16",
        f"/rest/ping.view?u=bob&p=enc:{SECRET}",
        f"connecting with password={SECRET} now",
        f"headers: Authorization: Bearer {SECRET}",
        f"Basic {SECRET}==",
        f"refresh_token={SECRET}, reason=expired",
    ],
)
def test_redact_text_removes_credentials_anywhere_in_a_line(text: str) -> None:
    assert SECRET not in redact_text(text)


def test_redact_text_leaves_ordinary_lines_alone() -> None:
    line = '127.0.0.1 "GET /api/v1/audio?page=2&size=20&status=ready" 200 3.1ms request_id=abc'
    assert redact_text(line) == line


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    install_log_context()
    record = logging.getLogger("sono.test").makeRecord("sono.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_the_text_format_is_unchanged() -> None:
    record = _record("%s served", "GET /health")
    assert TextFormatter().format(record) == logging.Formatter(TEXT_FORMAT).format(record)


def test_json_lines_carry_the_bound_context() -> None:
    with (
        context.bind(request_id="req-1"),
        bound(LogContext(method="GET", route="/api/v1/users/{user_id:int}", user_id=7)),
    ):
        inside = _record("lookup %s", f"?token={SECRET}", status=200, duration_ms=1.5)
    outside = _record("idle")

    line = JsonFormatter().format(inside)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["request_id"] == "req-1"
    assert entry["user_id"] == 7
    assert entry["route"] == "/api/v1/users/{user_id:int}"
    assert (entry["method"], entry["status"], entry["duration_ms"]) == ("GET", 200, 1.5)
    assert entry["level"] == "INFO" and entry["logger"] == "sono.test"
    assert entry["message"] == "lookup ?token=***"
    assert entry["time"].endswith("+00:00")
    assert json.loads(JsonFormatter().format(outside))["request_id"] == "-"


def test_json_tracebacks_are_one_line_and_redacted() -> None:
    try:
        raise RuntimeError(f"GET /x?signature={SECRET}")
    except RuntimeError:
        record = logging.getLogger("sono.test").makeRecord(
            "sono.test", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "RuntimeError" in json.loads(line)["exc"]
    assert SECRET not in line
    assert SECRET not in TextFormatter().format(record)
