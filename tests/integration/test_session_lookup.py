"""The per-request session lookup agrees with the repositories on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.sessions import session_lookup_for
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.application.accounts.ports import SessionLookup
from sono.application.uow import UnitOfWorkFactory
from sono.domain.sessions import RefreshFamily
from sono.domain.users import User
from tests.fakes.sessions import FakeSessionLookup
from tests.fakes.uow import FakeUnitOfWorkFactory

CREATED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
async def backend(database_url: str | None) -> AsyncIterator[tuple[UnitOfWorkFactory, SessionLookup]]:
    if database_url is None:
        factory = FakeUnitOfWorkFactory()
        yield factory, FakeSessionLookup(factory.database)
        return
    url = database_url
    await migrate.upgrade(url)
    engine = create_engine(url)
    lookup = session_lookup_for(url)
    try:
        yield SqlUnitOfWorkFactory(engine), lookup
    finally:
        await lookup.close()  # type: ignore[attr-defined]
        await engine.dispose()


NOW = CREATED + timedelta(minutes=5)


async def test_finds_the_user_and_whether_the_session_is_live_in_one_call(
    backend: tuple[UnitOfWorkFactory, SessionLookup],
) -> None:
    uows, lookup = backend
    async with uows() as uow:
        user = await uow.users.add(
            User("alice", "alice@example.com", "hash", display_name="Alice", is_superuser=True, created_at=CREATED)
        )
        assert user.id is not None
        later = CREATED + timedelta(days=7)
        await uow.families.add(RefreshFamily("live", user.id, "j1", CREATED, later))
        ended = RefreshFamily("ended", user.id, "j2", CREATED, later)
        ended.revoke(CREATED, "logout")
        await uow.families.add(ended)
        await uow.families.add(RefreshFamily("expired", user.id, "j3", CREATED, CREATED + timedelta(minutes=1)))
        await uow.commit()

    found, live = await lookup.principal(user.id, "live", NOW)
    assert live
    assert found is not None
    assert (found.id, found.username, found.email, found.display_name) == (
        user.id,
        "alice",
        "alice@example.com",
        "Alice",
    )
    assert (found.is_active, found.is_superuser, found.token_version, found.max_audio_uploads) == (True, True, 0, 20)
    assert found.created_at == CREATED and found.created_at.tzinfo is not None
    assert found.deactivated_at is None

    for family in ("ended", "expired", "unknown"):
        found, live = await lookup.principal(user.id, family, NOW)
        assert found is not None and found.id == user.id and not live, family
    assert await lookup.principal(user.id + 1, "live", NOW) == (None, False)  # another user's session


async def test_sees_committed_changes_at_once(backend: tuple[UnitOfWorkFactory, SessionLookup]) -> None:
    uows, lookup = backend
    async with uows() as uow:
        user = await uow.users.add(User("bob", "bob@example.com", "hash", created_at=CREATED))
        await uow.commit()
    assert user.id is not None
    await lookup.principal(user.id, "family", NOW)
    async with uows() as uow:
        stored = await uow.users.get(user.id)
        assert stored is not None
        stored.is_active = False
        stored.end_all_sessions()
        await uow.commit()

    found, _ = await lookup.principal(user.id, "family", NOW)
    assert found is not None and not found.is_active and found.token_version == 1


async def test_finds_a_user_by_username_first_then_by_email(backend: tuple[UnitOfWorkFactory, SessionLookup]) -> None:
    uows, lookup = backend
    async with uows() as uow:
        alice = await uow.users.add(User("Alice", "Alice@Example.com", "hash", created_at=CREATED))
        # Someone whose username is another's email: the username wins, as in the repository.
        tricky = await uow.users.add(User("bob@example.com", "other@example.com", "hash", created_at=CREATED))
        await uow.users.add(User("bob", "Bob@Example.com", "hash", created_at=CREATED))
        await uow.commit()

    by_name = await lookup.user_by_login("alice")  # usernames compare case-insensitively
    by_email = await lookup.user_by_login("ALICE@example.COM")
    by_tricky_name = await lookup.user_by_login("BOB@example.com")

    assert by_name is not None and by_name.id == alice.id and by_name.username == "Alice"
    assert by_email is not None and by_email.id == alice.id
    assert by_tricky_name is not None and by_tricky_name.id == tricky.id
    assert await lookup.user_by_login("nobody") is None
    async with uows(read_only=True) as uow:
        for login in ("alice", "ALICE", "ALICE@example.COM", "bob@example.com", "bob", "nobody"):
            expected = await uow.users.get_by_login(login)
            found = await lookup.user_by_login(login)
            assert (found.id if found else None) == (expected.id if expected else None)
