"""``sono backup create`` / ``sono backup restore`` on the embedded defaults: data made through the
API (users, audio files, a profile picture, collections), backed up while the app is open and
still being written to, restored into a fresh data folder, and found again by an app started on
it: every user (who can log in, with the tokens issued before), every file (the same bytes),
every collection. Damaged, foreign and hostile backups are refused without touching anything."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest

from sono.adapters.sqlalchemy.migrate import upgrade
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.entrypoints.cli import main
from sono.entrypoints.http.app import create_app
from tests.fixtures.media import mp3_bytes, png_bytes, wav_bytes
from tests.integration.api.conftest import PASSWORD, Api, bearer, http_client, local_url

pytestmark = pytest.mark.slow

_CLI_LOCK = threading.Lock()  # main() reads the process environment: one command at a time


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def sono(env: dict[str, str], *args: str) -> Ran:
    """``sono ARGS`` in this process with exactly ``env`` as its SONO_* settings."""
    with _CLI_LOCK:
        saved = {
            name: os.environ.pop(name)
            for name in list(os.environ)
            if name.startswith("SONO_") and not name.startswith("SONO_TEST_")
        }
        os.environ.update(env)
        out, err = StringIO(), StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main(list(args))
        finally:
            for name in env:
                os.environ.pop(name, None)
            os.environ.update(saved)
    return Ran(code, out.getvalue(), err.getvalue())


async def run(env: dict[str, str], *args: str) -> Ran:
    """``sono(...)`` from a test running in an event loop (the CLI runs its own)."""
    return await asyncio.to_thread(sono, env, *args)


@pytest.fixture
def env_for(tmp_path: Path, rsa_key_file: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no .env

    def make(name: str) -> dict[str, str]:
        return {
            "SONO_DATA_DIR": str(tmp_path / name),
            "SONO_PUBLIC_URL": "http://testserver.local",
            "SONO_RSA_PRIVATE_KEY_FILE": str(rsa_key_file),
            "SONO_ARGON2_MEMORY_KIB": "1024",
            "SONO_ARGON2_TIME_COST": "1",
            "SONO_JOBS_ENABLED": "false",
            "SONO_RATE_LIMITS_ENABLED": "false",
            "SONO_LOG_LEVEL": "warning",
        }

    return make


@asynccontextmanager
async def running_app(env: dict[str, str]) -> AsyncIterator[Api]:
    settings = load_settings(env)
    await upgrade(settings.database_url)
    async with AsyncExitStack() as stack:
        container = await build_container(settings)
        stack.push_async_callback(container.aclose)
        app = create_app(settings, container=container)
        client = await stack.enter_async_context(http_client(app))
        yield Api(app, client, container, settings)


async def fetch(api: Api, url: str) -> bytes:
    response = await api.client.get(local_url(url))
    assert response.status_code == 200, (url, response.status_code)
    return response.content


@dataclass
class Made:
    tokens: dict[str, str]  # username: access token issued by the original app
    files: dict[int, bytes]  # audio file id: bytes uploaded
    picture: bytes  # as the original app served it
    collections: dict[int, list[int]]  # collection id: audio file ids in order


async def make_data(api: Api) -> Made:
    tokens, files, collections = {}, {}, {}
    for name in ("alice", "bob", "carol"):
        account = await api.account(name)
        tokens[name] = account.access_token
    songs = [("a.mp3", mp3_bytes(30), "audio/mpeg", "true"), ("b.wav", wav_bytes(0.5), "audio/wav", "false")]
    for index, (filename, data, content_type, public) in enumerate(songs):
        response = await api.client.post(
            "/api/v1/audio/upload",
            headers=bearer(tokens["alice"]),
            files={"file": (filename, data, content_type)},
            data={"title": f"song {index}", "is_public": public},
        )
        assert response.status_code == 201, response.text
        files[response.json()["id"]] = data
    response = await api.client.post(
        "/api/v1/users/me/upload-profile-picture",
        headers=bearer(tokens["bob"]),
        files={"file": ("p.png", png_bytes(), "image/png")},
    )
    assert response.status_code == 200, response.text
    bob = (await api.client.get("/api/v1/users/me", headers=bearer(tokens["bob"]))).json()
    picture = await fetch(api, bob["profile_picture_url"])  # as stored (re-encoded), to compare after a restore
    for title, ids in (("Mix", list(files)), ("Private", list(reversed(files)))):
        response = await api.client.post(
            "/api/v1/collections/",
            headers=bearer(tokens["alice"]),
            json={"title": title, "collection_type": "playlist", "is_public": title == "Mix"},
        )
        assert response.status_code == 201, response.text
        collection_id = response.json()["id"]
        for audio_id in ids:
            added = await api.client.post(
                f"/api/v1/collections/{collection_id}/tracks",
                headers=bearer(tokens["alice"]),
                json={"audio_file_id": audio_id},
            )
            assert added.status_code in (200, 201), added.text
        collections[collection_id] = ids
    return Made(tokens, files, picture, collections)


async def find_data(api: Api, made: Made) -> None:
    """Everything ``make_data`` made is there: users log in and their old tokens still work (the
    secrets came back), every file has its bytes, every collection its tracks in order."""
    for name, token in made.tokens.items():
        assert (await api.login(name, PASSWORD)).status_code == 200
        me = await api.client.get("/api/v1/users/me", headers=bearer(token))
        assert me.status_code == 200 and me.json()["username"] == name
    listed = await api.client.get("/api/v1/audio/my-files?limit=100", headers=bearer(made.tokens["alice"]))
    assert listed.status_code == 200
    by_id = {item["id"]: item for item in listed.json()["items"]}
    assert set(by_id) == set(made.files)
    for audio_id, data in made.files.items():
        assert await fetch(api, by_id[audio_id]["file_url"]) == data
    bob = (await api.client.get("/api/v1/users/me", headers=bearer(made.tokens["bob"]))).json()
    assert await fetch(api, bob["profile_picture_url"]) == made.picture
    for collection_id, ids in made.collections.items():
        detail = await api.client.get(f"/api/v1/collections/{collection_id}", headers=bearer(made.tokens["alice"]))
        assert detail.status_code == 200, detail.text
        assert [track["audio_file"]["id"] for track in detail.json()["tracks"]] == ids


async def test_a_backup_taken_while_serving_restores_everything(env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original, restored, backup = env_for("original"), env_for("restored"), tmp_path / "backup"
    async with running_app(original) as api:
        made = await make_data(api)
        # Back up while the app keeps registering users (the snapshot must stay consistent).
        done = asyncio.Event()
        registered: list[str] = []

        async def keep_writing() -> None:
            n = 0
            while not done.is_set():
                n += 1
                response = await api.register(f"busy{n}")
                assert response.status_code == 201, response.text  # the backup never makes a writer fail
                registered.append(f"busy{n}")

        writer = asyncio.create_task(keep_writing())
        try:
            created = await run(original, "backup", "create", str(backup))
        finally:
            done.set()
            await writer
        assert created.code == 0, created.err
        assert "SONO_RSA_PRIVATE_KEY_FILE" in created.err  # comes from outside the data folder: said so
        assert await fetch(api, next(iter(await _urls(api, made)))) == next(iter(made.files.values()))

    manifest = json.loads((backup / "manifest.json").read_text())
    paths = {entry["path"] for entry in manifest["files"]}
    assert "sono.db" in paths and any(p.startswith("secrets/") for p in paths)
    assert sum(p.startswith("media/audio/") for p in paths) == len(made.files)
    assert (backup / "manifest.json").stat().st_mode & 0o077 == 0

    result = await run(restored, "backup", "restore", str(backup))
    assert result.code == 0, result.err
    assert "overwrote: false" in result.out

    async with running_app(restored) as api:
        await find_data(api, made)
        # Every user the snapshot holds can log in: none is half there.
        async with api.uow() as uow:
            present = [name for name in registered if await uow.users.get_by_username(name) is not None]
        for name in present:
            assert (await api.login(name, PASSWORD)).status_code == 200


async def _urls(api: Api, made: Made) -> list[str]:
    listed = await api.client.get("/api/v1/audio/my-files?limit=100", headers=bearer(made.tokens["alice"]))
    return [item["file_url"] for item in listed.json()["items"] if item["id"] == next(iter(made.files))]


async def test_restore_refuses_a_deployment_with_data_unless_forced(env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original, other, backup = env_for("original"), env_for("other"), tmp_path / "backup"
    async with running_app(original) as api:
        made = await make_data(api)
    assert (await run(original, "backup", "create", str(backup))).code == 0
    async with running_app(other) as api:
        await api.account("mallory")

    refused = await run(other, "backup", "restore", str(backup))
    assert refused.code == 1
    assert "already holds" in refused.err and "--force" in refused.err
    async with running_app(other) as api:
        assert (await api.login("mallory", PASSWORD)).status_code == 200  # untouched

    forced = await run(other, "backup", "restore", str(backup), "--force")
    assert forced.code == 0, forced.err
    assert "overwrote: true" in forced.out
    async with running_app(other) as api:
        await find_data(api, made)
        assert (await api.login("mallory", PASSWORD)).status_code == 401


async def test_damaged_or_foreign_backups_are_refused_and_change_nothing(env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original, target, backup = env_for("original"), env_for("target"), tmp_path / "backup"
    async with running_app(original) as api:
        await make_data(api)
    assert (await run(original, "backup", "create", str(backup))).code == 0
    manifest = json.loads((backup / "manifest.json").read_text())
    song = next(backup / e["path"] for e in manifest["files"] if e["path"].startswith("media/audio/"))

    data = bytearray(song.read_bytes())
    data[len(data) // 2] ^= 0xFF
    song.write_bytes(bytes(data))
    damaged = await run(target, "backup", "restore", str(backup))
    assert damaged.code == 1 and "checksum mismatch" in damaged.err, damaged.err
    data[len(data) // 2] ^= 0xFF
    song.write_bytes(bytes(data))

    song.rename(song.with_suffix(".gone"))
    missing = await run(target, "backup", "restore", str(backup))
    assert missing.code == 1 and "missing" in missing.err, missing.err
    song.with_suffix(".gone").rename(song)

    hostile = dict(manifest, files=[*manifest["files"], {"path": "../../escape", "size": 0, "sha256": "0" * 64}])
    (backup / "manifest.json").write_text(json.dumps(hostile))
    escaped = await run(target, "backup", "restore", str(backup))
    assert escaped.code == 1 and "cannot hold" in escaped.err, escaped.err

    (backup / "manifest.json").write_text("{not json")
    assert (await run(target, "backup", "restore", str(backup))).code == 1
    (backup / "manifest.json").unlink()
    foreign = await run(target, "backup", "restore", str(backup))
    assert foreign.code == 1 and "not a backup" in foreign.err

    assert not Path(target["SONO_DATA_DIR"]).exists()  # nothing was written
    assert not (tmp_path / "escape").exists()


def test_create_refuses_a_folder_that_is_not_empty(env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = env_for("data")
    assert sono(env, "db", "upgrade").code == 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = sono(env, "backup", "create", str(tmp_path / "full"))
    assert result.code == 1 and "not an empty folder" in result.err
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"SONO_DATABASE_URL": "postgresql://sono@127.0.0.1:1/sono"}, "its database"),
        ({"SONO_STORAGE": "s3", "SONO_S3_ENDPOINT_URL": "http://127.0.0.1:1"}, "its media"),
    ],
)
def test_postgresql_and_s3_deployments_are_told_what_to_do_instead(env_for, extra: dict[str, str], named: str) -> None:  # type: ignore[no-untyped-def]
    result = sono(env_for("data") | extra, "backup", "create", "backup")
    assert result.code == 1
    for words in (named, "pg_dump", "pg_restore", "aws s3 sync", "mc mirror", "SONO_SECRET_KEY", "README.md"):
        assert words in result.err, words
    assert not Path("backup").exists()


class _UploadDuringSnapshot:
    """A database whose snapshot sees an object that was stored (and committed) after the first
    copy of the media: the backup must hold it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    async def snapshot_to(self, target: Path) -> None:
        (self.data_dir / "media" / "audio" / "9").mkdir(parents=True)
        (self.data_dir / "media" / "audio" / "9" / "late.mp3").write_bytes(b"late upload")
        (self.data_dir / "media" / "audio" / "1" / "early.mp3").write_bytes(b"rewritten, longer")
        target.write_bytes(b"SQLite format 3\x00 snapshot")

    async def restore_from(self, source: Path) -> None:
        raise AssertionError("not restored here")

    async def has_data(self) -> bool:
        return True


async def test_objects_stored_while_the_database_is_snapshotted_are_in_the_backup(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sono.adapters.backup import LocalBackupFiles
    from sono.application.backup import BackupService

    class Clock:
        def now(self) -> datetime:
            return datetime(2026, 12, 6, 7, 0, tzinfo=UTC)

    data = tmp_path / "data"
    (data / "media" / "audio" / "1").mkdir(parents=True)
    (data / "media" / "audio" / "1" / "early.mp3").write_bytes(b"early")
    (data / "media" / "audio" / "1" / ".early.mp3.1234.tmp").write_bytes(b"half written")
    (data / "media" / "link.mp3").symlink_to(tmp_path / "outside")
    (tmp_path / "outside").write_bytes(b"not ours")
    service = BackupService(
        _UploadDuringSnapshot(data),
        LocalBackupFiles(),
        Clock(),  # type: ignore[arg-type]
        data_dir=data,
        version="1.2.3",
    )
    report = await service.create(tmp_path / "backup")

    listed = {entry.path: entry.size for entry in report.manifest.entries}
    assert listed == {
        "sono.db": len(b"SQLite format 3\x00 snapshot"),
        "media/audio/1/early.mp3": len(b"rewritten, longer"),
        "media/audio/9/late.mp3": len(b"late upload"),
    }
    assert (tmp_path / "backup" / "media" / "audio" / "9" / "late.mp3").read_bytes() == b"late upload"
    assert report.manifest.sono_version == "1.2.3"
    assert (await service.verify(tmp_path / "backup")).entries == report.manifest.entries
