"""Run the Alembic migrations from code, without an ini file.

The migrations live in ``<repo>/migrations`` in a source checkout and in ``sono/_migrations`` in
a wheel. On PostgreSQL, ``upgrade`` and ``downgrade`` hold a session-level advisory lock so that
instances starting together migrate one after the other; on SQLite the write lock does the same.
Within a process they also take turns, as Alembic keeps its running context in module globals.
"""

from __future__ import annotations

import asyncio
import warnings
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, make_url, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncConnection

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.versions import announce_everything, rewritten

_LOCK_KEY = 0x736F6E6F  # "sono"
_process_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def migrations_dir() -> Path:
    package = Path(__file__).resolve().parents[2]  # .../sono
    for candidate in (package / "_migrations", package.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(f"no Alembic migrations beside {package}")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    config.attributes["sqlalchemy.url"] = url
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda config: command.downgrade(config, revision))


async def revision(url: str, message: str, *, autogenerate: bool = False) -> Path:
    """Write a new migration file after the current head, numbered after it (``0003_<slug>.py``).
    With ``autogenerate`` Alembic fills it with the differences between the database at ``url``
    (which must be at head) and the tables of ``sono.adapters.sqlalchemy.tables``; otherwise it is
    empty. Returns the file's path."""
    config = alembic_config(url)
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; merge them first")
    number = int(heads[0]) + 1 if heads[0].isdigit() else None
    written: list[Path] = []

    def write(config: Config) -> None:
        script = command.revision(
            config,
            message=message,
            autogenerate=autogenerate,
            rev_id=f"{number:04d}" if number is not None else None,
        )
        scripts = script if isinstance(script, list) else [script]
        written.extend(Path(s.path) for s in scripts if s is not None)

    if autogenerate:
        await _run(url, write)
    else:
        write(config)
    return written[0]


def missing_database(url: str) -> Path | None:
    """The file of a SQLite database that does not exist yet (connecting would create it, and its
    folder), else None. Commands that only read use it to say so instead of creating state."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path.resolve()


async def current(url: str) -> str | None:
    """The revision the database is at (None before the first migration)."""
    async with _connect(url) as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def check_at_head(url: str) -> bool:
    """Whether every migration has been applied."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    async with _connect(url) as connection:
        applied = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    return set(applied) == heads


async def _run(url: str, alembic_command: Callable[[Config], None]) -> None:
    config = alembic_config(url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        alembic_command(config)

    process_lock = _process_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with process_lock, _connect(url) as connection, _database_lock(connection):
        with warnings.catch_warnings():  # SQLite's batch mode reflects tables; expression indexes are recreated by hand
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
            await connection.run_sync(run)
        await announce_everything(connection)  # running servers drop what they keep
        await connection.commit()
    rewritten(url)


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


@asynccontextmanager
async def _database_lock(connection: AsyncConnection) -> AsyncIterator[None]:
    if connection.dialect.name != "postgresql":
        yield
        return
    await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
    await connection.commit()
    try:
        yield
    finally:
        await connection.rollback()  # a failed migration leaves its transaction to end first
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
        await connection.commit()
