"""A collection's tracks as a ZIP archive, streamed as it is built.

The standard library's ``zipfile`` writes into a small in-memory sink that is drained after every
chunk, so the archive never exists whole, in memory or on disk. Entries are stored as they are
(``ZIP_STORED``: audio does not compress, and nothing is recompressed); the sink cannot seek, so
``zipfile`` writes each entry's sizes and CRC in a data descriptor after its bytes, and switches an
entry to ZIP64 when its (known) size calls for it. Each track is read through the media service in
chunks.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime

from sono.application.bus import Context, handles
from sono.application.collections.messages import Archive, ArchiveEntry, StreamArchive
from sono.application.media.service import MediaService
from sono.domain.errors import NotFound

log = logging.getLogger(__name__)

FLUSH_BYTES = 256 * 1024
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class _Sink:
    """A write-only, unseekable file object collecting what ``zipfile`` writes until drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.pending = 0

    def write(self, data: bytes, /) -> int:
        if data:
            self._parts.append(bytes(data))
            self.pending += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return data


def _date_time(moment: datetime | None) -> tuple[int, int, int, int, int, int]:
    if moment is None or moment.year < 1980:
        return _ZIP_EPOCH
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


async def zip_stream(media: MediaService, archive: Archive, *, flush_bytes: int = FLUSH_BYTES) -> AsyncIterator[bytes]:
    """The archive's bytes, a piece at a time. A track whose object is missing is left out (and
    logged): the response has started by the time it would be found."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
        for entry in archive.entries:
            async for piece in _write_entry(media, bundle, sink, entry, flush_bytes):
                yield piece
    yield sink.drain()


async def _write_entry(
    media: MediaService, bundle: zipfile.ZipFile, sink: _Sink, entry: ArchiveEntry, flush_bytes: int
) -> AsyncIterator[bytes]:
    try:
        stored = await media.open(entry.key)
    except NotFound:
        log.warning("collection archive: object of %r is missing, left out", entry.name)
        return
    info = zipfile.ZipInfo(entry.name, date_time=_date_time(entry.modified))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = stored.total_size  # zipfile decides on ZIP64 from it before writing the header
    chunks = stored.chunks
    try:
        with bundle.open(info, "w") as member:
            async for chunk in chunks:
                member.write(chunk)
                if sink.pending >= flush_bytes:
                    yield sink.drain()
        if sink.pending:
            yield sink.drain()
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


class ArchiveHandlers:
    def __init__(self, media: MediaService) -> None:
        self._media = media

    @handles(StreamArchive)
    async def stream(self, query: StreamArchive, ctx: Context) -> AsyncIterator[bytes]:
        return zip_stream(self._media, query.archive)
