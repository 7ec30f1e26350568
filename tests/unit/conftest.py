"""Use cases wired to in-memory fakes: fast, no I/O."""

from __future__ import annotations

import base64
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from sono.adapters.mail.notifier import EmailNotifier
from sono.adapters.security.tokens import JwtTokenIssuer
from sono.adapters.storage.signing import HmacUrlSigner
from sono.application import context
from sono.application.accounts.messages import Authenticate, CreateAdmin, Register, StartSession
from sono.application.common import PasswordInput, Principal
from sono.application.messages import ANONYMOUS, Actor, Message
from sono.bootstrap import Container, Ports
from sono.config import load_settings
from sono.domain.errors import BadRequest
from sono.domain.users import User
from tests.delivery import Deliveries
from tests.fakes.annotations import FakeSongAnnotations
from tests.fakes.catalog import FakeAudioCatalog, FakeCollectionCatalog
from tests.fakes.mailer import InMemoryMailer
from tests.fakes.media import FakeMediaInspector
from tests.fakes.security import FakeClock, FakePasswordHasher
from tests.fakes.sessions import FakeSessionLookup
from tests.fakes.storage import InMemoryStorage
from tests.fakes.stores import FakeMaintenanceStore, FakeRateLimiter, FakeTemporaryFiles
from tests.fakes.uow import FakeUnitOfWorkFactory

PASSWORD = "Str0ng!Passw0rd"
R = TypeVar("R")


class FakeDecryptor:
    """Stands in for RSA: "encrypted" passwords are ``enc:`` + base64 of the text."""

    key_id = "fake"
    public_key_pem = "-----BEGIN PUBLIC KEY-----\nfake\n-----END PUBLIC KEY-----\n"

    @staticmethod
    def encrypt(password: str) -> str:
        return "enc:" + base64.b64encode(password.encode()).decode()

    def decrypt(self, ciphertext_b64: str) -> str:
        if not ciphertext_b64.startswith("enc:"):
            raise BadRequest("Invalid encrypted password")
        return base64.b64decode(ciphertext_b64[4:]).decode()


@dataclass
class World:
    """The services and the fakes behind them."""

    app: Container
    uow: FakeUnitOfWorkFactory
    clock: FakeClock
    hasher: FakePasswordHasher
    mailer: InMemoryMailer
    storage: InMemoryStorage
    maintenance: FakeMaintenanceStore
    tokens: JwtTokenIssuer
    decryptor: FakeDecryptor
    inspector: FakeMediaInspector

    async def send(self, message: Message[R], actor: Actor = ANONYMOUS, *, ip: str | None = None) -> R:
        """``message`` through the bus for ``actor`` (anonymous unless given), as an entrypoint
        sends it; ``ip``: the request's address, where the audit log reads it."""
        with context.bind(ip=ip) if ip is not None else nullcontext():
            return await self.app.bus(message, actor)

    async def register(self, username: str = "alice", *, superuser: bool = False, password: str = PASSWORD) -> User:
        """A new account (an admin made by the operator when ``superuser``)."""
        email = f"{username}@example.com"
        if superuser:
            return await self.send(CreateAdmin(username, email, PasswordInput(password)), Actor.operator())
        return (await self.send(Register(username, email, PasswordInput(password)))).user

    async def principal(self, user: User) -> Principal:
        pair = await self.send(StartSession(user.id), Actor.operator())  # type: ignore[arg-type]
        return await self.send(Authenticate(pair.access_token))

    async def deliver(self) -> int:
        """Run every due reaction to the events published so far (what a worker does shortly after a
        commit), as often as they publish more; how many were delivered."""
        delivered = 0
        while (done := await Deliveries(self.app.bus).run_due(1000)).total:
            delivered += done.total
        return delivered

    async def user(self, user_id: int) -> User | None:
        async with self.uow() as uow:
            return await uow.users.get(user_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def world(clock: FakeClock) -> World:
    return make_world(clock)


def make_world(clock: FakeClock, **settings: str) -> World:
    """Every use case wired to fresh fakes."""
    uow = FakeUnitOfWorkFactory()
    hasher = FakePasswordHasher()
    mailer = InMemoryMailer()
    storage = InMemoryStorage()
    maintenance = FakeMaintenanceStore()
    decryptor = FakeDecryptor()
    inspector = FakeMediaInspector()
    tokens = JwtTokenIssuer("a" * 32, "b" * 32, access_ttl_seconds=1800, refresh_ttl_seconds=7 * 86400, clock=clock)
    config = load_settings({"SONO_FRONTEND_URL": "https://sono.example", **settings})
    ports = Ports(
        uow=uow,
        clock=clock,
        hasher=hasher,
        tokens=tokens,
        decryptor=decryptor,
        sessions=FakeSessionLookup(uow.database),
        storage=storage,
        signer=HmacUrlSigner(b"k" * 32),
        inspector=inspector,
        notifier=EmailNotifier(mailer, frontend_url=config.frontend_url),
        rate_limiter=FakeRateLimiter(),
        maintenance=maintenance,
        audio_catalog=FakeAudioCatalog(uow.database),
        collection_catalog=FakeCollectionCatalog(uow.database),
        temporary_files=FakeTemporaryFiles(),
        song_annotations=FakeSongAnnotations(uow.database),
    )
    app = Container(config, ports)
    return World(app, uow, clock, hasher, mailer, storage, maintenance, tokens, decryptor, inspector)
