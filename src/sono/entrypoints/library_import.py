"""``sono library import``: bring a folder of music (or a ZIP of one) in for a user.

The command line's half of the import: it finds the candidate files (audio by extension; everything
else, and hidden files, is passed over silently), hashes each one, asks the core whether the owner
has that content already (``FindImported``: a second run skips what the first imported, so an
interrupted import continues where it stopped), copies the file into the upload spool (hashing it
again in that same pass, so what is stored is what was hashed) and sends it through the upload use
case (``ImportAudio``). A ZIP is read member by member, each streamed into the spool, never
extracted whole. One file at a time: memory stays bounded by one chunk, whatever the library's size.

Ctrl-C stops between two files (the one in hand is finished or rolled back by the upload itself);
the summary is printed all the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import stat
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from sono.application.audio.messages import UploadedFile
from sono.application.imports.messages import FindImported, ImportAudio, ImportedFile
from sono.application.messages import Actor
from sono.domain.errors import NotFound, PayloadTooLarge, PermissionDenied, SonoError, UnsupportedMedia
from sono.domain.media import AUDIO_MAX_BYTES, AUDIO_TOO_LARGE
from sono.entrypoints.http.logtext import printable

if TYPE_CHECKING:
    from sono.bootstrap import Container

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".wav", ".wave", ".ogg", ".oga", ".opus", ".m4a", ".m4b", ".aac", ".flac", ".webm", ".weba"}
)
"""What a file's name must end with to be a candidate (its content decides afterwards)."""
CHUNK = 1024 * 1024
LOOKUP_BATCH = 32
"""Files hashed before one ``FindImported`` asks which of their contents the owner has."""

NOT_AUDIO = "not audio"
TOO_LARGE = "too large"
OVER_LIMIT = "over the upload limit"
UNREADABLE = "unreadable"
EMPTY = "empty"


class ImportSourceError(Exception):
    """PATH is neither a folder nor a readable ZIP archive."""


class Unreadable(Exception):
    """A candidate could not be read (or copied into the spool): it is refused, the run goes on."""


READ_ERRORS = (OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error)
"""What reading a file or a ZIP member raises: a vanished or unreadable file, a corrupt, truncated,
encrypted (RuntimeError) or unsupported (NotImplementedError, a RuntimeError) member."""


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file to import: its name as shown (relative to PATH, or the ZIP member's), its size as
    the folder or the archive declares it, and how to read it (again)."""

    name: str
    size: int
    open: Callable[[], BinaryIO]


def is_candidate(name: str) -> bool:
    """Audio by its extension, and not hidden: ``.DS_Store``, macOS's ``._song.mp3`` resource forks
    and whatever lives in a hidden folder or ``__MACOSX`` are passed over."""
    parts = name.replace("\\", "/").split("/")
    if any(part.startswith(".") or part == "__MACOSX" for part in parts if part):
        return False
    return os.path.splitext(parts[-1])[1].lower() in AUDIO_EXTENSIONS


def folder_candidates(root: Path) -> list[Candidate]:
    """Every candidate under ``root``, recursively, in name order (links to folders are not
    followed; links to files are; what is not a regular file, such as a FIFO, is passed over)."""
    found = []
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name != "__MACOSX")
        for filename in sorted(files):
            path = Path(folder, filename)
            name = path.relative_to(root).as_posix()
            if not is_candidate(name):
                continue
            try:
                status = path.stat()
            except OSError:
                found.append(Candidate(name, 0, _opener(path)))  # a broken link: refused as unreadable
                continue
            if not stat.S_ISREG(status.st_mode):
                continue
            size = status.st_size
            found.append(Candidate(name, size, _opener(path)))
    return found


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: open(path, "rb")  # closed by the caller


def zip_candidates(archive: zipfile.ZipFile) -> list[Candidate]:
    """Every candidate member of the archive, in name order."""
    members = sorted((info for info in archive.infolist() if not info.is_dir()), key=lambda info: info.filename)
    return [
        Candidate(info.filename, info.file_size, _member_opener(archive, info))
        for info in members
        if is_candidate(info.filename)
    ]


def _member_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], BinaryIO]:
    return lambda: archive.open(info)  # type: ignore[return-value]  # a readable binary stream


@contextmanager
def open_source(path: Path) -> Iterator[list[Candidate]]:
    """The candidates of a folder or of a ZIP archive (kept open while they are read)."""
    if path.is_dir():
        yield folder_candidates(path)
        return
    if not path.is_file():
        raise ImportSourceError(f"no folder or ZIP file at {path}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportSourceError(f"{path} is neither a folder nor a ZIP file ({exc})") from None
    with archive:
        yield zip_candidates(archive)


def hash_of(candidate: Candidate, limit: int) -> tuple[str, int]:
    """The SHA-256 of the candidate's bytes and their number (reading stops past ``limit``)."""
    digest, size = hashlib.sha256(), 0
    with candidate.open() as source:
        while size <= limit and (chunk := source.read(CHUNK)):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_hashing(candidate: Candidate, target: BinaryIO, limit: int) -> tuple[str, int]:
    """Copy the candidate into ``target`` (rewound afterwards), hashing in the same pass; stops
    past ``limit`` bytes (the caller refuses the file then)."""
    digest, size = hashlib.sha256(), 0
    with candidate.open() as source:
        while size <= limit and (chunk := source.read(CHUNK)):
            target.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    target.flush()
    target.seek(0)
    return digest.hexdigest(), size


# --------------------------------------------------------------------------- the run


@dataclass
class Report:
    """What a run did (or, on a dry run, would do)."""

    total: int = 0
    imported: list[tuple[str, ImportedFile]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # name, reason, detail
    limit_reached: bool = False
    interrupted: bool = False

    @property
    def done(self) -> int:
        return len(self.imported) + len(self.skipped) + len(self.refused)

    @property
    def not_attempted(self) -> int:
        return self.total - self.done


class Progress:
    """A one-line progress bar on a terminal (counts and rate), redrawn at most ten times a second;
    nothing at all when ``stream`` is not a terminal."""

    WIDTH = 24

    def __init__(self, stream: TextIO, total: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._enabled = stream.isatty()
        self._total = total
        self._clock = clock
        self._started = clock()
        self._drawn = float("-inf")

    def line(self, report: Report) -> str:
        done = report.done
        filled = self.WIDTH * done // self._total if self._total else self.WIDTH
        elapsed = max(self._clock() - self._started, 1e-9)
        return (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self._total} files"
            f"  {done / elapsed:.1f} files/s"
            f"  imported {len(report.imported)}  skipped {len(report.skipped)}  refused {len(report.refused)}"
        )

    def update(self, report: Report, *, final: bool = False) -> None:
        if not self._enabled:
            return
        now = self._clock()
        if final or now - self._drawn >= 0.1:
            self._drawn = now
            self._stream.write(f"\r\x1b[K{self.line(report)}")
            if final:
                self._stream.write("\n")
            self._stream.flush()


class LibraryImport:
    """One run of ``sono library import`` for one owner."""

    def __init__(
        self,
        container: Container,
        owner_id: int,
        *,
        remaining_uploads: int,
        public: bool = False,
        dry_run: bool = False,
        progress: Callable[[Report], None] = lambda report: None,
    ) -> None:
        self._container = container
        self._owner_id = owner_id
        self._remaining = remaining_uploads  # a dry run counts down what the upload would check
        self._public = public
        self._dry_run = dry_run
        self._progress = progress
        self._actor = Actor.operator()
        self._there: set[str] = set()  # of the batch in hand: contents the owner has (or was just given)
        self._would_import: set[str] = set()  # a dry run's contents "imported" so far
        self._stop = False
        self.report = Report()

    def stop(self) -> None:
        """Stop once the file in hand is done (Ctrl-C)."""
        self._stop = True

    async def run(self, candidates: list[Candidate]) -> Report:
        report = self.report
        report.total = len(candidates)
        spool_dir = self._container.settings.upload_dir
        await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
        for start in range(0, len(candidates), LOOKUP_BATCH):
            batch = candidates[start : start + LOOKUP_BATCH]
            digests = await self._look_up(batch)
            for candidate, digest in zip(batch, digests, strict=True):
                if self._stop:
                    report.interrupted = True
                    return report
                await self._one(candidate, digest, spool_dir)
                self._progress(report)
                if report.limit_reached:
                    return report
        return report

    async def _look_up(self, batch: list[Candidate]) -> list[str | Unreadable | None]:
        """Hash the batch's files (None for one too large to read, the error for one that cannot
        be read) and ask once which of those contents the owner has: ``self._there``."""
        digests: list[str | Unreadable | None] = []
        for candidate in batch:
            if candidate.size > AUDIO_MAX_BYTES:
                digests.append(None)
                continue
            try:
                digests.append((await _reading(hash_of, candidate))[0])
            except Unreadable as exc:
                digests.append(exc)
        wanted = tuple(sorted({digest for digest in digests if isinstance(digest, str)}))
        found: frozenset[str] = frozenset()
        if wanted:
            found = await self._container.bus(FindImported(self._owner_id, wanted), self._actor)
        self._there = set(found)
        return digests

    async def _one(self, candidate: Candidate, digest: str | Unreadable | None, spool_dir: Path) -> None:
        from sono.entrypoints.http.uploads import spool_file

        report = self.report
        if candidate.size > AUDIO_MAX_BYTES or digest is None:
            report.refused.append((candidate.name, TOO_LARGE, AUDIO_TOO_LARGE))
            return
        try:
            if isinstance(digest, Unreadable):
                raise digest
            if self._has(digest):
                report.skipped.append(candidate.name)
                return
            with spool_file(spool_dir) as (spool, path):
                copied, size = await _reading(copy_hashing, candidate, spool)
                if size > AUDIO_MAX_BYTES:
                    raise PayloadTooLarge(AUDIO_TOO_LARGE)
                if size == 0:
                    report.refused.append((candidate.name, EMPTY, "File is empty"))
                    return
                if copied != digest and (self._has(copied) or await self._owner_has(copied)):  # it changed meanwhile
                    report.skipped.append(candidate.name)
                    return
                if self._dry_run and self._remaining <= 0:
                    raise PermissionDenied("Upload limit reached")
                filename = candidate.name.rsplit("/", 1)[-1]
                file = UploadedFile(path, spool, filename, sha256=copied)
                message = ImportAudio(self._owner_id, file, is_public=self._public, dry_run=self._dry_run)
                imported = await self._container.bus(message, self._actor)
        except Unreadable as exc:
            report.refused.append((candidate.name, UNREADABLE, str(exc)))
            return
        except NotFound:
            raise  # the owner is gone: nothing else can be imported
        except PermissionDenied as exc:
            report.refused.append((candidate.name, OVER_LIMIT, exc.detail))
            report.limit_reached = True
            return
        except UnsupportedMedia as exc:
            report.refused.append((candidate.name, NOT_AUDIO, exc.detail))
            return
        except PayloadTooLarge as exc:
            report.refused.append((candidate.name, TOO_LARGE, exc.detail))
            return
        except SonoError as exc:
            report.refused.append((candidate.name, "refused", exc.detail))
            return
        self._there.add(copied)  # a copy later in the batch is skipped
        if self._dry_run:
            self._would_import.add(copied)  # nothing stored: a copy in a later batch is skipped too
        self._remaining -= 1
        report.imported.append((candidate.name, imported))

    def _has(self, digest: str) -> bool:
        return digest in self._there or digest in self._would_import

    async def _owner_has(self, digest: str) -> bool:
        return digest in await self._container.bus(FindImported(self._owner_id, (digest,)), self._actor)


async def _reading(read: Callable[..., tuple[str, int]], candidate: Candidate, *target: BinaryIO) -> tuple[str, int]:
    """``read(candidate, *target, AUDIO_MAX_BYTES)`` in a thread; what reading raises becomes
    ``Unreadable`` (the database's own errors are not confused with it)."""
    try:
        return await asyncio.to_thread(read, candidate, *target, AUDIO_MAX_BYTES)
    except READ_ERRORS as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc


@contextmanager
def stop_on_interrupt(run: LibraryImport) -> Iterator[None]:
    """The first Ctrl-C asks the run to stop between two files; a second one interrupts at once."""
    loop = asyncio.get_running_loop()

    def first() -> None:
        run.stop()
        loop.remove_signal_handler(signal.SIGINT)  # the next Ctrl-C is Python's KeyboardInterrupt

    try:
        loop.add_signal_handler(signal.SIGINT, first)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


# --------------------------------------------------------------------------- the summary


def summary_lines(report: Report, *, dry_run: bool) -> list[str]:
    """The summary printed on stdout, ``key: value`` lines (the refused files indented under theirs)."""
    lines = ["dry_run: true"] if dry_run else []
    lines.append(f"imported: {len(report.imported)}")
    if dry_run:
        lines += [f"  {printable(name)}: {printable(file.title)}" for name, file in report.imported]
    lines.append(f"skipped: {len(report.skipped)}")
    lines.append(f"refused: {len(report.refused)}")
    lines += [f"  {printable(name)}: {reason} ({printable(detail)})" for name, reason, detail in report.refused]
    if report.not_attempted:
        lines.append(f"not_attempted: {report.not_attempted}")
    return lines


def stop_message(report: Report, *, owner: str) -> str | None:
    """Why the run stopped early, with what to do next; None when it went through."""
    if report.limit_reached:
        return (
            f"the upload limit of {owner} is reached; {report.not_attempted} file(s) not attempted. Raise it with"
            f" `sono users set-upload-limit {owner} N` and run the import again (what is already there is skipped)"
        )
    if report.interrupted:
        return f"interrupted; {report.not_attempted} file(s) not attempted. Run the same command again to continue"
    return None
