"""What the SQL unit of work makes of a race it lost at the database (the use cases hold what they
refer to, so these are the last line): a reference to a row that is gone is the ``NotFound`` of
that row, a deadlock a ``Conflict`` to try again; never a driver error (a 500)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.errors import RACE_LOST
from sono.adapters.sqlalchemy.migrate import upgrade
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.domain.audio import AudioFile
from sono.domain.errors import Conflict, NotFound
from sono.domain.users import User

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def factory(url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


def _user(name: str) -> User:
    return User(
        username=name,
        email=f"{name}@example.com",
        password_hash="x",
        is_active=True,
        is_superuser=False,
        max_audio_uploads=20,
        token_version=0,
        created_at=NOW,
    )


async def _users(factory: SqlUnitOfWorkFactory, *names: str) -> list[int]:
    async with factory() as uow:
        made = [await uow.users.add(_user(name)) for name in names]
        await uow.commit()
    return [user.id for user in made if user.id is not None]


async def test_a_reference_to_a_deleted_row_is_its_not_found(factory: SqlUnitOfWorkFactory) -> None:
    (gone,) = await _users(factory, "gone")
    async with factory() as uow:
        user = await uow.users.get(gone)
        assert user is not None
        await uow.users.delete(user)
        await uow.commit()

    async def insert() -> None:
        async with factory() as uow:
            await uow.audio_files.add(AudioFile(gone, "t", "t.mp3", "audio/x.mp3", "audio/mpeg", 1, "mp3"))
            await uow.commit()

    with pytest.raises(NotFound) as missing:
        await insert()
    if factory.engine.dialect.name == "postgresql":  # SQLite does not name the constraint
        assert missing.value.detail == "User not found"


async def test_holding_reports_what_exists(factory: SqlUnitOfWorkFactory) -> None:
    first, second = await _users(factory, "first", "second")
    async with factory() as uow:
        assert await uow.users.hold([second, first, 0, -1, 2**40, second + 100]) == {first, second}
        assert await uow.users.hold([first], exclusive=True) == {first}
        assert await uow.audio_files.hold([1, 2]) == set()


@pytest.mark.postgres
async def test_a_deadlock_is_a_conflict(postgres_url: str) -> None:
    await upgrade(postgres_url)
    engine = create_engine(postgres_url)
    factory = SqlUnitOfWorkFactory(engine)
    first, second = await _users(factory, "first", "second")
    both_locked = asyncio.Barrier(2)

    async def lock(one: int, other: int) -> None:
        async with factory() as uow:
            await uow.users.get(one, for_update=True)
            await both_locked.wait()
            await uow.users.get(other, for_update=True)
            await uow.commit()

    try:
        results = await asyncio.gather(lock(first, second), lock(second, first), return_exceptions=True)
    finally:
        await engine.dispose()
    failures = [result for result in results if isinstance(result, BaseException)]
    assert len(failures) == 1, results
    assert isinstance(failures[0], Conflict)
    assert failures[0].detail == RACE_LOST
