"""The HTTP API end to end (through ASGI, in-process), on each backend: SQLite with in-process
stores, and PostgreSQL with Redis. Every test gets a fresh database, data directory and rate limiter.

``make_api(**env)`` builds an app with extra settings (``SONO_*`` variables); ``api`` is the
default one. The ``Api`` helper registers and logs in users, encrypts passwords like a client does
and reads the reset emails from the outbox."""

from __future__ import annotations

import base64
import email
import email.policy
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from litestar import Litestar

from sono.adapters.sqlalchemy.engine import create_engine
from sono.adapters.sqlalchemy.migrate import upgrade
from sono.adapters.sqlalchemy.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from sono.application.accounts.messages import CreateAdmin
from sono.application.common import PasswordInput
from sono.application.messages import Actor
from sono.bootstrap import Container, build_container
from sono.config import Settings, load_settings
from sono.entrypoints.http.app import create_app
from tests.conftest import migrated_sqlite
from tests.delivery import Deliveries

PASSWORD = "Str0ng!Passw0rd"
BASE_URL = "http://testserver.local"
_RESET_LINK = re.compile(r"/reset-password\?token=([^\s\"'<>&]+)")


@dataclass
class Account:
    username: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def local_url(url: str) -> str:
    """A URL the API returned, as a path and query the test client can fetch."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@dataclass
class Api:
    app: Litestar
    client: httpx.AsyncClient
    container: Container
    settings: Settings

    async def register(
        self, username: str, *, email: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> httpx.Response:
        body = {"username": username, "email": email or f"{username}@example.com", "password": password}
        headers = extra.pop("headers", None)
        return await self.client.post("/api/v1/users/", json=body | extra, headers=headers)

    async def login(self, login: str, password: str = PASSWORD, **kwargs: Any) -> httpx.Response:
        return await self.client.post("/api/v1/users/token", data={"username": login, "password": password}, **kwargs)

    async def account(self, username: str, *, password: str = PASSWORD, admin: bool = False) -> Account:
        """A registered and logged-in user (admins are made through the use case: there is no API
        to become one)."""
        address = f"{username}@example.com"
        if admin:
            await self.container.bus(CreateAdmin(username, address, PasswordInput(password)), Actor.operator())
        else:
            response = await self.register(username, email=address, password=password)
            assert response.status_code == 201, response.text
        response = await self.login(username, password)
        assert response.status_code == 200, response.text
        tokens = response.json()
        return Account(username, address, password, tokens["access_token"], tokens["refresh_token"])

    async def encrypt(self, password: str) -> str:
        """RSA-OAEP-256 with the API's public key, standard base64: what a client sends."""
        response = await self.client.get("/api/v1/users/public-key")
        key = serialization.load_pem_public_key(response.json()["public_key"].encode())
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        return base64.b64encode(key.encrypt(password.encode(), oaep)).decode()  # type: ignore[union-attr]

    async def deliver(self) -> int:
        """Run every due reaction to the domain events committed so far (what ``sono worker`` does
        shortly after), as often as they publish more; how many were delivered."""
        delivered = 0
        while (done := await Deliveries(self.container.bus, self.container.ports.tracer).run_due(1000)).total:
            delivered += done.total
        return delivered

    def outbox(self) -> list[EmailMessage]:
        """The emails sent so far, oldest first."""
        files = sorted(Path(self.settings.outbox_dir).glob("*.eml"))
        return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]

    def last_reset_token(self) -> str:
        message = self.outbox()[-1]
        assert message["Subject"] == "Password Reset Request - Sono"
        body = message.get_body(("plain",))
        assert body is not None
        match = _RESET_LINK.search(body.get_content())
        assert match, body.get_content()
        return unquote(match.group(1))

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[SqlUnitOfWork]:
        """A unit of work on the app's database, for arranging what the API cannot (on an engine
        of its own; its commits move the app's table versions, as the app's own do)."""
        engine = create_engine(self.settings.database_url)
        app_uows = self.container.ports.uow
        assert isinstance(app_uows, SqlUnitOfWorkFactory)
        try:
            async with SqlUnitOfWorkFactory(engine, versions=app_uows.versions)() as uow:
                yield uow
        finally:
            await engine.dispose()

    async def set_active(self, username: str, active: bool) -> None:
        async with self.uow() as uow:
            user = await uow.users.get_by_username(username)
            assert user is not None
            user.is_active = active
            await uow.commit()


MakeApi = Callable[..., Awaitable[Api]]


def http_client(app: Litestar, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client calling the app in this event loop, as if from ``peer``. (Litestar's test client
    runs the app in a thread with its own loop, where the container's connection pools, made
    in this loop, cannot be used.)"""
    transport = httpx.ASGITransport(app, client=(peer, 50000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def backend_env(request: pytest.FixtureRequest, tmp_path: Path, rsa_key_file: Path) -> dict[str, str]:
    """The settings of a fresh deployment: its database already migrated (a copy of the session's
    migrated SQLite, or the worker's PostgreSQL database put back as migrated), and the session's
    RSA key rather than a 4096-bit one generated for each test."""
    env = {
        "SONO_DATA_DIR": str(tmp_path / "data"),
        "SONO_PUBLIC_URL": BASE_URL,
        "SONO_ARGON2_MEMORY_KIB": "1024",
        "SONO_ARGON2_TIME_COST": "1",
        "SONO_JOBS_ENABLED": "false",
        "SONO_RSA_PRIVATE_KEY_FILE": str(rsa_key_file),
    }
    if request.param == "postgres":
        env["SONO_DATABASE_URL"] = request.getfixturevalue("postgres_migrated_url")
        env["SONO_REDIS_URL"] = request.getfixturevalue("redis_clean_url")
    else:  # the data directory's database, as the settings derive it
        migrated_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "data" / "sono.db")
    return env


@pytest.fixture
async def make_api(backend_env: dict[str, str]) -> AsyncIterator[MakeApi]:
    async with AsyncExitStack() as stack:

        async def make(**env: str) -> Api:
            settings = load_settings(backend_env | env)
            await upgrade(settings.database_url)
            container = await build_container(settings)
            stack.push_async_callback(container.aclose)
            await container.ports.rate_limiter.reset()
            # With a container given and the jobs off, the app's lifespan has nothing to do (and an
            # anyio cancel scope must not be entered in one fixture task and left in another).
            app = create_app(settings, container=container)
            client = await stack.enter_async_context(http_client(app))
            return Api(app, client, container, settings)

        yield make


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api()
