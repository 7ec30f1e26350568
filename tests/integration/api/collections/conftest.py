"""Collections over HTTP: helpers to arrange what the collections API does not make itself (audio
files are another feature's uploads: they are stored directly, row and object)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sono.domain.audio import AudioFile
from tests.integration.api.audio_support import counted_statements
from tests.integration.api.conftest import Account, Api, MakeApi

COLLECTIONS = "/api/v1/collections"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def audio_bytes(title: str) -> bytes:
    """Stand-in audio bytes (the collections never decode them), distinct per title."""
    return f"ID3 fake audio of {title} ".encode() * 64


@dataclass
class Library:
    """The API plus helpers to arrange users, audio files and collections."""

    api: Api

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    async def audio(self, owner: str, *titles: str, public: bool = False, duration: float | None = 60.0) -> list[int]:
        """Store audio files of ``owner`` (row and object); their ids, in order."""
        stored = []
        async with self.api.uow() as uow:
            user = await uow.users.get_by_username(owner)
            assert user is not None and user.id is not None
            for title in titles:
                data = audio_bytes(title)
                key = f"audio/{user.id}/{uuid.uuid4().hex}.mp3"
                audio = AudioFile(
                    owner_id=user.id,
                    title=title,
                    original_filename=f"{title}.mp3",
                    storage_key=key,
                    content_type="audio/mpeg",
                    file_size=len(data),
                    format="mp3",
                    duration=duration,
                    is_public=public,
                    upload_date=NOW,
                )
                await uow.audio_files.add(audio)
                stored.append((audio, data))
            await uow.commit()
        for audio, data in stored:
            await self.api.container.ports.storage.put_bytes(audio.storage_key, data, "audio/mpeg")
        return [audio.id for audio, _ in stored]  # type: ignore[misc]

    async def collection(self, owner: Account, **fields: Any) -> dict[str, Any]:
        body = {"title": "Mix", "collection_type": "playlist", "is_public": True} | fields
        response = await self.client.post(f"{COLLECTIONS}/", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def add(self, account: Account, collection_id: int, *audio_ids: int) -> list[dict[str, Any]]:
        response = await self.client.post(
            f"{COLLECTIONS}/{collection_id}/tracks/bulk-add",
            json={"audio_file_ids": list(audio_ids)},
            headers=account.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def share(self, owner: Account, collection_id: int, user: str, permission: str) -> None:
        response = await self.client.post(
            f"{COLLECTIONS}/{collection_id}/collaborators",
            json={"username": user, "permission_level": permission},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text

    async def get(self, collection_id: int, account: Account | None = None) -> httpx.Response:
        return await self.client.get(f"{COLLECTIONS}/{collection_id}", headers=account.headers if account else None)

    async def order(self, collection_id: int, account: Account) -> list[int]:
        """The audio file ids of the collection's tracks, checking their positions are 1..n."""
        response = await self.get(collection_id, account)
        assert response.status_code == 200, response.text
        tracks = response.json()["tracks"]
        assert [t["track_order"] for t in tracks] == list(range(1, len(tracks) + 1))
        return [t["audio_file_id"] for t in tracks]


@pytest.fixture
def library(api: Api) -> Library:
    return Library(api)


@pytest.fixture
async def crowd(make_api: MakeApi) -> Library:
    """A library without rate limits, for tests that register more users than a client may per
    minute."""
    return Library(await make_api(SONO_RATE_LIMITS_ENABLED="false"))


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        """Statements run (the maintenance switch's reads left out, see ``counted_statements``)."""
        return len(self.statements)


@contextmanager
def counting(api: Api) -> Iterator[StatementCounter]:
    """Count the SQL statements run meanwhile: on the app's engine, and on the connection of the
    fast reads (session lookups and the collection lists)."""
    counter = StatementCounter()
    with counted_statements(api, api.container.ports.collection_catalog) as statements:
        counter.statements = statements
        yield counter
