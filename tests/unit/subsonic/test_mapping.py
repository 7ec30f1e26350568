"""The entrypoint's mapping rules: songs as ``Child`` (a made-up path, never a storage key; cover
ids that follow the stored cover), users' roles, and the core's errors as Subsonic codes."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from sono.domain.audio import AudioFile
from sono.domain.errors import (
    BadRequest,
    Conflict,
    FieldError,
    MaintenanceActive,
    NotFound,
    PermissionDenied,
    SessionEnded,
    SonoError,
    ValidationFailed,
)
from sono.domain.users import User
from sono.entrypoints.http.subsonic import mapping
from sono.entrypoints.http.subsonic.endpoint import subsonic_error
from sono.entrypoints.subsonic import ids
from sono.entrypoints.subsonic.errors import ErrorCode
from sono.entrypoints.subsonic.model import to_json
from sono.entrypoints.subsonic.shapes import CHILD, USER

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_song(**fields: Any) -> AudioFile:
    values: dict[str, Any] = {
        "owner_id": 1,
        "title": "Sunrise",
        "original_filename": "x.mp3",
        "storage_key": "audio/1/secret-key.mp3",
        "content_type": "audio/mpeg",
        "file_size": 1234,
        "format": "mp3",
        "duration": 61.6,
        "bitrate": 192_000,
        "upload_date": NOW,
        "id": 7,
    } | fields
    return AudioFile(**values)


def test_a_song_as_a_child() -> None:
    song = a_song(artist="AC/DC", album="Back\\In", track_number=3, cover_art_key="covers/a.webp")
    value = to_json(CHILD, mapping.child(song))
    assert value["path"] == "AC_DC/Back_In/03 - Sunrise.mp3"
    assert "secret-key" not in str(value)
    assert (value["id"], value["duration"], value["bitRate"], value["isDir"]) == ("tr-7", 62, 192, False)
    assert value["coverArt"] == ids.cover_id(ids.Kind.TRACK, 7, ids.cover_version("covers/a.webp"))
    assert (value["type"], value["mediaType"], value["created"]) == ("music", "song", "2026-01-02T03:04:05Z")
    bare = to_json(CHILD, mapping.child(a_song(format="", duration=None, bitrate=None)))
    assert bare["path"] == "[Unknown Artist]/[Unknown Album]/Sunrise.bin"
    assert "coverArt" not in bare and "duration" not in bare and "suffix" not in bare


@pytest.mark.parametrize(("limit", "upload_role"), [(20, True), (0, False)])
def test_roles(limit: int, upload_role: bool) -> None:
    user = User("ann", "ann@example.com", "hash", max_audio_uploads=limit, is_superuser=True, id=3)
    value = to_json(USER, mapping.user(user))
    assert (value["adminRole"], value["uploadRole"], value["streamRole"], value["podcastRole"]) == (
        True,
        upload_role,
        True,
        False,
    )
    assert value["folder"] == [1]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFound("x"), ErrorCode.NOT_FOUND),
        (PermissionDenied("x"), ErrorCode.NOT_AUTHORIZED),
        (SessionEnded("x"), ErrorCode.WRONG_CREDENTIALS),
        (ValidationFailed([FieldError("title", "Title must not be empty")]), ErrorCode.GENERIC),
        (BadRequest("x"), ErrorCode.GENERIC),
        (Conflict("x"), ErrorCode.GENERIC),
        (MaintenanceActive("Back soon"), ErrorCode.GENERIC),
        (SonoError("anything"), ErrorCode.GENERIC),
    ],
)
def test_the_cores_errors_as_codes(error: SonoError, code: ErrorCode) -> None:
    container: Any = SimpleNamespace(settings=SimpleNamespace(public_url="https://sono.example"))
    mapped = subsonic_error(error, container)
    assert mapped.code is code
    if isinstance(error, ValidationFailed):
        assert mapped.message == "Title must not be empty"
    if code is ErrorCode.WRONG_CREDENTIALS:
        assert mapped.help_url == "https://sono.example/api/v1/users/me/subsonic-credentials"
