"""The backup manifest: what it may name, how it is read, and how a backup folder is checked
against it (``sono.domain.backup``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sono.domain.backup import BackupEntry, BackupInvalid, Manifest, check_path, verify

DIGEST = "ab" * 32
MANIFEST = Manifest(
    sono_version="0.1.0",
    created_at=datetime(2026, 12, 6, 7, 0, tzinfo=UTC),
    entries=(BackupEntry("sono.db", 4096, DIGEST), BackupEntry("media/audio/1/a b.mp3", 3, "cd" * 32)),
)


def test_round_trip() -> None:
    text = MANIFEST.to_json()
    assert json.loads(text)["created_at"] == "2026-12-06T07:00:00Z"
    assert Manifest.from_json(text) == MANIFEST


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../sono.db",
        "media/../../x",
        "media/./x",
        "media//x",
        "media",  # a tree, not a file in it
        "secrets\\key",
        "other/file",
        "media/a\x00b",
        "sono.db/x",
    ],
)
def test_paths_outside_what_a_backup_holds_are_refused(path: str) -> None:
    with pytest.raises(BackupInvalid):
        check_path(path)


@pytest.mark.parametrize("path", ["sono.db", "media/audio/1/x.mp3", "media/.meta/audio/1/x.mp3.json", "secrets/key"])
def test_paths_a_backup_holds(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(format=2),
        lambda m: m.pop("files"),
        lambda m: m.update(files=[]),  # no database
        lambda m: m["files"].append(dict(m["files"][0])),  # twice
        lambda m: m["files"][0].update(size=-1),
        lambda m: m["files"][0].update(size=True),
        lambda m: m["files"][0].update(sha256="AB" * 32),
        lambda m: m["files"][1].update(path="../../escape"),
        lambda m: m.update(created_at="yesterday"),
    ],
)
def test_malformed_manifests_are_refused(change) -> None:
    data = json.loads(MANIFEST.to_json())
    change(data)
    with pytest.raises(BackupInvalid):
        Manifest.from_json(json.dumps(data))


@pytest.mark.parametrize("text", ["", "[]", "null", "{", '"x"'])
def test_what_is_not_a_manifest_is_refused(text: str) -> None:
    with pytest.raises(BackupInvalid):
        Manifest.from_json(text)


def test_verify_names_every_missing_or_changed_file() -> None:
    intact = {"sono.db": (4096, DIGEST), "media/audio/1/a b.mp3": (3, "cd" * 32)}
    assert verify(MANIFEST, intact) == []
    assert verify(MANIFEST, {**intact, "sono.db": None}) == ["sono.db: missing"]
    assert verify(MANIFEST, {"sono.db": (4096, "00" * 32)}) == [
        "sono.db: checksum mismatch",
        "media/audio/1/a b.mp3: missing",
    ]
