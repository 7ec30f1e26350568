"""Alembic environment, async-aware and configured without an ini file.

``sono.adapters.sqlalchemy.migrate`` passes an open connection (``config.attributes["connection"]``);
otherwise the URL comes from ``config.attributes["sqlalchemy.url"]`` (or the ``sqlalchemy.url``
option of an ini file) and the migrations run on a fresh async engine. Logging is left to the
application: no ``fileConfig``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.tables import include_in_comparison, metadata

config = context.config


def _url() -> str:
    """The attribute set by ``sono db``, else the ini file's ``sqlalchemy.url``, else the database
    Sono's own settings name (``SONO_DATABASE_URL``, or the SQLite file in ``SONO_DATA_DIR``)."""
    url = config.attributes.get("sqlalchemy.url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from sono.config import load_dotenv_file, load_settings

        load_dotenv_file()
        url = load_settings().database_url
    return str(url)


def _configure(**options: Any) -> None:
    # SQLite DDL is transactional too: the engine emits BEGIN itself, so a failed migration rolls back.
    context.configure(
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        transactional_ddl=True,
        include_object=include_in_comparison,  # the library's text indexes are the migrations' alone
        **options,
    )


def run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (shared := config.attributes.get("connection")) is not None:
    run_migrations(shared)
else:
    asyncio.run(run_async_migrations())
