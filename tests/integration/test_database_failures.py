"""The database failing: refused, hanging or too slow is a 503 (never a 500 or a hang) and heals
by itself; and no error ever puts a bound value in the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.errors import DATABASE_UNAVAILABLE, DatabaseError
from sono.adapters.sqlalchemy.migrate import upgrade
from sono.adapters.sqlalchemy.sessions import session_lookup_for
from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
from sono.bootstrap import build_container
from sono.config import load_settings
from sono.domain.errors import Conflict, ServiceUnavailable
from sono.domain.users import User
from sono.entrypoints.http.app import create_app
from tests.integration.tcp_proxy import TcpProxy

PASSWORD = "Str0ng!Passw0rd"
GUARD_SECONDS = 60  # fails the test instead of hanging it; nothing here should come near it
T = TypeVar("T")


async def guarded(call: Awaitable[T]) -> T:
    return await asyncio.wait_for(call, GUARD_SECONDS)


def _via(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[TcpProxy]:
    target = make_url(postgres_url)
    started = await TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    yield started
    await started.close()


@asynccontextmanager
async def _client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        {
            "SONO_DATA_DIR": str(tmp_path / "data"),
            "SONO_DATABASE_URL": database_url,
            "SONO_DB_CONNECT_TIMEOUT": "0.5",
            "SONO_DB_STATEMENT_TIMEOUT": "0.5",
            "SONO_ARGON2_MEMORY_KIB": "1024",
            "SONO_ARGON2_TIME_COST": "1",
            "SONO_JOBS_ENABLED": "false",
            "SONO_RATE_LIMITS_ENABLED": "false",
        }
    )
    container = await build_container(settings)
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client
    finally:
        await container.aclose()


async def _register(client: httpx.AsyncClient, username: str) -> httpx.Response:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    return await guarded(client.post("/api/v1/users/", json=body))


async def _login(client: httpx.AsyncClient, username: str) -> httpx.Response:
    return await guarded(client.post("/api/v1/users/token", data={"username": username, "password": PASSWORD}))


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": DATABASE_UNAVAILABLE}


# --------------------------------------------------------------------------- unavailable: 503


@pytest.mark.postgres
async def test_refused_or_hanging_database_answers_503_and_recovers(
    tmp_path: Path, postgres_url: str, proxy: TcpProxy
) -> None:
    await upgrade(postgres_url)
    async with _client(tmp_path, _via(postgres_url, proxy.port)) as client:
        assert (await _register(client, "alice")).status_code == 201
        assert (await _login(client, "alice")).status_code == 200

        await proxy.set_mode("refuse")
        _assert_unavailable(await _register(client, "bob"))
        _assert_unavailable(await _login(client, "alice"))

        await proxy.set_mode("forward")  # back: no restart needed
        assert (await _register(client, "bob")).status_code == 201
        assert (await _login(client, "bob")).status_code == 200

        await proxy.set_mode("hang")
        _assert_unavailable(await _register(client, "carol"))
        _assert_unavailable(await _login(client, "alice"))

        await proxy.set_mode("forward")
        assert (await _register(client, "carol")).status_code == 201
        assert (await _login(client, "alice")).status_code == 200


@pytest.mark.postgres
async def test_web_requests_get_their_503_within_the_request_bound_of_a_hung_database(
    tmp_path: Path, postgres_url: str, proxy: TcpProxy
) -> None:
    """The web server's database waits are bounded by SONO_DB_REQUEST_TIMEOUT, whatever the
    statement and connect timeouts (here an hour, for jobs and migrations): the pool's checkout, its
    liveness ping, a reconnection and each statement. Without that bound these requests would
    wait out the guard."""
    await upgrade(postgres_url)
    settings = load_settings(
        {
            "SONO_DATA_DIR": str(tmp_path / "data"),
            "SONO_DATABASE_URL": _via(postgres_url, proxy.port),
            "SONO_DB_CONNECT_TIMEOUT": "3600",
            "SONO_DB_STATEMENT_TIMEOUT": "3600",
            "SONO_DB_REQUEST_TIMEOUT": "1",
            "SONO_ARGON2_MEMORY_KIB": "1024",
            "SONO_ARGON2_TIME_COST": "1",
            "SONO_JOBS_ENABLED": "false",
            "SONO_RATE_LIMITS_ENABLED": "false",
        }
    )
    container = await build_container(settings, for_requests=True)
    try:
        transport = httpx.ASGITransport(create_app(settings, container=container))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            assert (await _register(client, "alice")).status_code == 201
            token = (await _login(client, "alice")).json()["access_token"]
            me = {"Authorization": f"Bearer {token}"}
            assert (await guarded(client.get("/api/v1/users/me", headers=me))).status_code == 200

            await proxy.set_mode("hang")
            _assert_unavailable(await _register(client, "bob"))  # a unit of work
            _assert_unavailable(await _login(client, "alice"))
            # the kept session answers until the process notices that the database went silent
            # (its listening connection misses a heartbeat), then the hot reads are read again
            versions = container.ports.uow.versions  # type: ignore[attr-defined]
            await asyncio.wait_for(versions.wait_until(lambda: not versions.listening), 10)
            _assert_unavailable(await guarded(client.get("/api/v1/users/me", headers=me)))  # the hot reads
            busy = await guarded(asyncio.gather(*(_register(client, f"user{i}") for i in range(12))))
            for response in busy:  # more than the reads' and the engine's pools hold at once
                _assert_unavailable(response)

            await proxy.set_mode("forward")
            assert (await _register(client, "carol")).status_code == 201
            assert (await guarded(client.get("/api/v1/users/me", headers=me))).status_code == 200
    finally:
        await container.aclose()


@pytest.mark.postgres
async def test_statement_timeout_answers_503(tmp_path: Path, postgres_url: str) -> None:
    """A statement stuck behind a lock for longer than SONO_DB_STATEMENT_TIMEOUT is cancelled."""
    await upgrade(postgres_url)
    async with _client(tmp_path, postgres_url) as client:
        assert (await _register(client, "alice")).status_code == 201
        holder = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            _assert_unavailable(await _register(client, "bob"))
            _assert_unavailable(await _login(client, "alice"))
            await transaction.rollback()
        finally:
            await holder.close()
        assert (await _register(client, "bob")).status_code == 201
        assert (await _login(client, "alice")).status_code == 200


@pytest.mark.postgres
async def test_session_lookup_unavailable_and_back(postgres_url: str, proxy: TcpProxy) -> None:
    await upgrade(postgres_url)
    lookup = session_lookup_for(_via(postgres_url, proxy.port), connect_timeout=0.5, statement_timeout=0.5)
    try:
        assert await guarded(lookup.user_by_login("nobody")) is None
        for mode in ("refuse", "hang"):
            await proxy.set_mode(mode)
            with pytest.raises(ServiceUnavailable) as caught:
                await guarded(lookup.user_by_login("nobody"))
            assert caught.value.detail == DATABASE_UNAVAILABLE
            await proxy.set_mode("forward")
            assert await guarded(lookup.user_by_login("nobody")) is None
    finally:
        await lookup.close()


@pytest.mark.postgres
async def test_unit_of_work_on_a_database_that_is_not_there(postgres_url: str, proxy: TcpProxy) -> None:
    await upgrade(postgres_url)
    await proxy.set_mode("refuse")
    engine = create_engine(_via(postgres_url, proxy.port), connect_timeout=0.5, statement_timeout=0.5)
    try:
        with pytest.raises(ServiceUnavailable, match=DATABASE_UNAVAILABLE):
            async with SqlUnitOfWorkFactory(engine)(read_only=True) as uow:
                await guarded(uow.users.get_by_username("alice"))
    finally:
        await engine.dispose()


async def test_storage_failures_inside_a_unit_of_work_are_not_database_failures(sqlite_url: str) -> None:
    """Only the database's own failures become "Database unavailable"."""
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)

    async def store_fails_midway() -> None:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await uow.users.get_by_username("alice")
            raise ConnectionResetError("the object store hung up")

    try:
        with pytest.raises(ConnectionResetError):
            await store_fails_midway()
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- no values in logs

SECRET_HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0c2FsdA$Zm9yYmlkZGVuLWhhc2gtdmFsdWU"
SECRET_EMAIL = "never-logged-7f3a@example.com"
SECRET_USERNAME = "never_logged_user_7f3a"
TOO_BIG_ID = 2**52 + 12345  # out of the id column's range: asyncpg quotes it
SECRETS = (SECRET_HASH, SECRET_EMAIL, SECRET_USERNAME, "never-logged", "never_logged", "argon2id", "Zm9yYmlkZGVu")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    return url


def _user(**fields: Any) -> User:
    values: dict[str, Any] = {"username": SECRET_USERNAME, "email": SECRET_EMAIL, "password_hash": SECRET_HASH}
    return User(**(values | fields))


def _assert_no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    assert caplog.records, "the failures were logged"
    for record in caplog.records:
        texts = [formatter.format(record), str(record.msg), repr(record.args)]
        for secret in SECRETS:
            assert not any(secret in t for t in texts), (secret, texts)


async def test_database_errors_never_log_bound_values(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("sono.test")
    await upgrade(database_url)
    engine = create_engine(database_url, statement_timeout=5)
    uow_factory = SqlUnitOfWorkFactory(engine)
    caplog.set_level(logging.DEBUG)

    async def insert(user: User) -> None:
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()

    try:
        await insert(_user())

        # a duplicate: PostgreSQL's DETAIL quotes the email
        with pytest.raises(Conflict) as conflict:
            await insert(_user(username="someone_else"))
        log.error("conflict", exc_info=conflict.value)

        # a NOT NULL violation: PostgreSQL's DETAIL quotes the whole row (hash, email, username)
        with pytest.raises(Exception) as failing_row:  # noqa: PT011 - any error, as long as it says nothing
            await insert(_user(username=SECRET_USERNAME + "2", email="x" + SECRET_EMAIL, is_active=None))
        log.error("insert failed", exc_info=failing_row.value)

        # SQLAlchemy would show the parameters; PostgreSQL's drivers quote a value they cannot cast
        statements = ["SELECT :value FROM no_such_table"]
        if engine.dialect.name == "postgresql":
            statements += ["SELECT CAST(:value AS INTEGER)", "SELECT CAST(CAST(:value AS TEXT) AS INTEGER)"]
        for statement in statements:
            with pytest.raises(Exception) as failed:  # noqa: PT011
                async with uow_factory(read_only=True) as uow:
                    await uow.session.execute(text(statement), {"value": SECRET_HASH})
            log.error("query failed", exc_info=failed.value)
    finally:
        await engine.dispose()
    _assert_no_secret_logged(caplog)


@pytest.mark.postgres
async def test_session_lookup_errors_never_log_bound_values(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await upgrade(postgres_url)
    lookup = session_lookup_for(postgres_url)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011
            await lookup.principal(TOO_BIG_ID, SECRET_HASH)
    finally:
        await lookup.close()
    logging.getLogger("sono.test").error("lookup failed", exc_info=caught.value)
    assert str(TOO_BIG_ID) not in logging.Formatter().format(caplog.records[-1])
    _assert_no_secret_logged(caplog)


async def test_sqlite_session_lookup_errors_leave_as_database_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not SQLite " * 100)
    lookup = session_lookup_for(f"sqlite+aiosqlite:///{garbage}")
    try:
        with pytest.raises(DatabaseError, match="DatabaseError"):
            await lookup.user_by_login(SECRET_EMAIL)
    finally:
        await lookup.close()
