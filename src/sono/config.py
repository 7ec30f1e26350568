"""Typed configuration from environment variables (and a ``.env`` file when present).

Every variable is validated at start-up; a bad one raises ``ConfigError`` naming it.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(ValueError):
    """A configuration variable is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str = ""
    database_listen_url: str | None = None  # PostgreSQL: where each process listens for commits
    redis_url: str | None = None
    kworb_database_url: str | None = None
    public_url: str | None = None

    storage: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "sono"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    s3_public_url: str | None = None  # base URL of a public-read bucket or CDN for public objects
    s3_public_endpoint: str | None = None  # the S3 endpoint as clients reach it: URLs are presigned against it

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Sono <no-reply@sono.local>"
    smtp_starttls: bool | None = None  # None: use STARTTLS when the server offers it
    smtp_timeout: float = 10.0

    frontend_url: str = "http://localhost:5173"
    secret_key: str | None = None
    refresh_secret_key: str | None = None
    rsa_private_key_file: Path | None = None

    trusted_proxies: tuple[IPNetwork, ...] = ()
    cors_origins: tuple[str, ...] = ()
    access_token_minutes: int = 30
    refresh_token_days: int = 7
    refresh_grace_seconds: int = 60
    audit_retention_days: int = 365
    default_upload_limit: int = 20  # audio files a new account may keep (the reference's 20)
    media_url_ttl_seconds: int = 12 * 3600
    forgot_password_floor: float = 0.05  # seconds every forgot-password answer takes at least (tests lower it)

    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    hash_concurrency: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    image_decodes: int = 2  # images decoded at once per process (each may hold 4 bytes a pixel)

    migrate_on_start: bool = True
    jobs_enabled: bool = True
    jobs_interval_seconds: int = 60
    job_engine: str = (
        "inprocess"  # "inprocess" (the embedded loop) or "saq" (SAQ on Redis: only `sono worker` runs jobs)
    )
    rate_limits_enabled: bool = True
    allow_insecure: bool = False
    log_level: str = "INFO"
    log_format: str = "text"  # "text" for a terminal, "json" for one JSON object per line
    tracing_enabled: bool = False  # OpenTelemetry, asked for by the standard OTEL_* variables

    db_connect_timeout: float = 5.0  # seconds to open a database connection
    db_statement_timeout: float = 15.0  # seconds one statement may run (PostgreSQL)
    db_request_timeout: float = 5.0  # web requests: seconds to get a connection, and one statement's bound
    header_timeout_seconds: float = 10.0  # seconds a client has to send a request's head
    body_idle_timeout: float = 30.0  # seconds a request's body may pause between two chunks
    metrics_token: str | None = None  # bearer token of GET /metrics; unset: no metrics at all (404)
    metrics_dir: Path | None = None  # multiprocess metrics of `sono serve`; None: $SONO_DATA_DIR/metrics
    subsonic_key: str | None = None  # app passwords' encryption key (32 bytes, hex or base64); None: secrets/
    subsonic_token_auth: bool = True  # Subsonic t+s authentication (needs the secrets sealed, not only hashed)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def upload_dir(self) -> Path:
        """Where uploads are spooled while they arrive (on the data dir's disk, never in memory)."""
        return self.data_dir / "tmp"

    @property
    def metrics_enabled(self) -> bool:
        return self.metrics_token is not None

    @property
    def metrics_multiprocess_dir(self) -> Path:
        """Where the worker processes of ``sono serve`` keep their metrics, to be added up."""
        return self.metrics_dir or self.data_dir / "metrics"


KNOWN_VARIABLES = frozenset(
    {
        "SONO_ENV",
        "SONO_DATA_DIR",
        "SONO_DATABASE_URL",
        "SONO_DATABASE_LISTEN_URL",
        "SONO_REDIS_URL",
        "SONO_PUBLIC_URL",
        "SONO_STORAGE",
        "SONO_S3_ENDPOINT_URL",
        "SONO_S3_BUCKET",
        "SONO_S3_ACCESS_KEY",
        "SONO_S3_SECRET_KEY",
        "SONO_S3_REGION",
        "SONO_S3_PUBLIC_URL",
        "SONO_S3_PUBLIC_ENDPOINT",
        "SONO_SMTP_HOST",
        "SONO_SMTP_PORT",
        "SONO_SMTP_USERNAME",
        "SONO_SMTP_PASSWORD",
        "SONO_SMTP_FROM",
        "SONO_SMTP_STARTTLS",
        "SONO_SMTP_TIMEOUT",
        "SONO_FRONTEND_URL",
        "SONO_SECRET_KEY",
        "SONO_REFRESH_SECRET_KEY",
        "SONO_RSA_PRIVATE_KEY_FILE",
        "SONO_TRUSTED_PROXIES",
        "SONO_CORS_ORIGINS",
        "SONO_ACCESS_TOKEN_MINUTES",
        "SONO_REFRESH_TOKEN_DAYS",
        "SONO_REFRESH_GRACE_SECONDS",
        "SONO_MEDIA_URL_TTL_SECONDS",
        "SONO_ARGON2_MEMORY_KIB",
        "SONO_ARGON2_TIME_COST",
        "SONO_AUDIT_RETENTION_DAYS",
        "SONO_DEFAULT_UPLOAD_LIMIT",
        "SONO_ARGON2_PARALLELISM",
        "SONO_HASH_CONCURRENCY",
        "SONO_IMAGE_DECODES",
        "SONO_MIGRATE_ON_START",
        "SONO_JOBS_ENABLED",
        "SONO_JOBS_INTERVAL_SECONDS",
        "SONO_JOB_ENGINE",
        "SONO_RATE_LIMITS_ENABLED",
        "SONO_ALLOW_INSECURE",
        "SONO_LOG_LEVEL",
        "SONO_LOG_FORMAT",
        "SONO_DB_CONNECT_TIMEOUT",
        "SONO_DB_STATEMENT_TIMEOUT",
        "SONO_DB_REQUEST_TIMEOUT",
        "SONO_HEADER_TIMEOUT_SECONDS",
        "SONO_BODY_IDLE_TIMEOUT",
        "SONO_METRICS_TOKEN",
        "SONO_METRICS_DIR",
        "SONO_SUBSONIC_KEY",
        "SONO_SUBSONIC_TOKEN_AUTH",
    }
)
"""Every ``SONO_*`` variable ``load_settings`` reads."""

_NOT_SETTINGS = ("SONO_TEST_", "SONO_CI_VENV")  # read by the tests and by CI, not by Sono


def unknown_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``SONO_*`` variable that no setting reads (a typo, most likely), naming the
    known variable it is closest to, if any."""
    warnings = []
    for name in sorted(os.environ if env is None else env):
        if not name.startswith("SONO_") or name in KNOWN_VARIABLES or name.startswith(_NOT_SETTINGS):
            continue
        close = difflib.get_close_matches(name, sorted(KNOWN_VARIABLES), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"unknown variable {name} is ignored{hint}")
    return warnings


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def flag(self, name: str, default: bool | None) -> bool | None:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, got {value!r}")

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {value!r}") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{name} must be {bound}, got {number}")
        return number

    def number(self, name: str, default: float) -> float:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if number <= 0:
            raise ConfigError(f"{name} must be positive, got {number}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = (self.text(name) or default).lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        scheme = value.split(":", 1)[0].lower()
        if "://" not in value or not any(scheme == s or scheme.startswith(s + "+") for s in schemes):
            raise ConfigError(f"{name} must be a URL with scheme {'/'.join(schemes)}, got {value!r}")
        return value

    def csv(self, name: str) -> tuple[str, ...]:
        value = self.text(name)
        if value is None:
            return ()
        return tuple(part.strip() for part in value.split(",") if part.strip())


def _normalize_database_url(name: str, url: str) -> str:
    """Accept the plain scheme names operators write and select the async drivers."""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ConfigError(f"{name} must be a postgresql:// or sqlite:// URL, got {scheme + sep!r}")


def load_dotenv_file(path: Path = Path(".env")) -> None:
    """Read ``.env`` into the process environment without overriding what is already set."""
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def tracing_requested(env: Mapping[str, str]) -> bool:
    """Whether the standard OpenTelemetry variables ask for traces: a traces exporter other than
    ``none``, or an OTLP endpoint; never with ``OTEL_SDK_DISABLED=true``."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build and validate the settings. Raises ``ConfigError`` naming the first bad variable."""
    r = _Reader(os.environ if env is None else env)
    environment = r.choice("SONO_ENV", "development", ("development", "production"))
    data_dir = Path(r.text("SONO_DATA_DIR", "./var") or "./var")

    database_url = r.url("SONO_DATABASE_URL", ("postgresql", "postgres", "sqlite"))
    if database_url is None:
        database_url = f"sqlite+aiosqlite:///{(data_dir / 'sono.db').resolve()}"
    else:
        database_url = _normalize_database_url("SONO_DATABASE_URL", database_url)
    listen_url = r.url("SONO_DATABASE_LISTEN_URL", ("postgresql", "postgres"))
    if listen_url is not None:
        if database_url.startswith("sqlite"):
            raise ConfigError("SONO_DATABASE_LISTEN_URL is for PostgreSQL: SONO_DATABASE_URL is SQLite")
        listen_url = _normalize_database_url("SONO_DATABASE_LISTEN_URL", listen_url)
    kworb_url = r.url("KWORB_DATABASE_URL", ("postgresql", "postgres", "sqlite"))
    if kworb_url is not None:
        kworb_url = _normalize_database_url("KWORB_DATABASE_URL", kworb_url)

    proxies: list[IPNetwork] = []
    for item in r.csv("SONO_TRUSTED_PROXIES"):
        try:
            proxies.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"SONO_TRUSTED_PROXIES has an invalid IP or CIDR: {item!r}") from None

    storage = r.choice("SONO_STORAGE", "local", ("local", "s3"))
    rsa_file = r.text("SONO_RSA_PRIVATE_KEY_FILE")
    metrics_dir = r.text("SONO_METRICS_DIR")
    starttls = r.flag("SONO_SMTP_STARTTLS", None)
    settings = Settings(
        env=environment,  # type: ignore[arg-type]
        data_dir=data_dir,
        database_url=database_url,
        database_listen_url=listen_url,
        redis_url=r.url("SONO_REDIS_URL", ("redis", "rediss", "unix")),
        kworb_database_url=kworb_url,
        public_url=(r.url("SONO_PUBLIC_URL", ("http", "https")) or "").rstrip("/") or None,
        storage=storage,  # type: ignore[arg-type]
        s3_endpoint_url=r.url("SONO_S3_ENDPOINT_URL", ("http", "https")),
        s3_bucket=r.text("SONO_S3_BUCKET", "sono") or "sono",
        s3_access_key=r.text("SONO_S3_ACCESS_KEY"),
        s3_secret_key=r.text("SONO_S3_SECRET_KEY"),
        s3_region=r.text("SONO_S3_REGION", "us-east-1") or "us-east-1",
        s3_public_url=(r.url("SONO_S3_PUBLIC_URL", ("http", "https")) or "").rstrip("/") or None,
        s3_public_endpoint=(r.url("SONO_S3_PUBLIC_ENDPOINT", ("http", "https")) or "").rstrip("/") or None,
        smtp_host=r.text("SONO_SMTP_HOST"),
        smtp_port=r.integer("SONO_SMTP_PORT", 587, minimum=1, maximum=65535),
        smtp_username=r.text("SONO_SMTP_USERNAME"),
        smtp_password=r.text("SONO_SMTP_PASSWORD"),
        smtp_from=r.text("SONO_SMTP_FROM", "Sono <no-reply@sono.local>") or "",
        smtp_starttls=starttls,
        smtp_timeout=r.number("SONO_SMTP_TIMEOUT", 10.0),
        frontend_url=(r.url("SONO_FRONTEND_URL", ("http", "https")) or "http://localhost:5173").rstrip("/"),
        secret_key=r.text("SONO_SECRET_KEY"),
        refresh_secret_key=r.text("SONO_REFRESH_SECRET_KEY"),
        rsa_private_key_file=Path(rsa_file) if rsa_file else None,
        trusted_proxies=tuple(proxies),
        cors_origins=r.csv("SONO_CORS_ORIGINS"),
        access_token_minutes=r.integer("SONO_ACCESS_TOKEN_MINUTES", 30, minimum=1, maximum=24 * 60),
        refresh_token_days=r.integer("SONO_REFRESH_TOKEN_DAYS", 7, minimum=1, maximum=365),
        refresh_grace_seconds=r.integer("SONO_REFRESH_GRACE_SECONDS", 60, minimum=0, maximum=3600),
        audit_retention_days=r.integer("SONO_AUDIT_RETENTION_DAYS", 365, minimum=0, maximum=36500),
        default_upload_limit=r.integer("SONO_DEFAULT_UPLOAD_LIMIT", 20, minimum=0, maximum=1_000_000),
        media_url_ttl_seconds=r.integer("SONO_MEDIA_URL_TTL_SECONDS", 12 * 3600, minimum=60, maximum=7 * 86400),
        argon2_memory_kib=r.integer("SONO_ARGON2_MEMORY_KIB", 19456, minimum=8, maximum=4 * 1024 * 1024),
        argon2_time_cost=r.integer("SONO_ARGON2_TIME_COST", 2, minimum=1, maximum=100),
        argon2_parallelism=r.integer("SONO_ARGON2_PARALLELISM", 1, minimum=1, maximum=64),
        hash_concurrency=r.integer("SONO_HASH_CONCURRENCY", max(1, os.cpu_count() or 1), minimum=1, maximum=256),
        image_decodes=r.integer("SONO_IMAGE_DECODES", 2, minimum=1, maximum=64),
        migrate_on_start=bool(r.flag("SONO_MIGRATE_ON_START", True)),
        jobs_enabled=bool(r.flag("SONO_JOBS_ENABLED", True)),
        jobs_interval_seconds=r.integer("SONO_JOBS_INTERVAL_SECONDS", 60, minimum=1),
        job_engine=r.choice("SONO_JOB_ENGINE", "inprocess", ("inprocess", "saq")),
        rate_limits_enabled=bool(r.flag("SONO_RATE_LIMITS_ENABLED", True)),
        allow_insecure=bool(r.flag("SONO_ALLOW_INSECURE", False)),
        log_level=r.choice("SONO_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
        log_format=r.choice("SONO_LOG_FORMAT", "text", ("text", "json")),
        tracing_enabled=tracing_requested(os.environ if env is None else env),
        db_connect_timeout=r.number("SONO_DB_CONNECT_TIMEOUT", 5.0),
        db_statement_timeout=r.number("SONO_DB_STATEMENT_TIMEOUT", 15.0),
        db_request_timeout=r.number("SONO_DB_REQUEST_TIMEOUT", 5.0),
        header_timeout_seconds=r.number("SONO_HEADER_TIMEOUT_SECONDS", 10.0),
        body_idle_timeout=r.number("SONO_BODY_IDLE_TIMEOUT", 30.0),
        metrics_token=r.text("SONO_METRICS_TOKEN"),
        metrics_dir=Path(metrics_dir) if metrics_dir else None,
        subsonic_key=r.text("SONO_SUBSONIC_KEY"),
        subsonic_token_auth=bool(r.flag("SONO_SUBSONIC_TOKEN_AUTH", True)),
    )
    if settings.job_engine == "saq" and not settings.redis_url:
        raise ConfigError("SONO_JOB_ENGINE=saq needs SONO_REDIS_URL (SAQ keeps its queue in Redis)")
    if storage == "s3" and not settings.s3_bucket:
        raise ConfigError("SONO_S3_BUCKET must be set when SONO_STORAGE=s3")
    if settings.is_production and not settings.allow_insecure:
        if not settings.secret_key:
            raise ConfigError("SONO_SECRET_KEY must be set when SONO_ENV=production")
        if not settings.refresh_secret_key:
            raise ConfigError("SONO_REFRESH_SECRET_KEY must be set when SONO_ENV=production")
        if settings.is_sqlite:
            raise ConfigError(
                "SONO_DATABASE_URL must point to PostgreSQL when SONO_ENV=production "
                "(set SONO_ALLOW_INSECURE=true to run on SQLite anyway)"
            )
    if settings.metrics_token is not None and len(settings.metrics_token) < 16:
        raise ConfigError("SONO_METRICS_TOKEN must be at least 16 characters")
    if settings.metrics_dir is not None and settings.metrics_dir.resolve() == data_dir.resolve():
        raise ConfigError("SONO_METRICS_DIR must be a folder of its own, not SONO_DATA_DIR")
    for name, key in (
        ("SONO_SECRET_KEY", settings.secret_key),
        ("SONO_REFRESH_SECRET_KEY", settings.refresh_secret_key),
    ):
        if key is not None and len(key) < 32:
            raise ConfigError(f"{name} must be at least 32 characters")
    return settings
