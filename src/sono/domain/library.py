"""The library derived from the audio files' tags: artists, albums and genres, who may see which
song, and how a text search ranks what it finds.

Grouping. An artist is the ``artist`` tag, an album the pair (artist, ``album`` tag); songs
without one group under ``[Unknown Artist]`` / ``[Unknown Album]``. Grouping ignores case and
repeated whitespace (``group_key``); the name shown is the one first seen.

Visibility. The songs a caller may see are the ones ``AudioFile.visible_to`` lets them see (their
own, public ones of active owners; everything for admins) and those shared with them through a
collection they see (``shared_with`` / ``Collection.visible_to``: contract section 6). That rule is
written here once more as a *specification*, a small tree of conditions, so that the fakes evaluate
it (``Spec.holds``) and the SQL adapter compiles the same tree into a ``WHERE`` clause; a unit test
keeps it in step with the methods of the aggregates. Every library count, list and search applies
it: an album or artist none of whose songs the caller may see does not exist for them.

Search. Texts are compared in their ``search_text`` form (case folded, accents stripped,
whitespace collapsed); a match ranks exact, then prefix, then word (a word of the text starts with
the query), then substring. Queries shorter than ``SUBSTRING_MIN`` characters only match by exact
and prefix (the trigram indexes of both databases need three characters).
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sono.domain.access import Viewer

UNKNOWN_ARTIST = "[Unknown Artist]"
UNKNOWN_ALBUM = "[Unknown Album]"
NAME_MAX = 200
SUBSTRING_MIN = 3
SEARCH_QUERY_MAX = 200

ARTIST_NOT_FOUND = "Artist not found"
ALBUM_NOT_FOUND = "Album not found"


# --------------------------------------------------------------------------- names and keys


def collapse(text: str | None) -> str:
    """``text`` with surrounding whitespace dropped and inner runs of it made one space."""
    return " ".join(text.split()) if text else ""


def artist_name(tag: str | None) -> str:
    """The name a song's ``artist`` tag files it under."""
    return collapse(tag)[:NAME_MAX] or UNKNOWN_ARTIST


def album_name(tag: str | None) -> str:
    """The name a song's ``album`` tag files it under (within its artist)."""
    return collapse(tag)[:NAME_MAX] or UNKNOWN_ALBUM


def group_key(name: str) -> str:
    """The grouping key of a name: case folded, whitespace collapsed."""
    return collapse(name).casefold()


def search_text(text: str | None) -> str:
    """The form texts are searched and sorted in: accents stripped (compatibility decomposition,
    combining marks dropped), case folded, whitespace collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return collapse(unicodedata.normalize("NFKC", stripped.casefold()))


@dataclass(frozen=True, slots=True)
class Filing:
    """Where a song is filed: its artist and album names (as shown) and keys, and the search form
    of its title, artist and album."""

    artist: str
    artist_key: str
    album: str
    album_key: str
    title_search: str
    artist_search: str
    album_search: str


def filing(title: str | None, artist: str | None, album: str | None) -> Filing:
    """Where a song with these tags is filed."""
    shown_artist, shown_album = artist_name(artist), album_name(album)
    return Filing(
        shown_artist,
        group_key(shown_artist),
        shown_album,
        group_key(shown_album),
        search_text(title),
        search_text(shown_artist),
        search_text(shown_album),
    )


# --------------------------------------------------------------------------- search ranking


class Match(enum.IntEnum):
    """How well a text matches a query (lower ranks first)."""

    EXACT = 0
    PREFIX = 1
    WORD = 2
    SUBSTRING = 3


def search_query(q: str) -> str:
    """A query in the form the texts are searched in; a trailing ``*`` (Subsonic) is ignored."""
    return search_text(q.rstrip("*"))


def match(text: str, query: str) -> Match | None:
    """How ``text`` (in ``search_text`` form) matches ``query`` (in ``search_query`` form), or None."""
    if not query:
        return None
    if text == query:
        return Match.EXACT
    if text.startswith(query):
        return Match.PREFIX
    if len(query) < SUBSTRING_MIN:
        return None
    if f" {query}" in text:
        return Match.WORD
    if query in text:
        return Match.SUBSTRING
    return None


# --------------------------------------------------------------------------- visibility


@dataclass(frozen=True, slots=True)
class CollectionFacts:
    """What the visibility rule needs to know of a collection."""

    owner_id: int
    is_public: bool
    owner_active: bool
    collaborator_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class SongFacts:
    """What the visibility rule needs to know of an audio file: its owner, whether it is public,
    whether its owner's account is active, and the collections holding it."""

    owner_id: int
    is_public: bool
    owner_active: bool
    collections: tuple[CollectionFacts, ...] = ()


class Spec:
    """A condition on a song or a collection: evaluated by ``holds``, compiled to SQL by the SQL
    adapter (which knows every node type below)."""

    def holds(self, facts: object) -> bool:  # pragma: no cover - every node overrides it
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Everything(Spec):
    def holds(self, facts: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class AnyOf(Spec):
    parts: tuple[Spec, ...]

    def holds(self, facts: object) -> bool:
        return any(part.holds(facts) for part in self.parts)


@dataclass(frozen=True, slots=True)
class AllOf(Spec):
    parts: tuple[Spec, ...]

    def holds(self, facts: object) -> bool:
        return all(part.holds(facts) for part in self.parts)


@dataclass(frozen=True, slots=True)
class OwnedBy(Spec):
    """The song's (or collection's) owner is this user."""

    user_id: int

    def holds(self, facts: object) -> bool:
        assert isinstance(facts, SongFacts | CollectionFacts)
        return facts.owner_id == self.user_id


@dataclass(frozen=True, slots=True)
class Public(Spec):
    def holds(self, facts: object) -> bool:
        assert isinstance(facts, SongFacts | CollectionFacts)
        return facts.is_public


@dataclass(frozen=True, slots=True)
class OwnerActive(Spec):
    def holds(self, facts: object) -> bool:
        assert isinstance(facts, SongFacts | CollectionFacts)
        return facts.owner_active


@dataclass(frozen=True, slots=True)
class CollaboratorIs(Spec):
    """The collection has this user as a collaborator (any permission)."""

    user_id: int

    def holds(self, facts: object) -> bool:
        assert isinstance(facts, CollectionFacts)
        return self.user_id in facts.collaborator_ids


@dataclass(frozen=True, slots=True)
class InCollection(Spec):
    """Some collection holding the song satisfies ``collection``."""

    collection: Spec

    def holds(self, facts: object) -> bool:
        assert isinstance(facts, SongFacts)
        return any(self.collection.holds(c) for c in facts.collections)


LISTED_PUBLICLY: Spec = AllOf((Public(), OwnerActive()))
"""Listed publicly: the file is public and its owner's account is active. The public audio list
is exactly these files (the in-memory catalog evaluates it, the SQL catalog compiles it into its
``WHERE``), and they are the files anyone may see (``AudioFile.visible_to``, ``visible_songs``)."""


def visible_collections(viewer: Viewer) -> Spec:
    """``Collection.visible_to``: admins see every collection; others those of active owners that
    are public, their own, or shared with them."""
    if viewer.is_admin:
        return Everything()
    if viewer.user_id is None:
        return AllOf((OwnerActive(), Public()))
    uid = viewer.user_id
    return AllOf((OwnerActive(), AnyOf((Public(), OwnedBy(uid), CollaboratorIs(uid)))))


def visible_songs(viewer: Viewer) -> Spec:
    """The songs the viewer may see: ``AudioFile.visible_to`` (own; public of an active owner;
    admins everything), or held by a collection the viewer sees (``shared_with``)."""
    if viewer.is_admin:
        return Everything()
    public = LISTED_PUBLICLY
    shared = InCollection(visible_collections(viewer))
    if viewer.user_id is None:
        return AnyOf((public, shared))
    return AnyOf((OwnedBy(viewer.user_id), public, shared))


# --------------------------------------------------------------------------- aggregates of a group


def most_common(values: Iterable[str | int | None]) -> str | int | None:
    """The most common value that is not None; ties go to the smallest (None for none)."""
    counts: dict[str | int, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda value: (-counts[value], value))


SHUFFLE_FACTOR = 2654435761
SHUFFLE_MODULUS = 4294967291
SEED_MAX = 2**31 - 1


def shuffle_key(item_id: int, seed: int) -> int:
    """The place of an item in the random order fixed by ``seed`` (the SQL adapter computes the
    same arithmetic: 64-bit integers suffice)."""
    return (item_id * SHUFFLE_FACTOR + seed) % SHUFFLE_MODULUS


class AlbumSort(enum.StrEnum):
    NAME = "name"
    ARTIST = "artist"
    YEAR = "year"
    YEAR_DESCENDING = "year_descending"  # the Subsonic API's byYear with fromYear > toYear
    NEWEST = "newest"
    RANDOM = "random"
    FREQUENT = "frequent"  # the caller's own listens: albums they played, most listens first
    RECENT = "recent"  # ... the latest listen first


PLAYED_SORTS = frozenset({AlbumSort.FREQUENT, AlbumSort.RECENT})
"""Orders by the caller's plays: only the albums they have played, and nothing for anonymous callers."""


class SongOrder(enum.StrEnum):
    STABLE = "stable"  # by id: pages through everything with no duplicates or gaps
    RANDOM = "random"
    NEWEST = "newest"


class SearchKind(enum.StrEnum):
    SONGS = "songs"
    ALBUMS = "albums"
    ARTISTS = "artists"
    COLLECTIONS = "collections"
    USERS = "users"
