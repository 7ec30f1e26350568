"""What entrypoints may ask of audio files, and what they get back.

Who may send what is declared here (each message's ``audience``); finer rules are the domain's
(``AudioFile.visible_to``, ``manageable_by``, the upload quota) and the handlers apply them. The
answers are edge-neutral read models: a file with its owner and the URLs a client fetches them at
(``AudioView``), so that an entrypoint only shapes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from sono.application.audio.ports import AudioList, AudioView, OwnedAudio
from sono.application.media.ports import ObjectInfo
from sono.application.messages import Audience, Command, Process, Query
from sono.application.values import UNSET
from sono.domain.audio import AudioFile
from sono.domain.users import UploadQuota, User

# ---------------------------------------------------------------------- what the answers hold


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """An object of an audio file the caller may fetch: the file and the object's metadata (the
    entrypoint streams it)."""

    audio: AudioFile
    key: str
    info: ObjectInfo


@dataclass(frozen=True, slots=True)
class DeletedAudio:
    """What an admin's bulk deletion did: how many files went, and the user they belonged to."""

    deleted: int
    user: User


@dataclass(frozen=True, slots=True)
class AudioDetails:
    """What an upload form says about the file; None where it says nothing (the file's tags
    fill in ``title``, ``artist``, ``album``, ``track_number``, ``year`` and ``genre``)."""

    title: str | None = None
    description: str | None = None
    is_public: bool = False
    artist: str | None = None
    album: str | None = None
    track_number: int | None = None
    year: int | None = None
    genre: str | None = None


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """An upload received on local disk: ``path`` for the inspector, ``data`` to store from.
    ``sha256``: the hex SHA-256 of the bytes when whoever received them hashed them on the way in
    (the HTTP spool and the library import do); else the upload hashes them as it stores them."""

    path: str
    data: BinaryIO
    filename: str | None
    sha256: str | None = None


# ---------------------------------------------------------------------- uploading


@dataclass(frozen=True, slots=True)
class CheckUploadQuota(Query[None]):
    """Refuse (403) before a body is read when the caller's quota is already full (the upload
    checks again, atomically, when it inserts)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class UploadAudio(Process[AudioView]):
    """Store a received file for the caller (content-checked, quota-bound, audited).

    A process, as ``ImportAudio``: ``StageAudio`` (the quota checked, the objects' keys recorded
    as pending, committed), the objects stored outside any transaction, then ``FileAudio`` (the
    row inserted with the quota checked again under the owner's lock, committed); a failure after
    the first step removes the stored objects and their records."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    file: UploadedFile
    details: AudioDetails


@dataclass(frozen=True, slots=True)
class StagedAudio:
    """The keys a staged upload stores its objects under (recorded as pending)."""

    audio_key: str
    cover_key: str | None

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.audio_key, *([self.cover_key] if self.cover_key else []))


@dataclass(frozen=True, slots=True)
class StageAudio(Command[StagedAudio]):
    """An upload's first step: refuse (403) when the owner's quota is full (``NotFound`` when
    there is no such owner), else name the new objects (``audio_extension``; ``cover_extension``
    when the file brings cover art) and record them as pending before they are written, so that a
    crash before ``FileAudio`` leaves records that the jobs purge. The owner is the caller, or
    anyone for an admin (the library import)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    owner_id: int
    audio_extension: str
    cover_extension: str | None = None


@dataclass(frozen=True, slots=True)
class FileAudio(Command[OwnedAudio]):
    """An upload's last step, its staged objects stored: insert the row (and the library's read
    model), with the owner's quota checked again while their row is locked (so concurrent uploads
    cannot pass the limit together), forget the pending records, audit it. The owner is the
    caller, or anyone for an admin."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    locks_caller: ClassVar[bool] = True
    audio: AudioFile


@dataclass(frozen=True, slots=True)
class GetUploadStats(Query[UploadQuota]):
    """The caller's upload quota and usage."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class ListMyAudio(Query[AudioList]):
    """The caller's files, newest first."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ListPublicAudio(Query[AudioList]):
    """Public files of active owners, newest first: the same answer for every caller."""

    unit_of_work: ClassVar[bool] = False  # read from the catalog alone
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class GetAudio(Query[AudioView]):
    """A file the caller may see (404 otherwise, whether or not it exists)."""

    audio_id: int


@dataclass(frozen=True, slots=True)
class DownloadAudio(Query[StoredMedia]):
    """The audio object of a file the caller may see."""

    audio_id: int


@dataclass(frozen=True, slots=True)
class GetCoverArt(Query[StoredMedia]):
    """The cover art of a file the caller may see (404 when it has none)."""

    audio_id: int


# ---------------------------------------------------------------------- changing


@dataclass(frozen=True, slots=True)
class UpdateAudio(Command[AudioView]):
    """Change the fields that were sent (``UNSET`` leaves one as it is; ``None`` clears an
    optional one). Owner and admins only (404 for who cannot see it, 403 for who sees it only)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    audio_id: int
    title: Any = UNSET
    description: Any = UNSET
    is_public: Any = UNSET
    artist: Any = UNSET
    album: Any = UNSET
    track_number: Any = UNSET
    year: Any = UNSET
    genre: Any = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields that were sent, by name."""
        return {name: getattr(self, name) for name in _CHANGEABLE if getattr(self, name) is not UNSET}


_CHANGEABLE = ("title", "description", "is_public", "artist", "album", "track_number", "year", "genre")


@dataclass(frozen=True, slots=True)
class DeleteAudio(Command[None]):
    """Delete the file (owner and admins): its entries leave every collection (the others close
    up), its objects are removed once that has committed."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    audio_id: int


# ---------------------------------------------------------------------- admins


@dataclass(frozen=True, slots=True)
class ListAllAudio(Command[AudioList]):
    """Every file, newest first. A command: the listing is audited."""

    audience: ClassVar[Audience] = Audience.ADMIN
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class DeleteAllAudioOf(Command[DeletedAudio]):
    """Delete every file of the user, closing the gaps they leave in collections; ``reset_quota``
    also restores the default upload limit."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int
    reset_quota: bool = False
