"""Subsonic ids: strings with a type prefix, so that one parameter (``id`` of ``star``,
``getMusicDirectory``, ``download``...) can be routed to a song, an album, an artist or a
playlist: ``tr-<audio id>``, ``al-<album id>``, ``ar-<artist id>``, ``pl-<collection id>``.

Cover art ids carry a version, ``cv-tr-<id>-<version>`` (and ``cv-al-``, ``cv-pl-``), so a new
cover gets a new URL and an old one can be cached for good.

Decoding is strict: one spelling per id (no sign, no leading zero, ASCII digits only, a positive
32-bit number), so an id is stable and the same object never hides behind two of them. Anything
else is ``InvalidId``, answered like an id that does not exist (70).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

MAX_NUMBER = 2**31 - 1


class Kind(StrEnum):
    TRACK = "tr"
    ALBUM = "al"
    ARTIST = "ar"
    PLAYLIST = "pl"


COVER_KINDS = frozenset({Kind.TRACK, Kind.ALBUM, Kind.PLAYLIST})

_NUMBER = r"([1-9][0-9]{0,9})"
_ITEM = re.compile(rf"(tr|al|ar|pl)-{_NUMBER}", re.ASCII)
_COVER = re.compile(rf"cv-(tr|al|pl)-{_NUMBER}-([0-9a-f]{{1,64}})", re.ASCII)
_VERSION = re.compile(r"[0-9a-f]{1,64}", re.ASCII)


class InvalidId(ValueError):
    """Not an id Sono makes (or not one of the kinds the parameter takes)."""


@dataclass(frozen=True)
class ItemId:
    kind: Kind
    number: int

    def __str__(self) -> str:
        return f"{self.kind}-{self.number}"


@dataclass(frozen=True)
class CoverId:
    kind: Kind
    number: int
    version: str

    def __str__(self) -> str:
        return f"cv-{self.kind}-{self.number}-{self.version}"


def item_id(kind: Kind, number: int) -> str:
    _check_number(number)
    return f"{kind}-{number}"


def cover_id(kind: Kind, number: int, version: str) -> str:
    _check_number(number)
    if kind not in COVER_KINDS:
        raise ValueError(f"no cover id for {kind.name}")
    if _VERSION.fullmatch(version) is None:
        raise ValueError("a cover version is 1 to 64 lowercase hex digits")
    return f"cv-{kind}-{number}-{version}"


def cover_version(storage_key: str) -> str:
    """A version for a cover stored under ``storage_key``: every new cover is stored under a new
    key, so it gets a new version and a new URL. Short, and says nothing of the key itself."""
    return hashlib.sha256(storage_key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def parse_item(text: str, *kinds: Kind) -> ItemId:
    """The item ``text`` names, of one of ``kinds`` (any kind when none is given)."""
    match = _ITEM.fullmatch(text)
    if match is None:
        raise InvalidId(text)
    item = ItemId(Kind(match.group(1)), _number(match.group(2), text))
    if kinds and item.kind not in kinds:
        raise InvalidId(text)
    return item


def parse_cover(text: str) -> CoverId:
    match = _COVER.fullmatch(text)
    if match is None:
        raise InvalidId(text)
    return CoverId(Kind(match.group(1)), _number(match.group(2), text), match.group(3))


def _number(digits: str, text: str) -> int:
    number = int(digits)
    if number > MAX_NUMBER:
        raise InvalidId(text)
    return number


def _check_number(number: int) -> None:
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= MAX_NUMBER:
        raise ValueError(f"an id number is a positive 32-bit integer, not {number!r}")
