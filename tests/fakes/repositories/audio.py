"""Audio files, in memory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter

from sono.application.audio.ports import OwnedAudio
from sono.application.values import Page
from sono.domain.audio import AudioFile, SameContent
from tests.fakes.repositories.base import (
    FakeRepository,
    Unique,
    Where,
    fake_table,
    foreign_key,
    newest,
    page,
    repository,
    single,
)

fake_table(
    "audio_files",
    "audio_files",
    unique=[Unique("uq_audio_files_storage_key", single(attrgetter("storage_key")))],
    created="upload_date",
)
foreign_key("audio_files", "owner_id", "users")


@repository("audio_files")
class FakeAudioFileRepository(FakeRepository):
    async def add(self, audio: AudioFile) -> AudioFile:
        return self.session.insert(self.db.audio_files, audio)

    async def get(self, audio_id: int, *, for_update: bool = False) -> AudioFile | None:
        return self.session.get(self.db.audio_files, audio_id)

    async def hold(self, audio_ids: Iterable[int], *, exclusive: bool = False) -> set[int]:
        return {i for i in set(audio_ids) if self.session.get(self.db.audio_files, i) is not None}

    async def get_many(self, audio_ids: Sequence[int]) -> dict[int, AudioFile]:
        wanted = set(audio_ids)
        found = self.session.select(self.db.audio_files, lambda audio: audio.id in wanted)
        return {audio.id: audio for audio in found if audio.id is not None}

    async def delete(self, audio: AudioFile) -> None:
        self.session.delete(self.db.audio_files, audio)

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[AudioFile]:
        return page(self._newest(lambda audio: audio.owner_id == owner_id), skip, limit)

    async def listing(self, *, skip: int, limit: int, owner_id: int | None = None) -> Page[OwnedAudio]:
        files = page(self._newest(None if owner_id is None else lambda audio: audio.owner_id == owner_id), skip, limit)
        owned = []
        for audio in files.items:
            owner = self.session.get(self.db.users, audio.owner_id)
            assert owner is not None  # audio_files.owner_id references users
            owned.append(OwnedAudio(audio, owner))
        return Page(owned, files.total, files.skip)

    async def count_for_owner(self, owner_id: int) -> int:
        return len(self._of(owner_id))

    async def total_bytes_for_owner(self, owner_id: int) -> int:
        return sum(audio.file_size for audio in self._of(owner_id))

    async def ids_for_owner(self, owner_id: int) -> list[int]:
        return sorted(audio.id for audio in self._of(owner_id) if audio.id is not None)

    async def keys_for_owner(self, owner_id: int) -> list[str]:
        return [key for audio in sorted(self._of(owner_id), key=attrgetter("id")) for key in audio.stored_keys]

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        deleted = self.session.delete_where(self.db.audio_files, lambda audio: audio.owner_id == owner_id)
        return [key for audio in deleted for key in audio.stored_keys]

    async def contents(self, spec: SameContent) -> set[str]:
        return {
            audio.content_hash for audio in self.session.select(self.db.audio_files, spec.matches) if audio.content_hash
        }

    def _of(self, owner_id: int) -> list[AudioFile]:
        return [audio for audio in self.db.audio_files.values() if audio.owner_id == owner_id]

    def _newest(self, where: Where[AudioFile] | None = None) -> list[AudioFile]:
        return newest(self.session.select(self.db.audio_files, where), "upload_date")
