"""The settings' defaults that the contract and the clients rely on, read from an empty environment
(``load_settings`` reads only the mapping it is given; the command line loads ``.env`` before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sono.config import ConfigError, load_settings


def test_embedded_defaults() -> None:
    settings = load_settings({})
    assert settings.data_dir == Path("./var")
    assert settings.database_url.startswith("sqlite+aiosqlite:///") and settings.database_url.endswith("sono.db")
    assert (settings.storage, settings.redis_url, settings.smtp_host) == ("local", None, None)


def test_token_and_media_url_lifetimes() -> None:
    settings = load_settings({})
    assert settings.access_token_minutes == 30
    assert settings.refresh_token_days == 7
    assert settings.refresh_grace_seconds == 60
    assert settings.media_url_ttl_seconds == 12 * 3600  # signed media URLs live 12 hours


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [("SONO_REFRESH_GRACE_SECONDS", "0", 0), ("SONO_MEDIA_URL_TTL_SECONDS", "3600", 3600)],
)
def test_lifetimes_are_settings(variable: str, value: str, expected: int) -> None:
    settings = load_settings({variable: value})
    assert getattr(settings, variable.removeprefix("SONO_").lower()) == expected


@pytest.mark.parametrize(
    ("variable", "value"), [("SONO_MEDIA_URL_TTL_SECONDS", "59"), ("SONO_REFRESH_GRACE_SECONDS", "-1")]
)
def test_lifetimes_out_of_range_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_the_listening_url_is_postgresqls_and_defaults_to_the_database() -> None:
    """Where each process listens for the others' commits: the database itself unless set (to the
    server behind a transaction-mode pool, where ``LISTEN`` cannot work)."""
    pooled = {"SONO_DATABASE_URL": "postgresql://sono@pgbouncer:6432/sono"}
    assert load_settings(pooled).database_listen_url is None
    direct = load_settings(pooled | {"SONO_DATABASE_LISTEN_URL": "postgres://sono@db:5432/sono"})
    assert direct.database_listen_url == "postgresql+asyncpg://sono@db:5432/sono"
    with pytest.raises(ConfigError, match="SONO_DATABASE_LISTEN_URL"):
        load_settings({"SONO_DATABASE_LISTEN_URL": "postgresql://sono@db:5432/sono"})  # SQLite's default
    with pytest.raises(ConfigError, match="SONO_DATABASE_LISTEN_URL"):
        load_settings(pooled | {"SONO_DATABASE_LISTEN_URL": "sqlite:///elsewhere.db"})
