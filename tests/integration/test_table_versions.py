"""The tables' versions (``sono.adapters.sqlalchemy.versions``), which tell the kept reads that a
table they were read from was written: by a commit of this process at once, by another process's
through the versions file (SQLite) or its notice (PostgreSQL); never by a rollback or a read; and
nothing is trusted while PostgreSQL's notices cannot be heard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.reads import reads_for
from sono.adapters.sqlalchemy.sessions import SqlSessionLookup
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.adapters.sqlalchemy.versions import (
    APPLICATION_NAME,
    EVERY_TABLE,
    FileVersions,
    ListenedVersions,
    TableVersions,
    versions_for,
    written_by,
)
from sono.domain.announcements import Announcement
from sono.domain.sessions import RefreshFamily
from sono.domain.users import User
from tests.fakes.metrics import RecordingMetrics

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
WAIT = 10  # seconds: a bound for a notice that must come (the test fails rather than hang)


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("INSERT INTO users (username) VALUES ($1) RETURNING users.id", "users"),
        ("insert or replace into consents (user_id) values (?)", "consents"),
        ('UPDATE "audio_files" SET title=? WHERE audio_files.id = ?', "audio_files"),
        ("DELETE FROM refresh_families WHERE refresh_families.expires_at < $1", "refresh_families"),
        ("WITH gone AS (DELETE FROM collection_tracks RETURNING id) SELECT count(*) FROM gone", EVERY_TABLE),
        ("TRUNCATE users", EVERY_TABLE),
        ("SELECT users.id FROM users WHERE users.id = $1 FOR UPDATE", None),
        ("SELECT * FROM audit_log WHERE detail LIKE '%UPDATE%'", None),
        ("BEGIN IMMEDIATE", None),
        ("PRAGMA foreign_keys=ON", None),
        ("SAVEPOINT sa_savepoint_1", None),
    ],
)
def test_the_table_a_statement_writes(statement: str, table: str | None) -> None:
    assert written_by(statement) == table


def test_a_versions_file_is_shared_by_every_process_that_maps_it(tmp_path: Path) -> None:
    path = tmp_path / "sono.db-versions"
    mine, theirs = FileVersions(path), FileVersions(path)  # two processes' maps of one file
    users, announcements = theirs.watch(["users"]), theirs.watch(["announcements"])
    assert FileVersions.slot("users") != FileVersions.slot("announcements")
    before = users.stamp(), announcements.stamp()

    mine.committed(frozenset({"users"}))

    assert users.stamp() != before[0]
    assert announcements.stamp() == before[1]
    moved = users.stamp()
    mine.committed(frozenset({EVERY_TABLE}))  # a statement whose table is not known moves every stamp
    assert users.stamp() != moved and announcements.stamp() != before[1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def listening(database_url: str) -> AsyncIterator[TableVersions]:
    """This process's versions, as a web server has them (PostgreSQL: listening, retrying at once),
    on a migrated database."""
    await migrate.upgrade(database_url)
    versions = versions_for(database_url)
    if isinstance(versions, ListenedVersions):
        versions = ListenedVersions(versions._dsn, retry_seconds=(0.0,))
        await versions.start()
        assert versions.listening
    yield versions
    if isinstance(versions, ListenedVersions):
        await versions.close()


@pytest.fixture
async def other_process(database_url: str, listening: TableVersions) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """Units of work of another process on the same database: they announce, they do not listen."""
    engine = create_engine(database_url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


async def heard(versions: TableVersions, notices: int) -> None:
    """Another process's commits have reached ``versions`` (at once on SQLite)."""
    if isinstance(versions, ListenedVersions):
        await asyncio.wait_for(versions.wait_for_notices(notices), WAIT)


async def test_a_commit_moves_the_versions_of_the_tables_it_wrote_and_nothing_else(
    listening: TableVersions, other_process: SqlUnitOfWorkFactory
) -> None:
    """Commits of units of work of another process: a write moves the written tables' stamps, not
    the others'; a rolled back write and a read-only unit of work move nothing."""
    uows = other_process
    users, announcements = listening.watch(["users"]), listening.watch(["announcements"])
    first = users.stamp(), announcements.stamp()
    async with uows() as uow:
        await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
        await uow.rollback()
    async with uows(read_only=True) as uow:
        assert await uow.users.get_by_login("alice") is None
        await uow.commit()
    async with uows() as uow:
        await uow.announcements.add(Announcement(title="t", content="c", created_date=NOW, updated_date=NOW))
        await uow.commit()
    await heard(listening, 1)
    assert users.stamp() == first[0]  # neither the rollback nor the read moved it
    assert announcements.stamp() != first[1]


async def test_a_kept_session_ends_everywhere_when_it_is_revoked_anywhere(
    database_url: str, listening: TableVersions, other_process: SqlUnitOfWorkFactory
) -> None:
    """The security property the kept sessions rest on: a session revoked by one server (logout,
    password change, deactivation) is over for every other server once its commit is known there."""
    uows = other_process
    reads = reads_for(database_url)
    metrics = RecordingMetrics()
    lookup = SqlSessionLookup(reads, listening, metrics=metrics)
    try:
        async with uows() as uow:
            user = await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
            assert user.id is not None
            await uow.families.add(RefreshFamily("fam", user.id, "j", NOW, NOW + timedelta(days=1)))
            await uow.commit()
        await heard(listening, 1)
        assert (await lookup.principal(user.id, "fam", NOW))[1] is True
        assert (await lookup.principal(user.id, "fam", NOW))[1] is True  # kept
        async with uows() as uow:
            family = await uow.families.get("fam")
            assert family is not None
            family.revoke(NOW, "logout")
            await uow.commit()
        await heard(listening, 2)
        kept_user, live = await lookup.principal(user.id, "fam", NOW)
        assert live is False and kept_user is not None
        async with uows() as uow:
            stored = await uow.users.get(user.id)
            assert stored is not None
            stored.is_active = False
            await uow.commit()
        await heard(listening, 3)
        deactivated, _ = await lookup.principal(user.id, "fam", NOW)
        assert deactivated is not None and deactivated.is_active is False
        assert [hit for name, hit in metrics.lookups if name == "sessions"] == [False, True, False, False]
    finally:
        await reads.close()


@pytest.mark.postgres
async def test_nothing_is_trusted_while_the_notices_cannot_be_heard(postgres_url: str) -> None:
    """PostgreSQL: no stamp (nothing kept) before listening and while the listening connection is
    lost; when it listens again, every stamp has moved (commits may have been missed meanwhile)."""
    await migrate.upgrade(postgres_url)
    template = versions_for(postgres_url)
    assert isinstance(template, ListenedVersions)
    versions = ListenedVersions(template._dsn, retry_seconds=(0.0,))
    users = versions.watch(["users"])
    assert users.stamp() is None
    await versions.start()
    try:
        before = users.stamp()
        assert before is not None
        pid = versions.backend_pid
        admin = await asyncpg.connect(template._dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await asyncio.wait_for(versions.wait_for_listening(2), WAIT)
        assert versions.backend_pid != pid
        after = users.stamp()
        assert after is not None and after != before
    finally:
        await versions.close()
    assert users.stamp() is None


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_a_command_listens_for_nothing_and_is_heard_by_the_servers(
    database_url: str, listening: TableVersions, tmp_path: Path
) -> None:
    """A container for one command (``listen=False``) opens no ``LISTEN`` connection of its own,
    and what it commits reaches the processes that listen; a server's container listens."""
    from sono.application.accounts.messages import Register
    from sono.application.common import PasswordInput
    from sono.application.messages import ANONYMOUS
    from sono.bootstrap import build_container
    from sono.config import load_settings

    settings = load_settings(
        {
            "SONO_DATA_DIR": str(tmp_path / "data"),
            "SONO_DATABASE_URL": database_url,
            "SONO_ARGON2_MEMORY_KIB": "1024",
            "SONO_ARGON2_TIME_COST": "1",
            "SONO_JOBS_ENABLED": "false",
        }
    )
    assert isinstance(listening, ListenedVersions)  # a server's
    admin = await asyncpg.connect(listening._dsn)

    async def listeners() -> int:
        count: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            APPLICATION_NAME,
        )
        return count

    try:
        assert await listeners() == 1  # this test's server
        users = listening.watch(["users"])
        before = users.stamp()
        command = await build_container(settings, listen=False)
        try:
            assert await listeners() == 1
            await command.bus(Register("carol", "carol@example.com", PasswordInput("Str0ng!Passw0rd")), ANONYMOUS)
        finally:
            await command.aclose()
        await heard(listening, 1)
        assert users.stamp() != before
        server = await build_container(settings)
        try:
            assert await listeners() == 2
        finally:
            await server.aclose()
    finally:
        await admin.close()


def test_a_process_listens_where_it_is_told() -> None:
    """Behind PgBouncer in transaction mode the notices are heard on the server itself."""
    versions = versions_for(
        "postgresql+asyncpg://sono:pw@pgbouncer:6432/sono", listen_url="postgresql+asyncpg://sono:pw@db:5432/sono"
    )
    assert isinstance(versions, ListenedVersions)
    assert versions._dsn == "postgresql://sono:pw@db:5432/sono"
    assert versions_for("postgresql+asyncpg://sono:pw@db:5432/sono")._dsn == "postgresql://sono:pw@db:5432/sono"  # type: ignore[union-attr]


async def test_a_migration_tells_every_process_that_everything_changed(
    database_url: str, listening: TableVersions
) -> None:
    """A migration rewrites tables outside the units of work: the processes running meanwhile drop
    whatever they keep (even a migration with nothing to do: it cannot tell what it changed)."""
    users = listening.watch(["users"])
    before = users.stamp()
    await migrate.upgrade(database_url)
    await heard(listening, 1)
    assert users.stamp() != before


async def test_a_restored_backup_tells_every_process_that_everything_changed(tmp_path: Path) -> None:
    from sono.adapters.backup import SqliteDatabaseBackup

    source, target = tmp_path / "backup.db", tmp_path / "sono.db"
    for path in (source, target):
        await migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    users = versions_for(f"sqlite+aiosqlite:///{target}").watch(["users"])
    before = users.stamp()
    await SqliteDatabaseBackup(target).restore_from(source)
    assert users.stamp() != before


def test_what_the_database_deletes_along_counts_as_written() -> None:
    """``ON DELETE`` actions write tables no statement names: deleting a user deletes their
    sessions, files and collections, and the tracks of those."""
    from sono.adapters.sqlalchemy.tables import metadata
    from sono.adapters.sqlalchemy.versions import Cascades

    cascades = Cascades(metadata)
    assert {"users", "refresh_families", "audio_files", "collections", "collection_tracks"} <= cascades({"users"})
    assert cascades({"collection_tracks"}) == {"collection_tracks"}
    assert "users" not in cascades({"audio_files"})


async def test_deleting_a_user_moves_the_tables_the_database_deletes_from(
    listening: TableVersions, other_process: SqlUnitOfWorkFactory
) -> None:
    uows = other_process
    sessions = listening.watch(["refresh_families"])
    async with uows() as uow:
        user = await uow.users.add(User("alice", "alice@example.com", "h", created_at=NOW))
        assert user.id is not None
        await uow.families.add(RefreshFamily("fam", user.id, "j", NOW, NOW + timedelta(days=1)))
        await uow.commit()
    await heard(listening, 1)
    before = sessions.stamp()
    async with uows() as uow:
        stored = await uow.users.get(user.id)
        assert stored is not None
        await uow.users.delete(stored)  # the sessions go with it, by the foreign key
        await uow.commit()
    await heard(listening, 2)
    assert sessions.stamp() != before
