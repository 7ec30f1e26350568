"""Streaming ``multipart/form-data`` uploads.

The ``file`` part is spooled into a temporary file on disk (in the data directory's ``tmp``
folder) as the body arrives, and its size limit is enforced while reading: a declared
``Content-Length`` beyond the limit is refused before anything is read, and the bytes are counted as
they come, so no request ever holds more than one chunk in memory. Small text parts (an upload's
title, ...) are collected as fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from litestar import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from sono.domain.errors import (
    BadRequest,
    FieldError,
    PayloadTooLarge,
    SonoError,
    UnsupportedMedia,
    ValidationFailed,
)
from sono.domain.media import FILE_EMPTY
from sono.domain.text import without_bidi_controls
from sono.entrypoints.http.errors import BODY_TOO_LARGE, FIELD_REQUIRED
from sono.entrypoints.http.metrics import route_of
from sono.entrypoints.http.schemas import NUL_REFUSED

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FORM_OVERHEAD = 64 * 1024
"""What a form may carry besides the file: every part's headers (names included) and its text
fields, together. Past it: 413."""
FORM_FRAMING = 16 * 1024
"""Boundaries, line breaks, preamble and epilogue: the body may exceed the file and the form
text by this much."""
MAX_PARTS = 32
"""Parts in one form (the upload forms have a handful). Past it: 400."""
MAX_PART_NAME_BYTES = 128
"""A part's ``name`` (the forms' field names are short). Past it: 400."""
MAX_PART_HEADER_BYTES = 4096
"""One part's headers together (a long file name fits). Past it: 400."""
MAX_PART_HEADERS = 8
"""Header lines in one part. Past it: 400."""
INVALID_MULTIPART = "Invalid multipart body"
TOO_MANY_PARTS = f"Too many parts in the form (at most {MAX_PARTS})"
PART_NAME_TOO_LONG = f"A form field name is too long (at most {MAX_PART_NAME_BYTES} bytes)"
PART_HEADERS_TOO_LARGE = "A form part's headers are too large"


@dataclass
class Upload:
    """The received file (positioned at its start, at ``path`` on disk), the form's text fields, and
    the file's SHA-256 (hex), taken as it was spooled."""

    file: BinaryIO
    path: str
    size: int
    filename: str | None
    content_type: str | None
    fields: dict[str, str] = field(default_factory=dict)
    sha256: str = ""


@asynccontextmanager
async def receive_upload(
    request: Request[Any, Any, Any], *, max_bytes: int, too_large: str, spool_dir: Path, file_field: str = "file"
) -> AsyncIterator[Upload]:
    """Read the request's multipart body into a temporary file under ``spool_dir``. 413
    ``too_large`` beyond ``max_bytes`` of file, 400 for an empty file or a malformed body, 422 when
    the ``file_field`` part is missing. The spooled file is removed when the context exits.

    The upload is counted (metrics): received with its size when the block completes, else refused
    with the reason, whether the body or the use case in the block refused it."""
    metrics = request.app.state.container.ports.metrics
    try:
        async with _spooled_upload(request, max_bytes, too_large, spool_dir, file_field) as upload:
            yield upload
    except SonoError as refused:
        if metrics.enabled:
            metrics.upload_refused(route_of(request.scope), refusal_reason(refused))
        raise
    if metrics.enabled:
        metrics.upload_received(route_of(request.scope), upload.size)


def refusal_reason(error: SonoError) -> str:
    """A bounded label for why an upload was refused."""
    if isinstance(error, PayloadTooLarge):
        return "too_large"
    if isinstance(error, UnsupportedMedia):
        return "unsupported_type"
    if isinstance(error, ValidationFailed):
        return "invalid_form"
    if isinstance(error, BadRequest):
        return "empty" if error.detail == FILE_EMPTY else "malformed"
    return _SNAKE.sub("_", type(error).__name__).lower()


_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@asynccontextmanager
async def _spooled_upload(
    request: Request[Any, Any, Any], max_bytes: int, too_large: str, spool_dir: Path, file_field: str
) -> AsyncIterator[Upload]:
    boundary = _boundary(request.headers.get("content-type"))
    body_limit = max_bytes + FORM_OVERHEAD + FORM_FRAMING
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise PayloadTooLarge(too_large)
    await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
    with spool_file(spool_dir) as (spool, path):
        form = _FormCollector(spool, path, file_field, max_bytes, too_large)
        parser = MultipartParser(boundary, form.callbacks())
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > body_limit:  # a chunked body: counted as it arrives, the rest never read
                    raise PayloadTooLarge(too_large)
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError:
            raise BadRequest(INVALID_MULTIPART) from None
        upload = form.result()
        spool.flush()
        if not await asyncio.to_thread(_still_at, spool, path):
            # Removed by someone else while the body arrived (an operator, or a sweep that ignores
            # the lock): the open file still has every byte; put them back on disk.
            with spool_file(spool_dir) as (copy, copy_path):
                await asyncio.to_thread(_copy_whole, spool, copy)
                upload.file, upload.path = copy, copy_path
                yield upload
            return
        spool.seek(0)
        yield upload


SPOOL_PREFIX = "upload-"


@contextmanager
def spool_file(spool_dir: Path) -> Iterator[tuple[BinaryIO, str]]:
    """A new file in ``spool_dir``, open for writing and reading, locked (``flock``, exclusive)
    for as long as the request uses it: the spool sweep (``sono jobs run-due``) never removes a
    locked file, however old it looks. Removed at the end; already gone is fine."""
    descriptor, path = tempfile.mkstemp(dir=spool_dir, prefix=SPOOL_PREFIX, suffix=".part")
    try:
        os.close(descriptor)
        # Opened by its path, so the file object is named after it (local storage then links the
        # spooled file into place instead of copying it).
        with open(path, "r+b") as spool:
            fcntl.flock(spool.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # new: nobody else holds it
            yield spool, path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _still_at(spool: BinaryIO, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(spool.fileno()).st_ino
    except FileNotFoundError:
        return False


def _copy_whole(source: BinaryIO, target: BinaryIO) -> None:
    source.seek(0)
    shutil.copyfileobj(source, target, 1024 * 1024)
    target.flush()
    target.seek(0)


def _boundary(content_type: str | None) -> bytes:
    mime, options = parse_options_header(content_type)
    if mime != b"multipart/form-data":
        raise ValidationFailed([FieldError("file", FIELD_REQUIRED, "missing")])
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest(INVALID_MULTIPART)
    return boundary


class _FormCollector:
    """``MultipartParser`` callbacks: the file part goes to the spool, other parts to ``fields``."""

    def __init__(self, spool: BinaryIO, path: str, file_field: str, max_bytes: int, too_large: str) -> None:
        self.spool = spool
        self.path = path
        self.file_field = file_field
        self.max_bytes = max_bytes
        self.too_large = too_large
        self.fields: dict[str, str] = {}
        self.refused: list[FieldError] = []
        self.field_bytes = 0
        self.parts = 0
        self._header_bytes = 0
        self._header_count = 0
        self.size = 0
        self.hash = hashlib.sha256()
        self.seen_file = False
        self.complete = False
        self.filename: str | None = None
        self.content_type: str | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._part_name: str | None = None
        self._part_is_file = False
        self._value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(TOO_MANY_PARTS)
        self._headers.clear()
        self._header_bytes = self._header_count = 0
        self._part_name, self._part_is_file = None, False
        self._value.clear()

    def _count_header_bytes(self, size: int) -> None:
        """Every header byte counts against the part's bound and the form's text budget, before
        it is kept."""
        self._header_bytes += size
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            raise BadRequest(PART_HEADERS_TOO_LARGE)
        self.field_bytes += size
        if self.field_bytes > FORM_OVERHEAD:
            raise PayloadTooLarge(BODY_TOO_LARGE)

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name.extend(data[start:end])

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value.extend(data[start:end])

    def _header_end(self) -> None:
        self._header_count += 1
        if self._header_count > MAX_PART_HEADERS:
            raise BadRequest(PART_HEADERS_TOO_LARGE)
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        name = options.get(b"name")
        if name is not None and len(name) > MAX_PART_NAME_BYTES:
            raise BadRequest(PART_NAME_TOO_LONG)
        self._part_name = name.decode("utf-8", "replace") if name is not None else None
        self._part_is_file = self._part_name == self.file_field and not self.seen_file
        if options.get(b"filename") is not None and not self._part_is_file:
            self._part_name = None  # another file: not a text field, its bytes are only counted
        if self._part_is_file:
            self.seen_file = True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename is not None else None
            content_type = self._headers.get(b"content-type")
            self.content_type = content_type.decode("latin-1") if content_type else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_is_file:
            self.size += end - start
            if self.size > self.max_bytes:
                raise PayloadTooLarge(self.too_large)
            piece = memoryview(data)[start:end]  # no copy of the slice
            self.spool.write(piece)
            self.hash.update(piece)  # the content hash, in the pass that spools the bytes
            return
        self.field_bytes += end - start
        if self.field_bytes > FORM_OVERHEAD:
            raise PayloadTooLarge(BODY_TOO_LARGE)
        if self._part_name is not None:
            self._value.extend(data[start:end])

    def _part_end(self) -> None:
        if not self._part_is_file and self._part_name is not None:
            value = self._value.decode("utf-8", "replace")
            if "\x00" in value:
                self.refused.append(FieldError(self._part_name, NUL_REFUSED))
            self.fields[self._part_name] = without_bidi_controls(value)  # as in every text field (Input)

    def _end(self) -> None:
        self.complete = True

    def result(self) -> Upload:
        if not self.complete:
            raise BadRequest(INVALID_MULTIPART)
        if self.refused:
            raise ValidationFailed(self.refused)
        if not self.seen_file:
            raise ValidationFailed([FieldError(self.file_field, FIELD_REQUIRED, "missing")])
        if self.size == 0:
            raise BadRequest(FILE_EMPTY)
        return Upload(
            self.spool, self.path, self.size, self.filename, self.content_type, self.fields, self.hash.hexdigest()
        )
