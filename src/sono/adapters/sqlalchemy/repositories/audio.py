"""Audio files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select

from sono.adapters.sqlalchemy.reads import Shape
from sono.adapters.sqlalchemy.repositories.base import SqlRepository, newest, repository
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.audio import audio_files
from sono.application.audio.ports import OwnedAudio
from sono.application.values import Page
from sono.domain.audio import AudioFile, SameContent
from sono.domain.users import User

_OWNER_COLUMNS = [column.label(f"sono_owner_{column.name}") for column in users.c]
_TOTAL = func.count().over().label("sono_total")
_AUDIO = Shape(AudioFile, audio_files.c)  # the listing's rows: the file's columns, its owner's, the count
_OWNER = Shape(User, users.c, len(audio_files.c))


@repository("audio_files")
class SqlAudioFileRepository(SqlRepository):
    _newest_first = newest(audio_files.c.upload_date, audio_files.c.id)

    async def add(self, audio: AudioFile) -> AudioFile:
        return await self._insert(audio)

    async def get(self, audio_id: int, *, for_update: bool = False) -> AudioFile | None:
        if for_update:
            return await self.session.get(AudioFile, audio_id, with_for_update=True, populate_existing=True)
        return await self.session.get(AudioFile, audio_id)

    async def hold(self, audio_ids: Iterable[int], *, exclusive: bool = False) -> set[int]:
        return await self._hold(audio_files, audio_ids, exclusive=exclusive)

    async def get_many(self, audio_ids: Sequence[int]) -> dict[int, AudioFile]:
        if not audio_ids:
            return {}
        found = await self._all(select(AudioFile).where(audio_files.c.id.in_(list(audio_ids))))
        return {audio.id: audio for audio in found if audio.id is not None}

    async def delete(self, audio: AudioFile) -> None:
        await self._delete(audio)

    async def list_for_owner(self, owner_id: int, *, skip: int, limit: int) -> Page[AudioFile]:
        statement = select(AudioFile).where(audio_files.c.owner_id == owner_id)
        return await self._page(statement, self._newest_first, skip, limit)

    async def listing(self, *, skip: int, limit: int, owner_id: int | None = None) -> Page[OwnedAudio]:
        """One statement: the page's rows with their owners' columns and the list's length (a
        window count), read without the ORM's identity map (the entries are detached, read-only
        objects). A page past the end counts separately."""
        statement = select(*audio_files.c, *_OWNER_COLUMNS, _TOTAL).join(users, users.c.id == audio_files.c.owner_id)
        if owner_id is not None:
            statement = statement.where(audio_files.c.owner_id == owner_id)
        rows = (await self.session.execute(statement.order_by(*self._newest_first).offset(skip).limit(limit))).all()
        items = [OwnedAudio(_AUDIO.build(row), _OWNER.build(row)) for row in rows]
        if rows:
            return Page(items, rows[0].sono_total, skip)
        return Page(items, await self._count(statement.with_only_columns(audio_files.c.id)) if skip else 0, skip)

    async def count_for_owner(self, owner_id: int) -> int:
        count = select(func.count()).select_from(audio_files).where(audio_files.c.owner_id == owner_id)
        return await self.session.scalar(count) or 0

    async def total_bytes_for_owner(self, owner_id: int) -> int:
        total = select(func.coalesce(func.sum(audio_files.c.file_size), 0)).where(audio_files.c.owner_id == owner_id)
        return int(await self.session.scalar(total) or 0)

    async def ids_for_owner(self, owner_id: int) -> list[int]:
        ids = select(audio_files.c.id).where(audio_files.c.owner_id == owner_id).order_by(audio_files.c.id)
        return list(await self.session.scalars(ids))

    async def keys_for_owner(self, owner_id: int) -> list[str]:
        statement = (
            select(audio_files.c.storage_key, audio_files.c.cover_art_key)
            .where(audio_files.c.owner_id == owner_id)
            .order_by(audio_files.c.id)
        )
        rows = await self.session.execute(statement)
        return [key for row in rows for key in row if key is not None]

    async def delete_for_owner(self, owner_id: int) -> list[str]:
        statement = (
            delete(AudioFile)
            .where(audio_files.c.owner_id == owner_id)
            .returning(audio_files.c.storage_key, audio_files.c.cover_art_key)
        )
        result = await self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return [key for row in result for key in row if key is not None]

    async def contents(self, spec: SameContent) -> set[str]:
        """``SameContent.matches`` as SQL, on the (owner_id, content_hash) index."""
        if not spec.content_hashes:
            return set()
        statement = (
            select(audio_files.c.content_hash)
            .where(audio_files.c.owner_id == spec.owner_id, audio_files.c.content_hash.in_(sorted(spec.content_hashes)))
            .distinct()
        )
        return set(await self.session.scalars(statement))
