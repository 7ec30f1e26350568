"""The composition root: the one place that builds adapters from the settings and wires them into
the use cases. Nothing else constructs adapters.

``Ports`` holds the adapters; ``Container`` makes each service from them on first use. Adding a
service is one ``cached_property`` on ``Container``; adding a port is one field of ``Ports`` and
its construction in ``build_ports``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sono.application.accounts.password_reset import PasswordResetService
from sono.application.accounts.ports import Notifier, PasswordDecryptor, PasswordHasher, SessionLookup, TokenIssuer
from sono.application.accounts.profiles import AccountService
from sono.application.accounts.sessions import AuthService
from sono.application.admin.service import AdminService
from sono.application.announcements.service import AnnouncementService
from sono.application.audio.ports import AudioCatalog
from sono.application.audio.service import AudioService
from sono.application.charts import ChartsReader, ChartsService
from sono.application.collections.admin import CollectionAdminService
from sono.application.collections.ports import CollectionCatalog
from sono.application.collections.service import CollectionService
from sono.application.gdpr.service import GdprService
from sono.application.jobs import JobRunner
from sono.application.maintenance.ports import MaintenanceStore
from sono.application.maintenance.service import MaintenanceService
from sono.application.media.ports import MediaInspector, ObjectStorage, UrlSigner
from sono.application.media.service import MediaService
from sono.application.ports import Clock, HealthCheck, RateLimiter, TemporaryFiles
from sono.application.uow import UnitOfWorkFactory
from sono.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Ports:
    """The adapters a process uses, one per port."""

    uow: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenIssuer
    decryptor: PasswordDecryptor
    sessions: SessionLookup
    storage: ObjectStorage
    signer: UrlSigner
    inspector: MediaInspector
    notifier: Notifier
    rate_limiter: RateLimiter
    maintenance: MaintenanceStore
    charts: ChartsReader | None = None
    health_checks: list[HealthCheck] = field(default_factory=list)
    audio_catalog: AudioCatalog | None = None
    collection_catalog: CollectionCatalog | None = None
    temporary_files: TemporaryFiles | None = None


class Container:
    """The services of one process, made from its ports on first use."""

    def __init__(self, settings: Settings, ports: Ports, *, exit_stack: AsyncExitStack | None = None) -> None:
        self.settings = settings
        self.ports = ports
        self._exit = exit_stack or AsyncExitStack()

    async def aclose(self) -> None:
        await self._exit.aclose()

    # ------------------------------------------------------------------ the services

    @cached_property
    def media(self) -> MediaService:
        p = self.ports
        return MediaService(
            p.uow, p.storage, p.signer, p.inspector, p.clock, url_ttl_seconds=self.settings.media_url_ttl_seconds
        )

    @cached_property
    def maintenance(self) -> MaintenanceService:
        return MaintenanceService(self.ports.maintenance, self.ports.uow, self.ports.clock)

    @cached_property
    def auth(self) -> AuthService:
        p = self.ports
        return AuthService(
            p.uow,
            p.hasher,
            p.tokens,
            p.decryptor,
            p.clock,
            self.maintenance,
            p.sessions,
            refresh_grace=timedelta(seconds=self.settings.refresh_grace_seconds),
        )

    @cached_property
    def accounts(self) -> AccountService:
        p = self.ports
        return AccountService(p.uow, p.hasher, p.decryptor, p.clock, self.media)

    @cached_property
    def password_reset(self) -> PasswordResetService:
        p = self.ports
        return PasswordResetService(
            p.uow, p.hasher, p.decryptor, p.notifier, p.clock, min_response_seconds=self.settings.forgot_password_floor
        )

    @cached_property
    def gdpr(self) -> GdprService:
        p = self.ports
        return GdprService(p.uow, p.hasher, p.decryptor, p.clock, self.media)

    @cached_property
    def admin(self) -> AdminService:
        return AdminService(self.ports.uow, self.ports.clock, self.media, self.gdpr)

    @cached_property
    def announcements(self) -> AnnouncementService:
        return AnnouncementService(self.ports.uow, self.ports.clock)

    @cached_property
    def charts(self) -> ChartsService:
        return ChartsService(self.ports.charts)

    @cached_property
    def collections(self) -> CollectionService:
        return CollectionService(self.ports.uow, self.ports.clock, self.media, self.ports.collection_catalog)

    @cached_property
    def collection_admin(self) -> CollectionAdminService:
        return CollectionAdminService(self.ports.uow, self.ports.clock, self.media)

    @cached_property
    def audio(self) -> AudioService:
        return AudioService(self.ports.uow, self.media, self.ports.clock, self.ports.audio_catalog)

    @cached_property
    def jobs(self) -> JobRunner:
        p = self.ports
        return JobRunner(p.uow, self.gdpr, self.media, p.clock, p.temporary_files)


@dataclass
class _Check:
    name: str
    probe: Callable[[], Awaitable[object]]
    essential: bool = False

    async def check(self) -> None:
        await self.probe()


async def build_container(
    settings: Settings, *, public_url: str | None = None, for_requests: bool = False
) -> Container:
    """The real adapters the settings ask for: SQLite or PostgreSQL, local disk or S3, an outbox
    folder or SMTP, in-process stores or Redis. ``for_requests``: the web server's, whose database
    waits are bounded by ``SONO_DB_REQUEST_TIMEOUT`` (a user gets a quick 503 when the database
    hangs); the command line's jobs and migrations may wait up to the statement timeout."""
    exit_stack = AsyncExitStack()
    try:
        ports = await build_ports(settings, exit_stack, public_url=public_url, for_requests=for_requests)
    except BaseException:
        await exit_stack.aclose()
        raise
    return Container(settings, ports, exit_stack=exit_stack)


async def build_ports(
    settings: Settings, exit_stack: AsyncExitStack, *, public_url: str | None = None, for_requests: bool = False
) -> Ports:
    from sono.adapters.charts import build_charts
    from sono.adapters.clock import SystemClock
    from sono.adapters.files import SpoolFolder
    from sono.adapters.mail.notifier import EmailNotifier
    from sono.adapters.mail.outbox import OutboxMailer
    from sono.adapters.mail.smtp import SmtpMailer
    from sono.adapters.media.inspector import ContentInspector
    from sono.adapters.security.passwords import Argon2PasswordHasher
    from sono.adapters.security.rsa_keys import RsaPasswordDecryptor, load_or_create_private_key, load_private_key
    from sono.adapters.security.secrets import load_or_create_secret
    from sono.adapters.security.tokens import JwtTokenIssuer
    from sono.adapters.sqlalchemy.catalog import SqlAudioCatalog
    from sono.adapters.sqlalchemy.collection_catalog import SqlCollectionCatalog
    from sono.adapters.sqlalchemy.engine import create_engine, ping
    from sono.adapters.sqlalchemy.reads import reads_for
    from sono.adapters.sqlalchemy.sessions import SqlSessionLookup
    from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
    from sono.adapters.storage.signing import HmacUrlSigner
    from sono.adapters.stores.maintenance import DatabaseMaintenanceStore
    from sono.adapters.stores.rate_limit import MemoryRateLimiter, RedisRateLimiter

    secrets_dir = settings.secrets_dir
    secret_key = settings.secret_key or load_or_create_secret(secrets_dir / "secret_key")
    refresh_key = settings.refresh_secret_key or load_or_create_secret(secrets_dir / "refresh_secret_key")
    signer = HmacUrlSigner(load_or_create_secret(secrets_dir / "media_signing_key").encode())
    if settings.rsa_private_key_file is not None:
        private_key = load_private_key(settings.rsa_private_key_file)
    else:
        private_key = load_or_create_private_key(secrets_dir / "rsa_private_key.pem")

    timeouts: dict[str, float | None] = {
        "connect_timeout": settings.db_connect_timeout,
        "statement_timeout": settings.db_statement_timeout,
    }
    if for_requests:  # a statement and its client margin within the bound; connecting within it too
        bound = settings.db_request_timeout
        timeouts = {
            "connect_timeout": min(settings.db_connect_timeout, bound),
            "statement_timeout": min(settings.db_statement_timeout, bound * 0.8),
            "checkout_timeout": bound / 2,  # the pool's wait, liveness ping and reconnection together
        }
    engine = create_engine(settings.database_url, **timeouts)  # type: ignore[arg-type]
    exit_stack.push_async_callback(engine.dispose)
    uow = SqlUnitOfWorkFactory(engine, checkout_timeout=timeouts.get("checkout_timeout"))
    read_timeouts = timeouts | ({"checkout_timeout": settings.db_request_timeout * 0.8} if for_requests else {})
    reads = reads_for(settings.database_url, **read_timeouts)  # type: ignore[arg-type]  # the hot reads, outside units of work
    exit_stack.push_async_callback(reads.close)
    sessions = SqlSessionLookup(reads)
    audio_catalog = SqlAudioCatalog(reads)
    collection_catalog = SqlCollectionCatalog(reads)
    hasher = Argon2PasswordHasher(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hash_concurrency,
    )
    exit_stack.callback(hasher.close)
    checks: list[HealthCheck] = [_Check("database", lambda: ping(engine), essential=True)]

    base_url = settings.public_url or public_url or "http://127.0.0.1:8000"
    storage: ObjectStorage
    if settings.storage == "s3":
        from sono.adapters.storage.s3 import S3Storage

        s3 = S3Storage(
            endpoint_url=settings.s3_endpoint_url,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            public_base_url=settings.s3_public_url,
        )
        exit_stack.push_async_callback(s3.close)
        try:
            await s3.ensure_bucket()
        except Exception as exc:  # readiness reports it; the operator may not grant CreateBucket
            log.warning("could not ensure S3 bucket %s exists: %s", settings.s3_bucket, type(exc).__name__)
        storage = s3
    else:
        from sono.adapters.storage.local import LocalStorage

        storage = LocalStorage(settings.media_dir, base_url=base_url, signer=signer)
    checks.append(_Check("storage", storage.check))

    transport = (
        SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
        if settings.smtp_host
        else OutboxMailer(settings.outbox_dir, sender=settings.smtp_from)
    )

    rate_limiter: RateLimiter
    if settings.redis_url:
        redis_limiter = RedisRateLimiter(settings.redis_url)
        exit_stack.push_async_callback(redis_limiter.close)
        rate_limiter = redis_limiter
        checks.append(_Check("cache", redis_limiter.ping))
    else:
        rate_limiter = MemoryRateLimiter()
    maintenance = DatabaseMaintenanceStore(uow)  # the database only: a cache in Redis could go stale

    charts, charts_check = build_charts(settings)
    if charts is not None:
        exit_stack.push_async_callback(charts.aclose)
    if charts_check is not None:
        checks.append(charts_check)

    return Ports(
        uow=uow,
        clock=SystemClock(),
        hasher=hasher,
        tokens=JwtTokenIssuer(
            secret_key,
            refresh_key,
            access_ttl_seconds=settings.access_token_minutes * 60,
            refresh_ttl_seconds=settings.refresh_token_days * 86400,
        ),
        decryptor=RsaPasswordDecryptor(private_key),
        sessions=sessions,
        storage=storage,
        signer=signer,
        inspector=ContentInspector(),
        notifier=EmailNotifier(transport, frontend_url=settings.frontend_url),
        rate_limiter=rate_limiter,
        maintenance=maintenance,
        health_checks=checks,
        charts=charts,
        audio_catalog=audio_catalog,
        collection_catalog=collection_catalog,
        temporary_files=SpoolFolder(settings.upload_dir),
    )
