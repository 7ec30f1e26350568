"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sono.adapters.memory.repositories import FakeDatabase
from sono.adapters.memory.uow import FakeUnitOfWorkFactory
from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.application.uow import UnitOfWorkFactory


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The backends of the repository contract: None for the in-memory fakes, else a fresh database."""
    if request.param == "memory":
        return None
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
async def uows(database_url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on the fakes (checking references, as the database does), on SQLite or on
    PostgreSQL: one contract, three backends."""
    if database_url is None:
        yield FakeUnitOfWorkFactory(FakeDatabase(check_references=True))
        return
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()
