"""Charts databases for the tests: SQLite or PostgreSQL, in Sono's schema or the scraper's layout,
filled with ``tests.fixtures.kworb``'s rows. ``make_api`` is re-exported from
``tests/integration/api/conftest.py``, on Sono's own database on SQLite."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.kworb import write_charts
from tests.integration.api.conftest import BASE_URL, make_api

__all__ = ["ChartsDb", "make_api"]


@pytest.fixture
def backend_env(tmp_path: Path) -> dict[str, str]:
    """Sono's own database on SQLite with in-process stores (the charts tests vary the charts
    database instead)."""
    return {
        "SONO_DATA_DIR": str(tmp_path / "data"),
        "SONO_PUBLIC_URL": BASE_URL,
        "SONO_JOBS_ENABLED": "false",
    }


@dataclass(frozen=True)
class ChartsDb:
    url: str
    backend: str
    layout: str


@pytest.fixture(
    params=[
        pytest.param(("sqlite", "sono"), id="sqlite-sono"),
        pytest.param(("sqlite", "scraper"), id="sqlite-scraper"),
        pytest.param(("postgres", "sono"), id="postgres-sono", marks=pytest.mark.postgres),
        pytest.param(("postgres", "scraper"), id="postgres-scraper", marks=pytest.mark.postgres),
    ]
)
def charts_target(request: pytest.FixtureRequest, tmp_path: Path) -> ChartsDb:
    """An empty charts database (a SQLite file that does not exist yet, or a fresh PostgreSQL
    database) and the layout to fill it in."""
    backend, layout = request.param
    if backend == "sqlite":
        return ChartsDb(f"sqlite+aiosqlite:///{tmp_path / 'kworb.db'}", backend, layout)
    return ChartsDb(request.getfixturevalue("postgres_url"), backend, layout)


@pytest.fixture
async def charts_db(charts_target: ChartsDb) -> ChartsDb:
    """``charts_target`` filled with the test charts."""
    await write_charts(charts_target.url, charts_target.layout)
    return charts_target


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty charts database on each backend (the SQLite file does not exist yet)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'kworb.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def closed_port() -> int:
    """A loopback port where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])
