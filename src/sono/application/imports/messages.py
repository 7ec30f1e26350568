"""What the library import asks of the core. Admins only (the command line acts as an admin).

The walking of folders and ZIP archives, the hashing and the progress are the entrypoint's; the
core decides, per file, whether its content is there already (``FindImported``) and imports it
through the same upload use case as the JSON API (``ImportAudio``): content sniffed, tags, cover
art, the size and count limits, the audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sono.application.audio.messages import UploadedFile
from sono.application.messages import Audience, Process, Query


@dataclass(frozen=True, slots=True)
class FindImported(Query[frozenset[str]]):
    """Those of ``content_hashes`` (SHA-256, hex) that files of the owner already hold
    (``SameContent``): the import skips them, so a second run continues where the first stopped."""

    audience: ClassVar[Audience] = Audience.ADMIN
    owner_id: int
    content_hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """What an import made of a file: its title (the tags' else the file name's) and format, and
    the new audio file's id (None on a dry run)."""

    title: str
    format: str
    audio_id: int | None


@dataclass(frozen=True, slots=True)
class ImportAudio(Process[ImportedFile]):
    """Import one received file for the owner through the upload use case (``is_public`` as the
    upload form's); ``dry_run`` decides its format and title from its content and tags and stores
    nothing. Refusals are the upload's: ``UnsupportedMedia`` (not audio), ``PermissionDenied``
    (the upload limit), ``NotFound`` (no such owner).

    A process, as ``UploadAudio``: its steps (``StageAudio``, the storing, ``FileAudio``) are sent
    through the bus as the operator, each command in its own unit of work."""

    audience: ClassVar[Audience] = Audience.ADMIN
    owner_id: int
    file: UploadedFile
    is_public: bool = False
    dry_run: bool = False
