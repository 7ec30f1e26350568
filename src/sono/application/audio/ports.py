"""Where audio files are kept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sono.application.values import Page
from sono.domain.audio import AudioFile, SameContent
from sono.domain.users import User


@dataclass(frozen=True, slots=True)
class OwnedAudio:
    """A list entry: an audio file and its owner, read together."""

    audio: AudioFile
    owner: User


# ---------------------------------------------------------------------- the answers of the lists
# (edge-neutral read models: a file with its owner and the URLs a client fetches them at)


@dataclass(frozen=True, slots=True)
class OwnerView:
    """A file's owner as everyone may see them, with the URL of their picture (None: none)."""

    user: User
    picture_url: str | None


@dataclass(frozen=True, slots=True)
class AudioView:
    """A file the caller may see, its owner, and where the file and its cover art are fetched."""

    audio: AudioFile
    owner: OwnerView
    file_url: str
    cover_art_url: str | None


@dataclass(frozen=True, slots=True)
class AudioList:
    """A page of files (each owner presented once) and the length of the whole list."""

    items: Sequence[AudioView]
    total: int
    skip: int = 0


class AudioFileRepository(Protocol):
    async def add(self, audio: AudioFile) -> AudioFile: ...
    async def get(self, audio_id: int, *, for_update: bool = False) -> AudioFile | None:
        """``for_update`` locks the row until the unit of work ends (see ``hold``), fresh."""

    async def hold(self, audio_ids: Iterable[int], *, exclusive: bool = False) -> set[int]:
        """Those of ``audio_ids`` that exist, their rows held until the unit of work ends (as
        ``UserRepository.hold``): a file about to be referenced by a collection entry is held
        shared, a file about to be deleted or unshared is held ``exclusive``."""

    async def get_many(self, audio_ids: Sequence[int]) -> dict[int, AudioFile]: ...
    async def delete(self, audio: AudioFile) -> None:
        """Delete the row; its collection entries go with it (callers close up track orders
        through the collections first)."""

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[AudioFile]:
        """Newest first."""

    async def listing(self, *, skip: int, limit: int, owner_id: int | None = None) -> Page[OwnedAudio]:
        """The read side of the admin list (every file) and of an owner's list (``owner_id``: only
        theirs), each file with its owner, newest first: one statement for the page (owners
        joined) and at most one more for the total. (The public list is ``AudioCatalog``'s.)"""

    async def count_for_owner(self, owner_id: int) -> int: ...
    async def total_bytes_for_owner(self, owner_id: int) -> int: ...
    async def ids_for_owner(self, owner_id: int) -> list[int]: ...
    async def keys_for_owner(self, owner_id: int) -> list[str]:
        """Every stored object of the owner's files (audio and cover art)."""

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        """Delete every file of the owner, returning their stored objects' keys."""

    async def contents(self, spec: SameContent) -> set[str]:
        """Those of ``spec.content_hashes`` that files of ``spec.owner_id`` hold (one indexed read)."""


class AudioCatalog(Protocol):
    """The public list read outside units of work (the busiest read of the API: one statement
    per page on a connection of its own, no transaction): the files ``LISTED_PUBLICLY`` (public,
    of an active owner), each with its owner, newest first (``upload_date``, then ``id``), the
    list's length as the page's total."""

    async def public_page(self, *, skip: int, limit: int) -> Page[OwnedAudio]: ...


@dataclass(frozen=True, slots=True)
class ListKey:
    """What a kept public list answer was made for: the page asked for, and the expiry of the
    URLs signed in it (``MediaService.expiry``: a new expiry is a new answer)."""

    skip: int
    limit: int
    expiry: int


class AudioListCache(Protocol):
    """Public list answers kept for later requests: presenting a page (signing its URLs, shaping
    its owners) costs far more than reading it, and every caller gets the same answer.

    An answer is kept with the page it was made from (``source``, as read from the catalog or the
    repository: the data's version) and is given out again only for an unchanged page; writes of
    audio files drop every answer at once (``invalidate``). Implementations count hits, misses and
    their size (the ``sono_cache_*`` metrics)."""

    async def get(self, key: ListKey, source: Page[OwnedAudio]) -> AudioList | None: ...
    async def put(self, key: ListKey, source: Page[OwnedAudio], answer: AudioList) -> None: ...
    async def invalidate(self) -> None:
        """The public list may have changed (an upload, a change, a deletion committed)."""


class NoAudioListCache:
    """Keeps nothing: every list is presented anew."""

    async def get(self, key: ListKey, source: Page[OwnedAudio]) -> AudioList | None:
        return None

    async def put(self, key: ListKey, source: Page[OwnedAudio], answer: AudioList) -> None:
        return None

    async def invalidate(self) -> None:
        return None
