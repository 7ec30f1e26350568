"""The library import's use cases on the fakes: which contents an owner has, and one file imported
through the upload use case (or only decided, on a dry run). Admins (and the command line) only."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from sono.application.audio.messages import UploadedFile
from sono.application.imports.messages import FindImported, ImportAudio
from sono.application.messages import Actor
from sono.domain.errors import PermissionDenied, UnsupportedMedia
from tests.fakes.media import FAKE_AUDIO
from tests.unit.conftest import World

OPERATOR = Actor.operator()


def received(tmp_path: Path, content: bytes, filename: str = "Some Song.mp3") -> UploadedFile:
    path = tmp_path / f"spool-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(content)
    return UploadedFile(str(path), io.BytesIO(content), filename, sha256=hashlib.sha256(content).hexdigest())


async def test_a_file_is_imported_for_its_owner_and_then_found_by_its_content(world: World, tmp_path: Path) -> None:
    alice = await world.register("alice")
    bob = await world.register("bob")
    assert alice.id is not None and bob.id is not None
    content = FAKE_AUDIO + b"a song"
    file = received(tmp_path, content)
    digest = hashlib.sha256(content).hexdigest()

    imported = await world.app.bus(ImportAudio(alice.id, file, is_public=True), OPERATOR)

    assert (imported.title, imported.format) == ("Some Song", "mp3") and imported.audio_id is not None
    (audio,) = world.uow.database.audio_files.values()
    assert (audio.id, audio.owner_id, audio.is_public, audio.content_hash) == (
        imported.audio_id,
        alice.id,
        True,
        digest,
    )
    assert world.storage.read(audio.storage_key) == content
    other = "0" * 64
    assert await world.app.bus(FindImported(alice.id, (digest, other)), OPERATOR) == frozenset({digest})
    assert await world.app.bus(FindImported(bob.id, (digest,)), OPERATOR) == frozenset()


async def test_a_dry_run_decides_from_the_content_and_stores_nothing(world: World, tmp_path: Path) -> None:
    alice = await world.register("alice")
    assert alice.id is not None

    preview = await world.app.bus(ImportAudio(alice.id, received(tmp_path, FAKE_AUDIO), dry_run=True), OPERATOR)

    assert (preview.title, preview.format, preview.audio_id) == ("Some Song", "mp3", None)
    assert world.uow.database.audio_files == {} and world.storage.objects == {}
    with pytest.raises(UnsupportedMedia):
        await world.app.bus(ImportAudio(alice.id, received(tmp_path, b"text"), dry_run=True), OPERATOR)


async def test_only_admins_import(world: World, tmp_path: Path) -> None:
    alice = await world.register("alice")
    assert alice.id is not None
    actor = (await world.principal(alice)).actor
    with pytest.raises(PermissionDenied):
        await world.app.bus(ImportAudio(alice.id, received(tmp_path, FAKE_AUDIO)), actor)
    with pytest.raises(PermissionDenied):
        await world.app.bus(FindImported(alice.id, ("0" * 64,)), actor)
    assert world.uow.database.audio_files == {}
