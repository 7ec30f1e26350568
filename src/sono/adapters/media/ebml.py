"""A bounded walk over the head of an EBML file (Matroska, WebM), which mutagen cannot parse: the
inspector reads a WebM file's stream from it, the tag reader its ``Tags`` and title.

Only the bytes handed in are read (at most ``SCAN_BYTES`` of a file's head): an element cut off
by that window extends to its end, an element header cut off by it ends the walk, and the walk
stops at the first ``Cluster``, where media data starts. Malformed sizes raise ``Malformed``.
"""

from __future__ import annotations

import struct

SCAN_BYTES = 1024 * 1024
"""How much of a file's head is read: every header element of a real file is within it."""

# Element ids (Matroska specification), with their marker bits.
EBML = 0x1A45DFA3
DOCTYPE = 0x4282
SEGMENT = 0x18538067
INFO = 0x1549A966
TIMECODE_SCALE = 0x2AD7B1
DURATION = 0x4489
TITLE = 0x7BA9  # in Info
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_TYPE = 0x83
AUDIO = 0xE1
SAMPLING_FREQUENCY = 0xB5
CHANNELS = 0x9F
TAGS = 0x1254C367
TAG = 0x7373
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
CLUSTER = 0x1F43B675

_UNKNOWN = -1  # an element whose size is not given: it runs to the end of its parent


class Malformed(ValueError):
    """The bytes are not EBML: a variable-size integer with no length marker."""


class _Truncated(Malformed):
    """An element header runs past the bytes read."""


def _vint(data: bytes, pos: int, end: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-size integer at ``pos`` (not reading past ``end``) and the next position."""
    if pos >= end:
        raise _Truncated("truncated EBML element")
    if data[pos] == 0:
        raise Malformed("bad EBML variable-size integer")
    length = 8 - data[pos].bit_length() + 1
    if pos + length > end:
        raise _Truncated("truncated EBML element")
    value = int.from_bytes(data[pos : pos + length], "big")
    if keep_marker:
        return value, pos + length
    value &= (1 << (7 * length)) - 1
    if value == (1 << (7 * length)) - 1:
        return _UNKNOWN, pos + length
    return value, pos + length


def elements(data: bytes, pos: int, end: int) -> list[tuple[int, int, int]]:
    """``(id, body_start, body_end)`` of the elements in ``data[pos:end]``; an element of
    unknown size, or one cut off by the scan window, extends to ``end``, and the walk stops at an
    element header cut off by the window."""
    found = []
    while pos < end:
        try:
            element_id, pos = _vint(data, pos, end, keep_marker=True)
            size, pos = _vint(data, pos, end, keep_marker=False)
        except _Truncated:
            break
        body_end = end if size == _UNKNOWN else min(end, pos + size)
        found.append((element_id, pos, body_end))
        if element_id == CLUSTER:
            break  # media data starts: every header element has been seen
        pos = body_end
    return found


def to_uint(data: bytes) -> int:
    """An unsigned integer element's value (0 when its size is not 1 to 8 bytes)."""
    return int.from_bytes(data, "big") if 0 < len(data) <= 8 else 0


def to_float(data: bytes) -> float | None:
    """A float element's value (None when its size is not 4 or 8 bytes)."""
    if len(data) == 4:
        return float(struct.unpack(">f", data)[0])
    if len(data) == 8:
        return float(struct.unpack(">d", data)[0])
    return None
