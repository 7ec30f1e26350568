"""``AudioCatalog`` over the fake database: the public audio list, read outside units of work as
the SQL catalog reads it (it sees what was committed, and, the fakes having no isolation, what a
unit of work has changed so far)."""

from __future__ import annotations

from sono.adapters.memory.repositories import FakeDatabase
from sono.adapters.memory.repositories.base import newest, page
from sono.application.audio.ports import OwnedAudio
from sono.application.common import Page
from sono.domain.audio import AudioFile
from sono.domain.library import LISTED_PUBLICLY, SongFacts


class FakeAudioCatalog:
    """The files ``LISTED_PUBLICLY`` (the specification the SQL catalog compiles), evaluated on
    each file's facts; newest first, each with its owner."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def public_page(self, *, skip: int, limit: int) -> Page[OwnedAudio]:
        users = self._database.users
        listed = newest([audio for audio in self._database.audio_files.values() if self._listed(audio)], "upload_date")
        files = page(listed, skip, limit)
        return Page([OwnedAudio(audio, users[audio.owner_id]) for audio in files.items], files.total, files.skip)

    def _listed(self, audio: AudioFile) -> bool:
        owner = self._database.users.get(audio.owner_id)
        return LISTED_PUBLICLY.holds(SongFacts(audio.owner_id, audio.is_public, owner is not None and owner.is_active))
