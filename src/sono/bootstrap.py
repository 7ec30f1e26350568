"""The composition root: the one place that builds adapters from the settings and wires them into
the use cases. Nothing else constructs adapters."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from sono.application.accounts import AccountService
from sono.application.auth import AuthService
from sono.application.charts import ChartsReader, ChartsService
from sono.application.gdpr import GdprService
from sono.application.jobs import JobRunner
from sono.application.maintenance import MaintenanceService
from sono.application.password_reset import PasswordResetService
from sono.application.ports import (
    Clock,
    HealthCheck,
    Mailer,
    MaintenanceStore,
    ObjectStorage,
    PasswordDecryptor,
    PasswordHasher,
    RateLimiter,
    SessionLookup,
    TokenIssuer,
    UnitOfWorkFactory,
)
from sono.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Everything the entrypoints need, built once per process."""

    settings: Settings
    auth: AuthService
    accounts: AccountService
    password_reset: PasswordResetService
    gdpr: GdprService
    maintenance: MaintenanceService
    jobs: JobRunner
    rate_limiter: RateLimiter
    storage: ObjectStorage
    tokens: TokenIssuer
    decryptor: PasswordDecryptor
    media_signing_key: bytes
    charts: ChartsService = field(default_factory=lambda: ChartsService(None))
    health_checks: list[HealthCheck] = field(default_factory=list)
    _exit: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def aclose(self) -> None:
        await self._exit.aclose()


@dataclass
class _Check:
    name: str
    probe: Callable[[], Awaitable[object]]

    async def check(self) -> None:
        await self.probe()


def wire(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
    decryptor: PasswordDecryptor,
    clock: Clock,
    storage: ObjectStorage,
    mailer: Mailer,
    media: object,
    rate_limiter: RateLimiter,
    maintenance_store: MaintenanceStore,
    sessions: SessionLookup,
    media_signing_key: bytes,
    health_checks: list[HealthCheck] | None = None,
    forgot_password_floor: float = 0.05,
    charts: ChartsReader | None = None,
) -> Container:
    """Wire ports into use cases. Used by ``build_container`` and by tests that bring fakes."""
    gdpr = GdprService(uow, hasher, decryptor, clock, storage)
    return Container(
        settings=settings,
        auth=AuthService(uow, hasher, tokens, decryptor, clock, maintenance_store, sessions),
        accounts=AccountService(uow, hasher, decryptor, clock, storage, media),  # type: ignore[arg-type]
        password_reset=PasswordResetService(
            uow, hasher, decryptor, mailer, clock, settings.frontend_url, min_response_seconds=forgot_password_floor
        ),
        gdpr=gdpr,
        maintenance=MaintenanceService(maintenance_store, uow, clock),
        jobs=JobRunner(uow, gdpr, clock),
        rate_limiter=rate_limiter,
        storage=storage,
        tokens=tokens,
        decryptor=decryptor,
        media_signing_key=media_signing_key,
        charts=ChartsService(charts),
        health_checks=health_checks or [],
    )


async def build_container(settings: Settings, *, public_url: str | None = None) -> Container:
    """Build the real adapters the settings ask for: SQLite or PostgreSQL, local disk or S3, an
    outbox folder or SMTP, in-process stores or Redis."""
    from sono.adapters.charts import build_charts
    from sono.adapters.clock import SystemClock
    from sono.adapters.mail.outbox import OutboxMailer
    from sono.adapters.mail.smtp import SmtpMailer
    from sono.adapters.media.inspector import ContentInspector
    from sono.adapters.security.passwords import Argon2PasswordHasher
    from sono.adapters.security.rsa_keys import RsaPasswordDecryptor, load_or_create_private_key, load_private_key
    from sono.adapters.security.secrets import load_or_create_secret
    from sono.adapters.security.tokens import JwtTokenIssuer
    from sono.adapters.sqlalchemy.engine import create_engine, ping
    from sono.adapters.sqlalchemy.sessions import session_lookup_for
    from sono.adapters.sqlalchemy.tables import start_mappers
    from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
    from sono.adapters.stores.maintenance import DatabaseMaintenanceStore, RedisMaintenanceStore
    from sono.adapters.stores.rate_limit import MemoryRateLimiter, RedisRateLimiter

    exit_stack = AsyncExitStack()
    secrets_dir = settings.secrets_dir
    secret_key = settings.secret_key or load_or_create_secret(secrets_dir / "secret_key")
    refresh_key = settings.refresh_secret_key or load_or_create_secret(secrets_dir / "refresh_secret_key")
    media_key = load_or_create_secret(secrets_dir / "media_signing_key").encode()
    if settings.rsa_private_key_file is not None:
        private_key = load_private_key(settings.rsa_private_key_file)
    else:
        private_key = load_or_create_private_key(secrets_dir / "rsa_private_key.pem")

    start_mappers()
    engine = create_engine(settings.database_url)
    exit_stack.push_async_callback(engine.dispose)
    uow = SqlUnitOfWorkFactory(engine)
    sessions = session_lookup_for(settings.database_url)
    exit_stack.push_async_callback(sessions.close)
    clock = SystemClock()
    hasher = Argon2PasswordHasher(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hash_concurrency,
    )
    exit_stack.callback(hasher.close)
    checks: list[HealthCheck] = [_Check("database", lambda: ping(engine))]

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

        storage = LocalStorage(settings.media_dir, base_url=base_url, signing_key=media_key)
    checks.append(_Check("storage", storage.check))

    mailer: Mailer
    if settings.smtp_host:
        mailer = SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    else:
        mailer = OutboxMailer(settings.outbox_dir, sender=settings.smtp_from)

    rate_limiter: RateLimiter
    maintenance_store: MaintenanceStore
    if settings.redis_url:
        redis_limiter = RedisRateLimiter(settings.redis_url)
        exit_stack.push_async_callback(redis_limiter.close)
        redis_maintenance = RedisMaintenanceStore(settings.redis_url, uow)
        exit_stack.push_async_callback(redis_maintenance.close)
        rate_limiter, maintenance_store = redis_limiter, redis_maintenance
        checks.append(_Check("cache", redis_maintenance.ping))
    else:
        rate_limiter = MemoryRateLimiter()
        maintenance_store = DatabaseMaintenanceStore(uow)

    charts, charts_check = build_charts(settings)
    if charts is not None:
        exit_stack.push_async_callback(charts.aclose)
    if charts_check is not None:
        checks.append(charts_check)

    container = wire(
        settings,
        uow=uow,
        hasher=hasher,
        tokens=JwtTokenIssuer(
            secret_key,
            refresh_key,
            access_ttl_seconds=settings.access_token_minutes * 60,
            refresh_ttl_seconds=settings.refresh_token_days * 86400,
        ),
        decryptor=RsaPasswordDecryptor(private_key),
        clock=clock,
        storage=storage,
        mailer=mailer,
        media=ContentInspector(),
        rate_limiter=rate_limiter,
        maintenance_store=maintenance_store,
        sessions=sessions,
        media_signing_key=media_key,
        health_checks=checks,
        charts=charts,
    )
    container._exit = exit_stack
    return container
