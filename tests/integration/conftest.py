"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sono.adapters.sqlalchemy import migrate
from sono.adapters.sqlalchemy.catalog import SqlAudioCatalog
from sono.adapters.sqlalchemy.collection_catalog import SqlCollectionCatalog
from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.reads import reads_for
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.application.audio.ports import AudioCatalog
from sono.application.collections.ports import CollectionCatalog
from sono.application.uow import UnitOfWorkFactory
from tests.fakes.catalog import FakeAudioCatalog, FakeCollectionCatalog
from tests.fakes.repositories import FakeDatabase
from tests.fakes.uow import FakeUnitOfWorkFactory


@pytest.fixture(autouse=True)
def patient_readiness(monkeypatch: pytest.MonkeyPatch) -> None:
    """A readiness check's first connection (the charts database's, say) may take a loaded machine
    longer than production's 2 s: here a check that answers is "ok" however long it takes. The
    test of the timeout sets its own."""
    monkeypatch.setattr("sono.entrypoints.http.health.controller.CHECK_TIMEOUT_SECONDS", 60.0)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The backends of the repository contract: None for the in-memory fakes, else a fresh migrated
    database."""
    if request.param == "memory":
        return None
    return request.getfixturevalue(f"{request.param}_migrated_url")


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


@pytest.fixture
async def audio_catalog(uows: UnitOfWorkFactory, database_url: str | None) -> AsyncIterator[AudioCatalog]:
    """The public audio list on the same backend as ``uows``: the fake over the fakes' database,
    else the SQL catalog on reads of its own, as bootstrap builds it."""
    if database_url is None:
        assert isinstance(uows, FakeUnitOfWorkFactory)
        yield FakeAudioCatalog(uows.database)
        return
    reads = reads_for(database_url)
    try:
        assert isinstance(uows, SqlUnitOfWorkFactory)
        yield SqlAudioCatalog(reads, uows.versions)  # kept while the units of work write nothing
    finally:
        await reads.close()


@pytest.fixture
async def collection_catalog(uows: UnitOfWorkFactory, database_url: str | None) -> AsyncIterator[CollectionCatalog]:
    """The collection lists and screens on the same backend as ``uows``: the fake over the fakes'
    database, else the SQL catalog on reads of its own, as bootstrap builds it."""
    if database_url is None:
        assert isinstance(uows, FakeUnitOfWorkFactory)
        yield FakeCollectionCatalog(uows.database)
        return
    reads = reads_for(database_url)
    try:
        assert isinstance(uows, SqlUnitOfWorkFactory)
        yield SqlCollectionCatalog(reads, uows.versions)
    finally:
        await reads.close()


# ------------------------------------------------------------------ the command line's environment


@pytest.fixture(scope="session")
def rsa_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small RSA key for the whole session, so each test does not generate its own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("rsa") / "key.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rsa_key_file: Path) -> Path:
    """A clean ``SONO_*`` environment on a fresh data directory; the working directory has no .env."""
    for name in list(os.environ):
        if name.startswith(("SONO_", "KWORB_")) and not name.startswith("SONO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    monkeypatch.setenv("SONO_DATA_DIR", str(data))
    monkeypatch.setenv("SONO_RSA_PRIVATE_KEY_FILE", str(rsa_key_file))
    monkeypatch.setenv("SONO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SONO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("SONO_LOG_LEVEL", "warning")
    return data
