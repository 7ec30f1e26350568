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
from typing import TYPE_CHECKING, Any, TypeVar

from sono.application.accounts.handlers import AccountHandlers
from sono.application.accounts.password_reset import PasswordResetHandlers
from sono.application.accounts.ports import Notifier, PasswordDecryptor, PasswordHasher, SessionLookup, TokenIssuer
from sono.application.accounts.sessions import SessionHandlers
from sono.application.admin.handlers import AdminHandlers
from sono.application.annotations.handlers import AnnotationHandlers
from sono.application.annotations.ports import SongAnnotations
from sono.application.announcements.handlers import AnnouncementHandlers
from sono.application.app_passwords.handlers import AppPasswordHandlers
from sono.application.app_passwords.ports import SecretSealer
from sono.application.audio.handlers import AudioHandlers
from sono.application.audio.ports import AudioCatalog, AudioListCache
from sono.application.audio.uploads import AudioUploads
from sono.application.audit.handlers import AuditHandlers
from sono.application.backup import BackupService
from sono.application.bus import MessageBus, Middleware, Timing, Traced
from sono.application.charts import ChartsReader, ChartsService
from sono.application.charts.handlers import ChartHandlers
from sono.application.collections.archive import ArchiveHandlers
from sono.application.collections.handlers import CollectionCovers, CollectionHandlers
from sono.application.collections.ports import CollectionCatalog, CollectionDetails
from sono.application.delivery.handlers import DeliveryHandlers
from sono.application.events import JobQueue, NoJobQueue, Outbox
from sono.application.gdpr.handlers import GdprHandlers
from sono.application.imports.handlers import ImportHandlers
from sono.application.jobs import JobHandlers
from sono.application.library.handlers import LibraryHandlers
from sono.application.maintenance.gate import MaintenanceGate
from sono.application.maintenance.handlers import MaintenanceHandlers
from sono.application.maintenance.ports import MaintenanceStore
from sono.application.media.handlers import MediaHandlers, MediaReactions, MediaServing
from sono.application.media.ports import ImageCache, MediaInspector, ObjectStorage, SignedUrlCache, UrlSigner
from sono.application.media.service import MediaService
from sono.application.messages import Actor, Message
from sono.application.metrics import MeteredMessages, Metrics, NoMetrics, instrumented
from sono.application.players.handlers import PlayerHandlers
from sono.application.ports import Clock, HealthCheck, RateLimiter, Renditions, TemporaryFiles
from sono.application.tracing import NoTracer, Tracer
from sono.application.uow import UnitOfWorkFactory
from sono.config import Settings

if TYPE_CHECKING:
    from sono.adapters.mail.smtp import SmtpMailer

log = logging.getLogger(__name__)
S = TypeVar("S")


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
    audio_catalog: AudioCatalog  # the public audio list
    collection_catalog: CollectionCatalog  # the collection lists and screens
    charts: ChartsReader | None = None
    health_checks: list[HealthCheck] = field(default_factory=list)
    audio_lists: AudioListCache | None = None  # the public audio list's answers (None: none kept)
    collection_details: CollectionDetails | None = None  # collection screens kept (None: none kept)
    temporary_files: TemporaryFiles | None = None
    song_annotations: SongAnnotations | None = None
    metrics: Metrics = field(default_factory=NoMetrics)
    image_cache: ImageCache | None = None  # resized cover art (the Subsonic API's getCoverArt?size=)
    url_cache: SignedUrlCache | None = None  # signed media URLs (None: each one signed anew)
    renditions: Renditions | None = None  # the entrypoints' renditions of kept answers (None: none kept)
    tracer: Tracer = field(default_factory=NoTracer)
    job_queue: JobQueue = field(default_factory=NoJobQueue)
    sealer: SecretSealer | None = None  # app passwords' keys; None: a key of this process only (tests)


class Container:
    """The services of one process, made from its ports on first use."""

    def __init__(
        self,
        settings: Settings,
        ports: Ports,
        *,
        exit_stack: AsyncExitStack | None = None,
        tracer_provider: Any = None,
    ) -> None:
        self.settings = settings
        self.ports = ports
        self._exit = exit_stack or AsyncExitStack()
        self.tracer_provider = tracer_provider  # OpenTelemetry's, when tracing is on (the otel extra)

    async def aclose(self) -> None:
        await self._exit.aclose()

    def _instrument(self, name: str, service: S) -> S:
        """The service as handed out: with metrics on, its calls are counted and timed by name."""
        return instrumented(service, name, self.ports.metrics)

    # ------------------------------------------------------------------ the services

    @cached_property
    def media(self) -> MediaService:
        p = self.ports
        return self._instrument(
            "media",
            MediaService(
                p.storage,
                p.signer,
                p.inspector,
                p.clock,
                self.outbox,
                url_ttl_seconds=self.settings.media_url_ttl_seconds,
                image_cache=p.image_cache,
                url_cache=p.url_cache,
            ),
        )

    @cached_property
    def maintenance(self) -> MaintenanceGate:
        """The maintenance check of every request (switching it is a bus message)."""
        return self._instrument("maintenance", MaintenanceGate(self.ports.maintenance))

    async def _send(self, message: Message[Any], actor: Actor) -> Any:
        """The bus, for the handlers that hand messages to it (``ProcessPendingDeletions``)."""
        return await self.bus(message, actor)

    @cached_property
    def bus(self) -> MessageBus:
        """The seam every entrypoint sends its messages through."""
        middleware: list[Middleware] = [Timing()]
        if self.ports.metrics.enabled:
            middleware.append(MeteredMessages(self.ports.metrics))
        if not isinstance(self.ports.tracer, NoTracer):
            middleware.append(Traced(self.ports.tracer))
        bus = MessageBus(self.ports.uow, middleware, outbox=self.outbox, jobs=self.ports.job_queue)
        p = self.ports
        retention_days = self.settings.audit_retention_days
        bus.register(
            AdminHandlers(self.ports.uow, self.ports.clock, self._send, self.media),
            AnnotationHandlers(self.ports.clock, self.ports.song_annotations),
            DeliveryHandlers(p.clock, self.outbox, metrics=p.metrics if p.metrics.enabled else None),
            JobHandlers(p.clock, p.temporary_files),
            AccountHandlers(
                self.ports.clock,
                self.ports.tokens,
                self.ports.hasher,
                self.ports.decryptor,
                self.media,
                default_upload_limit=self.settings.default_upload_limit,
            ),
            SessionHandlers(
                self.ports.hasher,
                self.ports.tokens,
                self.ports.decryptor,
                self.ports.clock,
                self.maintenance,
                self.ports.sessions,
                refresh_grace=timedelta(seconds=self.settings.refresh_grace_seconds),
            ),
            AnnouncementHandlers(self.ports.clock, self.media),
            PasswordResetHandlers(
                self.ports.hasher,
                self.ports.decryptor,
                self.ports.notifier,
                self.ports.clock,
                min_response_seconds=self.settings.forgot_password_floor,
            ),
            GdprHandlers(self.ports.clock, self.ports.hasher, self.ports.decryptor, self.media),
            AuditHandlers(self.ports.clock, retention=timedelta(days=retention_days) if retention_days else None),
            MaintenanceHandlers(self.ports.maintenance, self.ports.clock),
            PlayerHandlers(),
            AppPasswordHandlers(
                self.ports.uow, self.ports.clock, self.sealer, token_auth=self.settings.subsonic_token_auth
            ),
            ImportHandlers(self.audio_uploads, self.media),
            self.audio_uploads,
            MediaHandlers(p.storage, p.clock),
            MediaServing(self.media),
            ChartHandlers(self.charts),
            AudioHandlers(
                p.clock,
                self.media,
                self.audio_uploads,
                p.audio_catalog,
                p.audio_lists,
                default_upload_limit=self.settings.default_upload_limit,
            ),
            LibraryHandlers(self.media),
            CollectionHandlers(p.clock, self.media, p.collection_catalog, p.collection_details),
            CollectionCovers(p.clock, self.media),
            ArchiveHandlers(self.media),
        )
        return bus

    @cached_property
    def sealer(self) -> SecretSealer:
        """The keys of Subsonic app passwords (``build_ports`` loads them; containers built by hand
        get keys of their own, which last as long as the process)."""
        if self.ports.sealer is not None:
            return self.ports.sealer
        from sono.adapters.security.subsonic_keys import AesGcmSecretSealer, new_key

        return AesGcmSecretSealer(new_key(), [new_key()])

    @cached_property
    def outbox(self) -> Outbox:
        """Where use cases record their events, in their own unit of work, one row per reaction:
        every feature's reactions are registered here, before anything can publish."""
        outbox = Outbox(self.ports.clock, self.ports.tracer)
        outbox.register(MediaReactions(self.ports.storage))
        return outbox

    @cached_property
    def charts(self) -> ChartsService:
        """The charts' rules on their reader (``ChartHandlers``' service; the bus meters the messages)."""
        return ChartsService(self.ports.charts)

    @cached_property
    def audio_uploads(self) -> AudioUploads:
        p = self.ports
        return AudioUploads(self.media, p.clock, p.audio_lists)


def _smtp_mailer() -> type[SmtpMailer]:
    from sono.adapters.mail.smtp import SmtpMailer  # aiosmtplib only where SMTP is configured

    return SmtpMailer


@dataclass
class _Check:
    name: str
    probe: Callable[[], Awaitable[object]]
    essential: bool = False

    async def check(self) -> None:
        await self.probe()


async def build_container(
    settings: Settings,
    *,
    public_url: str | None = None,
    for_requests: bool = False,
    listen: bool = True,
    tracer_provider: Any = None,
) -> Container:
    """The real adapters the settings ask for: SQLite or PostgreSQL, local disk or S3, an outbox
    folder or SMTP, in-process stores or Redis. ``for_requests``: the web server's, whose database
    waits are bounded by ``SONO_DB_REQUEST_TIMEOUT`` (a user gets a quick 503 when the database
    hangs); the command line's jobs and migrations may wait up to the statement timeout. ``listen``
    False: a short-lived process (a command, a throwaway container) keeps no reads, so on
    PostgreSQL it opens no ``LISTEN`` connection (its commits are still announced). Traced
    with ``tracer_provider`` (OpenTelemetry's), or with the one the ``OTEL_*`` variables describe
    when ``settings.tracing_enabled``."""
    if tracer_provider is None and settings.tracing_enabled:
        from sono.adapters.tracing import provider_from_env

        tracer_provider = provider_from_env()
    exit_stack = AsyncExitStack()
    try:
        ports = await build_ports(
            settings,
            exit_stack,
            public_url=public_url,
            for_requests=for_requests,
            listen=listen,
            tracer_provider=tracer_provider,
        )
    except BaseException:
        await exit_stack.aclose()
        raise
    return Container(settings, ports, exit_stack=exit_stack, tracer_provider=tracer_provider)


async def build_ports(
    settings: Settings,
    exit_stack: AsyncExitStack,
    *,
    public_url: str | None = None,
    for_requests: bool = False,
    listen: bool = True,
    tracer_provider: Any = None,
) -> Ports:
    from sono.adapters.allocator import limit_retained_memory
    from sono.adapters.audio_lists import MemoryAudioListCache
    from sono.adapters.charts import build_charts
    from sono.adapters.clock import SystemClock
    from sono.adapters.collection_details import MemoryCollectionDetails
    from sono.adapters.files import SpoolFolder
    from sono.adapters.mail import Mailer
    from sono.adapters.mail.notifier import EmailNotifier
    from sono.adapters.mail.outbox import OutboxMailer
    from sono.adapters.media.image_cache import MemoryImageCache
    from sono.adapters.media.inspector import ContentInspector
    from sono.adapters.media.url_cache import MemorySignedUrlCache
    from sono.adapters.renditions import MemoryRenditions
    from sono.adapters.security.passwords import Argon2PasswordHasher
    from sono.adapters.security.rsa_keys import RsaPasswordDecryptor, load_or_create_private_key, load_private_key
    from sono.adapters.security.secrets import load_or_create_secret
    from sono.adapters.security.subsonic_keys import AesGcmSecretSealer, load_or_create_keys, parse_key
    from sono.adapters.security.tokens import JwtTokenIssuer
    from sono.adapters.sqlalchemy.annotation_reads import SqlSongAnnotations
    from sono.adapters.sqlalchemy.catalog import SqlAudioCatalog
    from sono.adapters.sqlalchemy.collection_catalog import SqlCollectionCatalog
    from sono.adapters.sqlalchemy.engine import create_engine, meter_pool, ping
    from sono.adapters.sqlalchemy.reads import reads_for
    from sono.adapters.sqlalchemy.sessions import SqlSessionLookup
    from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory
    from sono.adapters.sqlalchemy.versions import ListenedVersions, versions_for
    from sono.adapters.storage.signing import HmacUrlSigner
    from sono.adapters.stores.maintenance import DatabaseMaintenanceStore
    from sono.adapters.stores.process_rate_limit import MemoryRateLimiter

    limit_retained_memory()  # large blocks (decoded images, password hashes) go back to the system when freed
    secrets_dir = settings.secrets_dir
    secret_key = settings.secret_key or load_or_create_secret(secrets_dir / "secret_key")
    refresh_key = settings.refresh_secret_key or load_or_create_secret(secrets_dir / "refresh_secret_key")
    signer = HmacUrlSigner(load_or_create_secret(secrets_dir / "media_signing_key").encode())
    if settings.rsa_private_key_file is not None:
        private_key = load_private_key(settings.rsa_private_key_file)
    else:
        private_key = load_or_create_private_key(secrets_dir / "rsa_private_key.pem")
    subsonic_keys = [parse_key(settings.subsonic_key)] if settings.subsonic_key else load_or_create_keys(secrets_dir)
    sealer = AesGcmSecretSealer.from_server_secret(secret_key, subsonic_keys)

    metrics: Metrics = NoMetrics()
    if settings.metrics_enabled:
        from sono.adapters.metrics.prometheus import PrometheusMetrics

        prometheus = PrometheusMetrics()
        exit_stack.callback(prometheus.close)
        metrics = prometheus

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
    read_timeouts = timeouts | ({"checkout_timeout": settings.db_request_timeout * 0.8} if for_requests else {})
    reads = reads_for(settings.database_url, **read_timeouts)  # type: ignore[arg-type]  # the hot reads, outside units of work
    exit_stack.push_async_callback(reads.close)
    tracer: Tracer = NoTracer()
    traced: Callable[[Any, str], Any] = lambda target, system: target  # noqa: E731
    if tracer_provider is not None:
        from sono.adapters.tracing import OtelTracer, trace_engine, traced_calls

        trace_engine(engine, tracer_provider)
        trace_engine(reads.engine, tracer_provider)
        otel = tracer = OtelTracer(tracer_provider)
        traced = lambda target, system: traced_calls(target, otel, system)  # noqa: E731
    meter_pool(engine, metrics)
    meter_pool(reads.engine, metrics, "reads")
    versions = versions_for(
        settings.database_url,
        connect_timeout=timeouts["connect_timeout"] or 5.0,
        listen=listen,
        listen_url=settings.database_listen_url,
    )
    if isinstance(versions, ListenedVersions):  # PostgreSQL: other processes' commits arrive as notices
        await versions.start()
        exit_stack.push_async_callback(versions.close)
    uow = SqlUnitOfWorkFactory(engine, versions=versions, checkout_timeout=timeouts.get("checkout_timeout"))
    sessions = SqlSessionLookup(reads, versions, metrics=metrics)
    audio_catalog = SqlAudioCatalog(reads, versions, metrics=metrics)
    collection_catalog = SqlCollectionCatalog(reads, versions, metrics=metrics)
    hasher = Argon2PasswordHasher(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hash_concurrency,
    )
    exit_stack.callback(hasher.close)
    checks: list[HealthCheck] = [_Check("database", lambda: ping(engine), essential=True)]

    inspector = ContentInspector(max_decodes=settings.image_decodes)
    exit_stack.callback(inspector.close)

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
            public_endpoint_url=settings.s3_public_endpoint,
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
    storage = traced(storage, settings.storage)  # client spans around S3 (or disk) calls
    checks.append(_Check("storage", storage.check))

    transport: Mailer = (
        _smtp_mailer()(
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

    transport = traced(transport, "smtp" if settings.smtp_host else "mail")

    rate_limiter: RateLimiter
    if settings.redis_url:
        from sono.adapters.stores.rate_limit import RedisRateLimiter

        redis_limiter = RedisRateLimiter(settings.redis_url)
        exit_stack.push_async_callback(redis_limiter.close)
        rate_limiter = redis_limiter
        checks.append(_Check("cache", redis_limiter.ping))
    else:
        rate_limiter = MemoryRateLimiter()
    job_queue: JobQueue = NoJobQueue()
    if settings.job_engine == "saq" and settings.redis_url:
        from sono.adapters.jobs.saq_engine import SaqJobQueue

        saq_queue = SaqJobQueue(settings.redis_url)
        exit_stack.push_async_callback(saq_queue.close)
        job_queue = saq_queue
    maintenance = DatabaseMaintenanceStore(uow, metrics=metrics)  # the database only: a cache in Redis could go stale

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
        inspector=inspector,
        notifier=EmailNotifier(transport, frontend_url=settings.frontend_url),
        rate_limiter=rate_limiter,
        maintenance=maintenance,
        health_checks=checks,
        charts=charts,
        audio_catalog=audio_catalog,
        collection_catalog=collection_catalog,
        collection_details=MemoryCollectionDetails(metrics=metrics),
        temporary_files=SpoolFolder(settings.upload_dir),
        song_annotations=SqlSongAnnotations(reads),
        metrics=metrics,
        image_cache=MemoryImageCache(metrics=metrics),
        audio_lists=MemoryAudioListCache(metrics=metrics),
        renditions=MemoryRenditions(metrics=metrics),
        url_cache=MemorySignedUrlCache(metrics=metrics),
        tracer=tracer,
        job_queue=job_queue,
        sealer=sealer,
    )


def build_backup_service(settings: Settings) -> BackupService | None:
    """Backups of the embedded defaults (a SQLite file, media on local disk, secrets under the data
    folder); ``None`` when the deployment keeps its data elsewhere (PostgreSQL, S3), whose own tools
    back it up."""
    from sono import __version__
    from sono.adapters.backup import LocalBackupFiles, SqliteDatabaseBackup, sqlite_path
    from sono.adapters.clock import SystemClock

    database = sqlite_path(settings.database_url)
    if database is None or settings.storage != "local":
        return None
    return BackupService(
        SqliteDatabaseBackup(database),
        LocalBackupFiles(),
        SystemClock(),
        data_dir=settings.data_dir,
        version=__version__,
    )
