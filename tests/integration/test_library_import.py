"""``sono library import`` run in-process through ``main([...])`` on a data directory, on SQLite and
on PostgreSQL: nested folders and ZIP files of generated audio (tagged, untagged, with cover art),
files that are not audio, duplicates, re-runs, dry runs, the upload limit and Ctrl-C."""

from __future__ import annotations

import asyncio
import hashlib
import io
import signal
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sono.domain.audio import AudioFile
from sono.domain.media import AUDIO_MAX_BYTES
from sono.entrypoints import library_import
from sono.entrypoints.cli import main
from tests.fixtures.media import mp3_bytes, png_bytes, wav_bytes
from tests.fixtures.tagged import Tags, tagged

T = TypeVar("T")
STRONG_PASSWORD = "Str0ng!Passw0rd"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def field(self, name: str) -> str:
        for line in self.out.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key == name:
                return value
        raise AssertionError(f"no {name!r} line in {self.out!r}")

    def counts(self) -> tuple[int, int, int]:
        """imported, skipped, refused."""
        return int(self.field("imported")), int(self.field("skipped")), int(self.field("refused"))

    def refusals(self) -> list[str]:
        """The indented ``name: reason (detail)`` lines under ``refused:``, without the detail."""
        lines = self.out.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("refused: "))
        found = []
        for line in lines[start + 1 :]:
            if not line.startswith("  "):
                break
            found.append(line.strip().split(" (", 1)[0])
        return found


Sono = Callable[..., Result]


@pytest.fixture
def data_dir(cli_env: Path) -> Path:
    """The data directory of the commands (the shared clean ``SONO_*`` environment)."""
    return cli_env


@pytest.fixture
def sono(capsys: pytest.CaptureFixture[str]) -> Sono:
    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch, sono: Sono) -> str:
    """A migrated database with the user ``alice``: the embedded SQLite default, or PostgreSQL."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("SONO_DATABASE_URL", url)
    else:
        url = f"sqlite+aiosqlite:///{(data_dir / 'sono.db').resolve()}"
    assert sono("db", "upgrade").code == 0
    _register("alice")
    return url


def _register(username: str) -> int:
    from sono.application.accounts.messages import Register
    from sono.application.common import PasswordInput
    from sono.application.messages import ANONYMOUS
    from sono.bootstrap import build_container
    from sono.config import load_settings

    async def register() -> int:
        container = await build_container(load_settings())
        try:
            user = (
                await container.bus(
                    Register(username, f"{username}@example.com", PasswordInput(STRONG_PASSWORD)), ANONYMOUS
                )
            ).user
        finally:
            await container.aclose()
        assert user.id is not None
        return user.id

    return asyncio.run(register())


def _in_uow(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    from sono.adapters.sqlalchemy.engine import create_engine
    from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory

    async def run() -> T:
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(engine)() as uow:
                return await work(uow)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def stored(url: str, username: str = "alice") -> dict[str, AudioFile]:
    """The user's audio files by original file name."""

    async def files(uow: Any) -> dict[str, AudioFile]:
        user = await uow.users.get_by_username(username)
        page = await uow.audio_files.list_for_owner(user.id, skip=0, limit=1000)
        return {audio.original_filename: audio for audio in page.items}

    return _in_uow(url, files)


def media_files(data_dir: Path) -> list[Path]:
    media = data_dir / "media"
    return sorted(p for p in media.rglob("*") if p.is_file() and not p.name.endswith(".meta")) if media.exists() else []


def spooled(data_dir: Path) -> list[Path]:
    return list((data_dir / "tmp").glob("*")) if (data_dir / "tmp").exists() else []


# --------------------------------------------------------------------------- a library

ALPHA = tagged("mp3", Tags(title="Alpha", artist="The Band", album="First", track="1", year="2001", genre="Rock"))
BETA = tagged("flac", Tags(title="Beta", artist="The Band", album="First", track="2", picture=png_bytes()))
GAMMA = wav_bytes(seconds=1.5)  # no tags: the title is the file name's
CORRUPTED = wav_bytes(seconds=0.7)
DELTA = tagged("ogg", Tags(title="Delta", artist="Someone Else", genre="Jazz"))


def a_library(root: Path) -> Path:
    """Nested folders: four audio files, a copy of one, a file that only claims to be audio, and
    files that are not audio at all (passed over by their names)."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "alpha.mp3").write_bytes(ALPHA)
    (root / "sub" / "beta.flac").write_bytes(BETA)
    (root / "sub" / "deeper" / "gamma.wav").write_bytes(GAMMA)
    (root / "sub" / "deeper" / "delta.OGG").write_bytes(DELTA)
    (root / "sub" / "deeper" / "copy of alpha.mp3").write_bytes(ALPHA)
    (root / "pretends.mp3").write_bytes(b"this is a text file, not an mp3\n" * 10)
    (root / "notes.txt").write_text("liner notes")
    (root / "cover.jpg").write_bytes(png_bytes())
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "._alpha.mp3").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / ".hidden" / "secret.mp3").write_bytes(mp3_bytes())
    return root


# --------------------------------------------------------------------------- tests


def test_a_folder_is_imported_through_the_upload_use_case(database_url: str, data_dir: Path, sono: Sono) -> None:
    library = a_library(data_dir.parent / "music")

    result = sono("library", "import", str(library), "--owner", "alice", "--public")

    assert result.code == 1, result.err  # a file was refused
    assert result.counts() == (4, 1, 1)
    assert result.refusals() == ["pretends.mp3: not audio"]
    assert "Unsupported audio format" in result.out
    files = stored(database_url)
    assert set(files) == {"alpha.mp3", "beta.flac", "gamma.wav", "delta.OGG"}
    alpha, beta, gamma, delta = (files[name] for name in ("alpha.mp3", "beta.flac", "gamma.wav", "delta.OGG"))
    assert (alpha.title, alpha.artist, alpha.album, alpha.track_number, alpha.year, alpha.genre) == (
        "Alpha",
        "The Band",
        "First",
        1,
        2001,
        "Rock",
    )
    assert (alpha.format, beta.format, gamma.format, delta.format) == ("mp3", "flac", "wav", "ogg")
    assert beta.cover_art_key is not None and alpha.cover_art_key is None
    assert (gamma.title, delta.title) == ("gamma", "Delta")
    assert all(audio.is_public for audio in files.values())
    assert alpha.content_hash == hashlib.sha256(ALPHA).hexdigest()
    assert gamma.content_hash == hashlib.sha256(GAMMA).hexdigest()
    stored_bytes = {path.read_bytes() for path in media_files(data_dir)}
    assert {ALPHA, BETA, GAMMA, DELTA} <= stored_bytes
    assert spooled(data_dir) == []
    assert (data_dir.parent / "music" / "alpha.mp3").read_bytes() == ALPHA  # the source is left alone

    again = sono("library", "import", str(library), "--owner", "alice")
    assert again.counts() == (0, 5, 1)
    assert len(stored(database_url)) == 4

    (library / "pretends.mp3").unlink()
    clean = sono("library", "import", str(library), "--owner", "alice")
    assert clean.code == 0, clean.out + clean.err
    assert clean.counts() == (0, 5, 0)
    assert clean.err == ""  # no progress bar when stderr is no terminal


def test_a_zip_is_read_member_by_member(database_url: str, data_dir: Path, sono: Sono) -> None:
    archive = data_dir.parent / "music.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("Album/01 alpha.mp3", ALPHA)
        zipped.writestr("Album/CD2/gamma.wav", GAMMA)
        zipped.writestr("Album/CD2/gamma again.wav", GAMMA)
        zipped.writestr("Album/folder.jpg", png_bytes())
        zipped.writestr("__MACOSX/Album/._01 alpha.mp3", b"\x00\x05\x16\x07")
        zipped.writestr("Album/broken.flac", b"fLaC but nothing after")
        zipped.writestr("Album/Empty/", b"")
        zipped.writestr("Album/corrupt.wav", CORRUPTED, compress_type=zipfile.ZIP_STORED)
    damaged = archive.read_bytes()
    at = damaged.index(CORRUPTED) + 1000
    archive.write_bytes(damaged[:at] + bytes([damaged[at] ^ 0xFF]) + damaged[at + 1 :])  # its CRC no longer holds

    result = sono("library", "import", str(archive), "--owner", "alice")

    assert result.counts() == (2, 1, 2), result.out
    assert result.refusals() == ["Album/broken.flac: not audio", "Album/corrupt.wav: unreadable"]
    assert "Bad CRC-32" in result.out
    files = stored(database_url)
    assert {name: audio.title for name, audio in files.items()} == {
        "01 alpha.mp3": "Alpha",
        "gamma again.wav": "gamma again",  # in name order, before its copy
    }
    assert not (data_dir.parent / "Album").exists() and spooled(data_dir) == []

    folder = data_dir.parent / "loose"
    folder.mkdir()
    (folder / "alpha, once more.mp3").write_bytes(ALPHA)  # already there, whatever its name
    (folder / "beta.flac").write_bytes(BETA)
    (folder / "gone.flac").symlink_to(folder / "moved away.flac")
    second = sono("library", "import", str(folder), "--owner", "alice")
    assert second.code == 1 and second.counts() == (1, 1, 1)
    assert second.refusals() == ["gone.flac: unreadable"]


@pytest.mark.parametrize("batch", [32, 2])
def test_a_dry_run_writes_nothing(
    database_url: str, data_dir: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Also with the contents looked up two files at a time: the copy of alpha, in a later batch
    than alpha, is still seen as a copy."""
    monkeypatch.setattr(library_import, "LOOKUP_BATCH", batch)
    library = a_library(data_dir.parent / "music")
    before = media_files(data_dir)

    result = sono("library", "import", str(library), "--owner", "alice", "--dry-run")

    assert result.code == 1
    assert result.field("dry_run") == "true"
    assert result.counts() == (4, 1, 1)
    assert "  alpha.mp3: Alpha" in result.out.splitlines()
    assert "  sub/deeper/gamma.wav: gamma" in result.out.splitlines()
    assert stored(database_url) == {}
    assert media_files(data_dir) == before and spooled(data_dir) == []
    audit = sono("audit", "--action", "audio.*", "--json")
    assert audit.out == ""


@pytest.mark.parametrize("batch", [32, 2])
def test_the_upload_limit_stops_the_run_with_the_summary(
    database_url: str, data_dir: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(library_import, "LOOKUP_BATCH", batch)
    assert sono("users", "set-upload-limit", "alice", "2").code == 0
    library = a_library(data_dir.parent / "music")
    (library / "pretends.mp3").unlink()

    dry = sono("library", "import", str(library), "--owner", "alice", "--dry-run")
    result = sono("library", "import", str(library), "--owner", "alice")

    for run in (dry, result):
        assert run.code == 1
        assert run.counts() == (2, 1, 1)  # alpha, beta, the copy of alpha; then delta is over the limit
        assert run.refusals() == ["sub/deeper/delta.OGG: over the upload limit"]
        assert run.field("not_attempted") == "1"  # gamma
        assert "upload limit of alice is reached" in run.err
        assert "sono users set-upload-limit alice N" in run.err
    assert set(stored(database_url)) == {"alpha.mp3", "beta.flac"}

    assert sono("users", "set-upload-limit", "alice", "100").code == 0
    rest = sono("library", "import", str(library), "--owner", "alice")
    assert rest.code == 0 and rest.counts() == (2, 3, 0)
    assert len(stored(database_url)) == 4


def test_files_over_50_mb_are_refused_unread(database_url: str, data_dir: Path, sono: Sono) -> None:
    library = data_dir.parent / "music"
    library.mkdir()
    with open(library / "huge.wav", "wb") as huge:
        huge.truncate(AUDIO_MAX_BYTES + 1)  # sparse: no 50 MB written
    (library / "alpha.mp3").write_bytes(ALPHA)

    result = sono("library", "import", str(library), "--owner", "alice")

    assert result.code == 1
    assert result.counts() == (1, 0, 1)
    assert result.refusals() == ["huge.wav: too large"]
    assert "File too large. Maximum size is 50 MB" in result.out


def test_ctrl_c_stops_between_files_and_a_new_run_continues(
    database_url: str, data_dir: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = a_library(data_dir.parent / "music")
    (library / "pretends.mp3").unlink()
    interrupt_after_the_first = iter([True])

    def interrupting(self: library_import.Progress, report: library_import.Report, *, final: bool = False) -> None:
        if not final and next(interrupt_after_the_first, False):
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C would: the loop's handler asks the run to stop

    monkeypatch.setattr(library_import.Progress, "update", interrupting)
    stopped = sono("library", "import", str(library), "--owner", "alice")

    assert stopped.code == 130
    imported, skipped, refused = stopped.counts()
    assert 1 <= imported + skipped < 5 and refused == 0
    assert int(stopped.field("not_attempted")) == 5 - imported - skipped
    assert "interrupted" in stopped.err and "run the same command again" in stopped.err.lower()
    assert len(stored(database_url)) == imported and spooled(data_dir) == []

    rest = sono("library", "import", str(library), "--owner", "alice")
    assert rest.code == 0
    assert rest.counts() == (4 - imported, 1 + imported, 0)
    assert len(stored(database_url)) == 4


def test_usage_errors(database_url: str, data_dir: Path, sono: Sono) -> None:
    library = a_library(data_dir.parent / "music")

    nobody = sono("library", "import", str(library), "--owner", "nobody")
    assert nobody.code == 2
    assert nobody.err.strip() == "error: no user named 'nobody'"

    missing = sono("library", "import", str(data_dir.parent / "nowhere"), "--owner", "alice")
    assert missing.code == 2 and "no folder or ZIP file at" in missing.err

    not_a_zip = data_dir.parent / "notes.txt"
    not_a_zip.write_text("hello")
    text = sono("library", "import", str(not_a_zip), "--owner", "alice")
    assert text.code == 2 and "neither a folder nor a ZIP file" in text.err
    assert stored(database_url) == {}


def test_the_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["library", "import", "--help"])
    assert exc.value.code == 0
    shown = capsys.readouterr().out
    assert "--owner USERNAME" in shown and "--dry-run" in shown and "--public" in shown
    assert "exit codes: 0 nothing was refused, 1 a file was refused" in " ".join(shown.split())


def test_the_progress_line_counts_and_rates() -> None:
    """Drawn only on a terminal, at most ten times a second, with the counts and the rate."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [100.0]
    terminal = Terminal()
    progress = library_import.Progress(terminal, 4, clock=lambda: now[0])
    report = library_import.Report(total=4, skipped=["a"], refused=[("b", "not audio", "x")])
    now[0] = 102.0
    progress.update(report)
    progress.update(report)  # too soon: not redrawn
    now[0] = 104.0
    progress.update(report, final=True)
    frames = terminal.getvalue().split("\r\x1b[K")[1:]
    assert frames == [
        "[############............] 2/4 files  1.0 files/s  imported 0  skipped 1  refused 1",
        "[############............] 2/4 files  0.5 files/s  imported 0  skipped 1  refused 1\n",
    ]
    quiet = io.StringIO()
    library_import.Progress(quiet, 4).update(report, final=True)
    assert quiet.getvalue() == ""
