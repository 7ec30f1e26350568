"""Descriptive tags of audio files (title, artist, album, track number, year, genre and the
embedded cover picture), read with mutagen (and a bounded EBML walk for WebM).

Tags are optional: whatever cannot be read is left out, never an error. The file's container is
recognised by its magic bytes, as the inspector does, and only that container's tag format is
parsed. Tag blocks are loaded whole by mutagen, so their size is checked first from the
container's own headers: metadata larger than ``TAG_BYTES_MAX`` is not read at all, and no upload
makes this code hold more than that in memory. Text is hostile until cleaned: control, surrogate,
bidirectional-override and non-characters are dropped, whitespace is collapsed, and each value is
cut to the domain's bound. Numbers are read from their leading digits (``3/12`` is track 3,
``2020-05-01`` is 2020) and kept only within the domain's ranges.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import struct
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from sono.adapters.media import ebml
from sono.domain.audio import (
    GENRE_MAX,
    TAG_MAX,
    TITLE_MAX,
    TRACK_NUMBER_MAX,
    TRACK_NUMBER_MIN,
    YEAR_MAX,
    YEAR_MIN,
)
from sono.domain.media import IMAGE_MAX_BYTES, AudioTags
from sono.domain.text import BIDI_CONTROLS

log = logging.getLogger(__name__)

TAG_BYTES_MAX = 8 * 1024 * 1024
"""Metadata blocks larger than this (in total) are not parsed."""

_FRONT_COVER = 3
_OGG_PAGES_MAX = 4096
_RIFF_CHUNKS_MAX = 1024
_FLAC_BLOCKS_MAX = 1024
_MP4_ATOMS_MAX = 1024
_DROPPED = BIDI_CONTROLS | {"\ufeff"}  # the domain's bidirectional controls, and byte order marks
_DIGITS = re.compile(r"\d{1,9}")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


class _TooLarge(Exception):
    """Internal: the metadata is larger than ``TAG_BYTES_MAX``."""


@dataclass
class _Raw:
    """Tag values as the container gave them (untrusted)."""

    title: object = None
    artist: object = None
    album: object = None
    track: object = None
    year: object = None
    genre: object = None
    pictures: list[tuple[int, bytes]] = field(default_factory=list)  # (picture type, data)


# --------------------------------------------------------------------------- cleaning


def clean_text(value: object, maximum: int) -> str | None:
    """A tag value fit to store and show: text only, no control, surrogate, bidi-override or
    non-characters, whitespace collapsed, at most ``maximum`` characters; None when nothing is
    left."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = unicodedata.normalize("NFC", str(value))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif category == "Cs" or char in _DROPPED or (ord(char) & 0xFFFE) == 0xFFFE:
            continue
        else:
            kept.append(char)
    cleaned = " ".join("".join(kept).split())[:maximum].rstrip()
    return cleaned or None


def _number(value: object, low: int, high: int, pattern: re.Pattern[str] = _DIGITS) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    match = pattern.match(text) if pattern is _DIGITS else pattern.search(text)
    if match is None:
        return None
    number = int(match.group(1) if match.groups() else match.group(0))
    return number if low <= number <= high else None


def _picture(pictures: list[tuple[int, bytes]]) -> bytes | None:
    """The front cover if there is one, else the first picture; None beyond the image limit."""
    usable = [(kind, data) for kind, data in pictures if data and len(data) <= IMAGE_MAX_BYTES]
    if not usable:
        return None
    return next((data for kind, data in usable if kind == _FRONT_COVER), usable[0][1])


def _first(values: object) -> object:
    """The first non-blank of a tag's values (containers keep lists; ID3 separates values with
    NUL)."""
    if values is None or isinstance(values, str | bytes | int | tuple):
        return values
    if isinstance(values, Iterable):
        for value in values:
            if value is not None and str(value).strip():
                return value
        return None
    return values


def _cleaned(raw: _Raw) -> AudioTags:
    return AudioTags(
        title=clean_text(_first(raw.title), TITLE_MAX),
        artist=clean_text(_first(raw.artist), TAG_MAX),
        album=clean_text(_first(raw.album), TAG_MAX),
        track_number=_number(_first(raw.track), TRACK_NUMBER_MIN, TRACK_NUMBER_MAX),
        year=_number(_first(raw.year), YEAR_MIN, YEAR_MAX, _YEAR),
        genre=clean_text(_first(raw.genre), GENRE_MAX),
        picture=_picture(raw.pictures),
    )


# --------------------------------------------------------------------------- tag formats


def _from_id3(tags: Any) -> _Raw:
    if tags is None:
        return _Raw()

    def text(frame_id: str) -> object:
        frame = tags.get(frame_id)
        return _first(frame.text) if frame is not None and getattr(frame, "text", None) else None

    genre = tags.get("TCON")
    genres = list(getattr(genre, "genres", []) or []) if genre is not None else []
    year = tags.get("TDRC") or tags.get("TYER") or tags.get("TDOR")
    return _Raw(
        title=text("TIT2"),
        artist=text("TPE1") or text("TPE2"),
        album=text("TALB"),
        track=text("TRCK"),
        year=_first([str(stamp) for stamp in year.text]) if year is not None and getattr(year, "text", None) else None,
        genre=_first(genres),
        pictures=[(int(getattr(frame, "type", 0)), bytes(frame.data)) for frame in tags.getall("APIC")],
    )


def _vorbis_pictures(comments: Any) -> list[tuple[int, bytes]]:
    """``METADATA_BLOCK_PICTURE`` (a base64 FLAC picture block) and the older ``COVERART``."""
    pictures = []
    for encoded in comments.get("metadata_block_picture", []) or []:
        if len(encoded) > TAG_BYTES_MAX:
            continue
        try:
            block = Picture(base64.b64decode(encoded))
        except Exception as exc:  # hostile bytes
            log.debug("picture block ignored: %s", type(exc).__name__)
            continue
        pictures.append((int(block.type), bytes(block.data)))
    for encoded in comments.get("coverart", []) or []:
        try:
            pictures.append((_FRONT_COVER, base64.b64decode(encoded)))
        except (binascii.Error, ValueError):
            continue
    return pictures


def _from_vorbis(comments: Any, pictures: Iterable[Any] = ()) -> _Raw:
    if comments is None:
        return _Raw(pictures=[(int(p.type), bytes(p.data)) for p in pictures])

    def get(*names: str) -> object:
        for name in names:
            value = _first(comments.get(name))
            if value is not None:
                return value
        return None

    return _Raw(
        title=get("title"),
        artist=get("artist", "albumartist", "performer"),
        album=get("album"),
        track=get("tracknumber", "track"),
        year=get("date", "year", "originaldate"),
        genre=get("genre"),
        pictures=[(int(p.type), bytes(p.data)) for p in pictures] + _vorbis_pictures(comments),
    )


def _from_mp4(tags: Any) -> _Raw:
    if tags is None:
        return _Raw()

    def get(key: str) -> object:
        values = tags.get(key)
        return _first(list(values)) if values else None

    track = get("trkn")
    return _Raw(
        title=get("\xa9nam"),
        artist=get("\xa9ART") or get("aART"),
        album=get("\xa9alb"),
        track=track[0] if isinstance(track, tuple) and track else None,
        year=get("\xa9day"),
        genre=get("\xa9gen"),
        pictures=[(_FRONT_COVER, bytes(cover)) for cover in tags.get("covr", [])],
    )


# --------------------------------------------------------------------------- metadata sizes


def _check(total: int) -> None:
    if total > TAG_BYTES_MAX:
        raise _TooLarge


def _id3_size(fileobj: BinaryIO, offset: int = 0) -> int:
    """Bytes of the ID3v2 tag at ``offset`` (0 without one)."""
    fileobj.seek(offset)
    header = fileobj.read(10)
    if len(header) < 10 or not header.startswith(b"ID3"):
        return 0
    size = 0
    for byte in header[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size


def _flac_metadata_size(fileobj: BinaryIO, start: int) -> int:
    fileobj.seek(start + 4)  # after "fLaC"
    total = 0
    for _ in range(_FLAC_BLOCKS_MAX):
        header = fileobj.read(4)
        if len(header) < 4:
            break
        length = int.from_bytes(header[1:4], "big")
        total += 4 + length
        _check(total)
        if header[0] & 0x80:  # the last metadata block
            break
        fileobj.seek(length, 1)
    return total


def _ogg_header_size(fileobj: BinaryIO) -> int:
    """Bytes of the pages before the first one that completes an audio packet (granule > 0):
    the identification, comment and setup headers."""
    fileobj.seek(0)
    total = 0
    for _ in range(_OGG_PAGES_MAX):
        header = fileobj.read(27)
        if len(header) < 27 or not header.startswith(b"OggS"):
            break
        granule = struct.unpack("<q", header[6:14])[0]
        if granule > 0:
            break
        body = sum(fileobj.read(header[26]))
        total += 27 + header[26] + body
        _check(total)
        fileobj.seek(body, 1)
    return total


def _riff_chunk_size(fileobj: BinaryIO, wanted: tuple[bytes, ...]) -> int:
    fileobj.seek(12)
    for _ in range(_RIFF_CHUNKS_MAX):
        header = fileobj.read(8)
        if len(header) < 8:
            break
        length = struct.unpack("<I", header[4:8])[0]
        if header[:4] in wanted:
            _check(length)
            return length
        fileobj.seek(length + (length & 1), 1)
    return 0


def _mp4_moov_size(fileobj: BinaryIO) -> int:
    fileobj.seek(0, 2)
    end = fileobj.tell()
    offset = 0
    for _ in range(_MP4_ATOMS_MAX):
        fileobj.seek(offset)
        header = fileobj.read(8)
        if len(header) < 8:
            break
        size, kind = struct.unpack(">I4s", header)
        if size == 1:
            size = struct.unpack(">Q", fileobj.read(8))[0]
        elif size == 0:
            size = end - offset
        if kind == b"moov":
            _check(size)
            return size
        if size < 8:
            break
        offset += size
    return 0


# --------------------------------------------------------------------------- WebM (Matroska tags)

_WEBM_NAMES = {
    "TITLE": "title",
    "ARTIST": "artist",
    "LEAD_PERFORMER": "artist",
    "ALBUM": "album",
    "PART_NUMBER": "track",
    "TRACK_NUMBER": "track",
    "DATE_RELEASED": "year",
    "DATE": "year",
    "YEAR": "year",
    "GENRE": "genre",
}


def _webm_tags(fileobj: BinaryIO) -> _Raw:
    """``Tags`` and the Segment Info ``Title`` found before the first Cluster, within the
    walk's scan window (WebM attachments, where cover pictures live, are not read)."""
    fileobj.seek(0)
    data = fileobj.read(ebml.SCAN_BYTES)
    top = ebml.elements(data, 0, len(data))
    if len(top) < 2 or top[1][0] != ebml.SEGMENT:
        return _Raw()
    found: dict[str, bytes] = {}
    for element_id, start, end in ebml.elements(data, top[1][1], top[1][2]):
        if element_id == ebml.INFO:
            for child, s, e in ebml.elements(data, start, end):
                if child == ebml.TITLE:
                    found.setdefault("title", data[s:e])
        elif element_id == ebml.TAGS:
            for tag, s, e in ebml.elements(data, start, end):
                if tag != ebml.TAG:
                    continue
                for simple, ss, se in ebml.elements(data, s, e):
                    if simple != ebml.SIMPLE_TAG:
                        continue
                    fields = {child: data[cs:ce] for child, cs, ce in ebml.elements(data, ss, se)}
                    name = fields.get(ebml.TAG_NAME, b"").decode("utf-8", "replace").strip().upper()
                    if name in _WEBM_NAMES and ebml.TAG_STRING in fields:
                        found.setdefault(_WEBM_NAMES[name], fields[ebml.TAG_STRING])
    text = {name: value.rstrip(b"\x00").decode("utf-8", "replace") for name, value in found.items()}
    return _Raw(
        title=text.get("title"),
        artist=text.get("artist"),
        album=text.get("album"),
        track=text.get("track"),
        year=text.get("year"),
        genre=text.get("genre"),
    )


# --------------------------------------------------------------------------- reading


def _ogg_tags(fileobj: BinaryIO) -> _Raw:
    _ogg_header_size(fileobj)
    fileobj.seek(0)
    header = fileobj.read(27)
    fileobj.seek(27 + header[26])
    packet = fileobj.read(8)
    fileobj.seek(0)
    parsers: dict[bytes, Callable[[BinaryIO], Any]] = {
        b"\x01vorbis": OggVorbis,
        b"OpusHead": OggOpus,
        b"\x7fFLAC": OggFLAC,
    }
    for magic, parser in parsers.items():
        if packet.startswith(magic):
            return _from_vorbis(parser(fileobj).tags)
    return _Raw()


def _raw_tags(fileobj: BinaryIO) -> _Raw:
    head = fileobj.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        if not _riff_chunk_size(fileobj, (b"id3 ", b"ID3 ", b"id3\x00")):
            return _Raw()
        fileobj.seek(0)
        return _from_id3(WAVE(fileobj).tags)
    if head[:4] == b"OggS":
        return _ogg_tags(fileobj)
    if head[4:8] == b"ftyp":
        if not _mp4_moov_size(fileobj):
            return _Raw()
        fileobj.seek(0)
        return _from_mp4(MP4(fileobj).tags)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _webm_tags(fileobj)
    id3_size = _id3_size(fileobj)
    _check(id3_size)
    fileobj.seek(id3_size)
    if fileobj.read(4) == b"fLaC":
        _flac_metadata_size(fileobj, id3_size)
        fileobj.seek(0)
        flac = FLAC(fileobj)
        return _from_vorbis(flac.tags, flac.pictures)
    fileobj.seek(0)
    return _from_id3(ID3(fileobj))  # MP3 and AAC: ID3v2 at the start, or ID3v1 at the end


def read_audio_tags(path: str) -> AudioTags:
    """The cleaned tags of the audio file at ``path`` (see the module docstring)."""
    try:
        with open(path, "rb") as fileobj:
            raw = _raw_tags(fileobj)
    except _TooLarge:
        log.debug("tags not read: metadata larger than %d bytes", TAG_BYTES_MAX)
        return AudioTags()
    except Exception as exc:  # no tags, or tags that do not parse: the file has none for us
        log.debug("tags not read: %s: %s", type(exc).__name__, exc)
        return AudioTags()
    try:
        return _cleaned(raw)
    except Exception as exc:  # values of unexpected types
        log.debug("tags not usable: %s: %s", type(exc).__name__, exc)
        return AudioTags()
