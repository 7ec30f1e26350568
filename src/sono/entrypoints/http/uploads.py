"""Streaming ``multipart/form-data`` uploads.

The ``file`` part is spooled into a temporary file on disk (in the data directory's ``tmp``
folder) as the body arrives, and its size limit is enforced while reading: a declared
``Content-Length`` beyond the limit is refused before anything is read, and the bytes are counted as
they come, so no request ever holds more than one chunk in memory. Small text parts (an upload's
title, ...) are collected as fields.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from litestar import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from sono.domain.errors import BadRequest, FieldError, PayloadTooLarge, ValidationFailed
from sono.domain.media import FILE_EMPTY
from sono.domain.text import without_bidi_controls
from sono.entrypoints.http.errors import BODY_TOO_LARGE, FIELD_REQUIRED
from sono.entrypoints.http.schemas import NUL_REFUSED

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FORM_OVERHEAD = 64 * 1024
"""What a form may carry besides the file: boundaries, part headers and small text fields."""
INVALID_MULTIPART = "Invalid multipart body"


@dataclass
class Upload:
    """The received file (positioned at its start, at ``path`` on disk) and the form's text fields."""

    file: BinaryIO
    path: str
    size: int
    filename: str | None
    content_type: str | None
    fields: dict[str, str] = field(default_factory=dict)


@asynccontextmanager
async def receive_upload(
    request: Request[Any, Any, Any], *, max_bytes: int, too_large: str, spool_dir: Path, file_field: str = "file"
) -> AsyncIterator[Upload]:
    """Read the request's multipart body into a temporary file under ``spool_dir``. 413
    ``too_large`` beyond ``max_bytes`` of file, 400 for an empty file or a malformed body, 422 when
    the ``file_field`` part is missing. The spooled file is removed when the context exits."""
    boundary = _boundary(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        raise PayloadTooLarge(too_large)
    await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=spool_dir, prefix="upload-", suffix=".part") as spooled:
        spool = cast(BinaryIO, spooled)
        form = _FormCollector(spool, spooled.name, file_field, max_bytes, too_large)
        parser = MultipartParser(boundary, form.callbacks())
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError:
            raise BadRequest(INVALID_MULTIPART) from None
        upload = form.result()
        spool.flush()
        spool.seek(0)
        yield upload


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
        self.size = 0
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
        self._headers.clear()
        self._part_name, self._part_is_file = None, False
        self._value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name.extend(data[start:end])

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value.extend(data[start:end])

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        name = options.get(b"name")
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
            self.spool.write(memoryview(data)[start:end])  # no copy of the slice
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
        return Upload(self.spool, self.path, self.size, self.filename, self.content_type, self.fields)
