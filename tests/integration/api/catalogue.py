"""Arranging a catalogue for the admin and announcement tests without the audio and collection
endpoints: rows written through a unit of work, objects put into the app's storage, and a counter
of the SQL statements the app runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from sono.application.accounts.messages import Register
from sono.application.common import PasswordInput
from sono.application.messages import ANONYMOUS
from sono.domain.audio import AudioFile
from sono.domain.collections import Collection, CollectionType
from sono.domain.media import AUDIO, COVERS, object_key
from tests.integration.api.conftest import PASSWORD, Api

NOW_TEXT = "2026-01-01T12:00:00Z"


async def new_user(api: Api, username: str, display_name: str | None = None) -> int:
    """A registered user (through the use case: the API's registration is rate limited)."""
    view = await api.container.bus(
        Register(username, f"{username}@example.com", PasswordInput(PASSWORD), display_name), ANONYMOUS
    )
    user = view.user
    assert user.id is not None
    return user.id


async def user_id(api: Api, username: str) -> int:
    async with api.uow() as uow:
        user = await uow.users.get_by_username(username)
        assert user is not None and user.id is not None
        return user.id


async def add_audio(
    api: Api, owner_id: int, title: str = "song", *, size: int = 1000, cover: bool = False
) -> AudioFile:
    """An audio file row and its stored object(s)."""
    storage = api.container.ports.storage
    key = object_key(AUDIO, owner_id, uuid.uuid4().hex, "mp3")
    await storage.put_bytes(key, b"\xff\xfb" + b"\0" * 62, "audio/mpeg")
    cover_key = None
    if cover:
        cover_key = object_key(COVERS, owner_id, uuid.uuid4().hex, "png")
        await storage.put_bytes(cover_key, b"\x89PNG", "image/png")
    audio = AudioFile(
        owner_id=owner_id,
        title=title,
        original_filename=f"{title}.mp3",
        storage_key=key,
        content_type="audio/mpeg",
        file_size=size,
        format="mp3",
        cover_art_key=cover_key,
    )
    async with api.uow() as uow:
        await uow.audio_files.add(audio)
        await uow.commit()
    return audio


async def add_collection(
    api: Api,
    owner_id: int,
    kind: CollectionType = CollectionType.PLAYLIST,
    *,
    public: bool = False,
    collaborative: bool = False,
    tracks: list[AudioFile] = (),  # type: ignore[assignment]
    **fields: Any,
) -> Collection:
    if kind == CollectionType.ALBUM:
        fields.setdefault("artist", "Someone")
    collection = Collection(
        owner_id=owner_id,
        title=f"{kind} of {owner_id}",
        collection_type=kind,
        is_public=public,
        is_collaborative=collaborative,
        **fields,
    )
    async with api.uow() as uow:
        await uow.collections.add(collection)
        if tracks:
            collection.add_tracks([t.id for t in tracks], now=api.container.ports.clock.now(), added_by_id=owner_id)
            await uow.collections.save(collection)
        await uow.commit()
    return collection


async def track_orders(api: Api, collection_id: int) -> list[tuple[int, int]]:
    """``(audio_file_id, track_order)`` of a collection, in order."""
    async with api.uow() as uow:
        collection = await uow.collections.get(collection_id)
        assert collection is not None
        return [(t.audio_file_id, t.track_order) for t in collection.tracks]


@contextmanager
def counting_statements(api: Api) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block (authentication reads its own
    connection, so only the use case's statements are counted)."""
    engine = api.container.ports.uow.engine.sync_engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")) and (
            "maintenance_state" not in statement  # cached per process: comes and goes with time
        ):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
