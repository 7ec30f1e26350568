"""The Alembic history on SQLite and PostgreSQL: up, down, up again, concurrently, and in step with
``sono.adapters.sqlalchemy.tables``."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.tables import include_in_comparison, is_migration_only, metadata

ALL_TABLES = {*metadata.tables, "alembic_version"}
HEAD = max(p.name.split("_", 1)[0] for p in (migrate.migrations_dir() / "versions").glob("[0-9]*.py"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            return {name for name in names if not is_migration_only(name)}  # the library's FTS5 tables
    finally:
        await engine.dispose()


def test_the_migrations_are_found_in_the_source_checkout() -> None:
    assert migrate.migrations_dir() == Path(__file__).resolve().parents[2] / "migrations"


async def test_upgrade_downgrade_and_upgrade_again(database_url: str) -> None:
    assert await migrate.current(database_url) is None
    assert not await migrate.check_at_head(database_url)

    await migrate.upgrade(database_url)
    assert await migrate.current(database_url) == HEAD
    assert await migrate.check_at_head(database_url)
    assert await table_names(database_url) == ALL_TABLES
    await migrate.upgrade(database_url)  # already at head: nothing to do

    await migrate.downgrade(database_url, "base")
    assert await migrate.current(database_url) is None
    assert await table_names(database_url) == {"alembic_version"}

    await migrate.upgrade(database_url, "0001")
    assert not await migrate.check_at_head(database_url)
    await migrate.upgrade(database_url)
    assert await migrate.check_at_head(database_url)
    assert await table_names(database_url) == ALL_TABLES


async def test_the_migrations_build_the_schema_the_tables_describe(database_url: str) -> None:
    await migrate.upgrade(database_url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_comparison}
        )
        with warnings.catch_warnings():  # SQLite cannot reflect the expression index on lower(email)
            warnings.simplefilter("ignore")
            return list(compare_metadata(context, metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


@pytest.mark.parametrize("path", [["head"], ["0001", "head"], ["head", "0001", "head"]], ids=lambda p: "-".join(p))
async def test_emails_and_usernames_stay_unique_case_insensitively(database_url: str, path: list[str]) -> None:
    """The expression indexes survive every migration (SQLite rebuilds tables in batch mode)."""
    for revision in path:
        if revision == "0001" and await migrate.current(database_url) == HEAD:
            await migrate.downgrade(database_url, revision)
        else:
            await migrate.upgrade(database_url, revision)
    engine = create_engine(database_url)
    insert = text(
        "INSERT INTO users (username, email, password_hash, is_active, is_superuser, max_audio_uploads, token_version)"
        " VALUES (:username, :email, 'h', true, false, 20, 0)"
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(insert, {"username": "alice", "email": "alice@example.com"})
        for clash in ({"username": "bob", "email": "ALICE@example.com"}, {"username": "ALICE", "email": "b@x.io"}):
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(insert, clash)
    finally:
        await engine.dispose()


async def test_concurrent_upgrades_all_succeed(database_url: str) -> None:
    await asyncio.gather(*(migrate.upgrade(database_url) for _ in range(3)))
    assert await migrate.check_at_head(database_url)


@pytest.mark.slow
async def test_concurrent_upgrades_from_several_processes_all_succeed(database_url: str) -> None:
    script = (
        "import asyncio, sys; from sono.adapters.sqlalchemy import migrate; asyncio.run(migrate.upgrade(sys.argv[1]))"
    )
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, database_url, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    results = [(await process.wait(), (await process.stderr.read()).decode()) for process in processes]  # type: ignore[union-attr]
    assert [code for code, _ in results] == [0, 0, 0], results
    assert await migrate.check_at_head(database_url)


@pytest.mark.postgres
async def test_upgrade_waits_for_the_advisory_lock(postgres_url: str) -> None:
    import asyncpg

    holder = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", 0x736F6E6F)
        upgrade = asyncio.create_task(migrate.upgrade(postgres_url))
        # wait (event-driven, with a failure guard) until the upgrade is queued behind our lock
        waiting = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        async with asyncio.timeout(60):
            while not await holder.fetchval(waiting, 0x736F6E6F):
                assert not upgrade.done(), "the upgrade did not wait for the lock"
                await asyncio.sleep(0.01)  # polling pace
        assert not upgrade.done()
        assert await migrate.current(postgres_url) is None  # nothing migrated behind the lock
        await holder.execute("SELECT pg_advisory_unlock($1)", 0x736F6E6F)
        await asyncio.wait_for(upgrade, timeout=30)
    finally:
        await holder.close()
    assert await migrate.check_at_head(postgres_url)


async def test_migrating_leaves_the_logging_configuration_alone(sqlite_url: str) -> None:
    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("sono").disabled)
    await migrate.upgrade(sqlite_url)
    assert (root.level, list(root.handlers), logging.getLogger("sono").disabled) == before


async def test_new_migrations_are_numbered_after_the_head(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sono db revision``: an empty file to write by hand, or one autogenerated from the tables
    (empty too while the migrations and the tables agree)."""
    import shutil

    from sono.entrypoints.cli import main

    copy = tmp_path / "migrations"
    shutil.copytree(migrate.migrations_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "migrations_dir", lambda: copy)
    await migrate.upgrade(sqlite_url)

    written = await migrate.revision(sqlite_url, "Add the things", autogenerate=True)

    after, next_after = f"{int(HEAD) + 1:04d}", f"{int(HEAD) + 2:04d}"
    assert written == copy / "versions" / f"{after}_add_the_things.py"
    text = written.read_text()
    assert f"revision: str = '{after}'" in text and f"down_revision: str | None = '{HEAD}'" in text
    assert "def upgrade() -> None:\n    # ### commands auto generated by Alembic - please adjust! ###\n    pass" in text
    for name in [name for name in os.environ if name.startswith(("SONO_", "KWORB_"))]:
        monkeypatch.delenv(name)  # the command reads its settings from the environment only
    monkeypatch.chdir(tmp_path)  # and from a .env file in the working directory: none here
    monkeypatch.setenv("SONO_DATABASE_URL", sqlite_url.replace("+aiosqlite", ""))
    code = await asyncio.to_thread(main, ["db", "revision", "-m", "by hand"])
    assert code == 0, capsys.readouterr().err
    assert (copy / "versions" / f"{next_after}_by_hand.py").is_file()
    assert "created: " in capsys.readouterr().out
