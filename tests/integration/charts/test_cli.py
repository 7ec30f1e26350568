"""``sono kworb import``, run in-process through ``main([...])``: into the default SQLite file or
into ``KWORB_DATABASE_URL`` (SQLite or PostgreSQL), and refusing malformed pages."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from sono.adapters.charts.reader import SqlChartsReader
from sono.application.charts import ChartsService
from sono.config import load_settings
from sono.entrypoints.cli import main
from tests.fixtures.kworb import page


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def field(self, name: str) -> str:
        for line in self.out.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key == name:
                return value
        raise AssertionError(f"no {name!r} line in {self.out!r}")


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean ``SONO_*``/``KWORB_*`` environment on a fresh data directory, without a .env."""
    for name in list(os.environ):
        if name.startswith(("SONO_", "KWORB_")) and not name.startswith("SONO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SONO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SONO_LOG_LEVEL", "warning")
    return tmp_path / "data"


def kworb_import(capsys: pytest.CaptureFixture[str], *, artists: str = "artists.html") -> Result:
    capsys.readouterr()
    code = main(
        [
            "kworb",
            "import",
            "--artists",
            page(artists),
            "--listeners",
            page("listeners.html"),
            "--songs",
            page("songs.html"),
        ]
    )
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def top_streamed(url: str) -> list[str]:
    """The most streamed artists as the API would read them from ``url`` (as an operator writes it)."""

    async def read() -> list[str]:
        settings = load_settings({"KWORB_DATABASE_URL": url})
        assert settings.kworb_database_url is not None
        reader = SqlChartsReader.from_url(settings.kworb_database_url)
        try:
            return [row.artist for row in await ChartsService(reader).top_streamed_artists(limit=1000)]
        finally:
            await reader.aclose()

    return asyncio.run(read())


def test_without_kworb_database_url_the_charts_go_to_a_sqlite_file_to_serve(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = kworb_import(capsys)

    assert result.code == 0, result.err
    url = f"sqlite:///{(data_dir / 'kworb.db').resolve()}"
    assert (result.field("top_streamed_artists"), result.field("monthly_listeners"), result.field("top_songs")) == (
        "5",
        "4",
        "4",
    )
    assert result.field("scraped_at").endswith("Z")
    assert result.field("kworb_database_url") == url
    assert f"set KWORB_DATABASE_URL={url} for `sono serve` to serve these charts" in result.out
    assert top_streamed(url) == ["Taylor Swift", "Drake", "The Weeknd", "AC/DC", "Beyoncé"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_with_kworb_database_url_the_charts_go_there(
    request: pytest.FixtureRequest,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{data_dir.parent / 'elsewhere' / 'charts.db'}"
    else:
        url = request.getfixturevalue("postgres_url").replace("+asyncpg", "")
    monkeypatch.setenv("KWORB_DATABASE_URL", url)

    result = kworb_import(capsys)

    assert result.code == 0, result.err
    assert "set KWORB_DATABASE_URL" not in result.out
    assert not (data_dir / "kworb.db").exists()
    assert top_streamed(url) == ["Taylor Swift", "Drake", "The Weeknd", "AC/DC", "Beyoncé"]


def test_a_malformed_page_fails_and_keeps_the_previous_charts(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kworb_import(capsys).code == 0
    url = f"sqlite:///{(data_dir / 'kworb.db').resolve()}"

    result = kworb_import(capsys, artists="not_a_chart.html")

    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(f"error: {page('not_a_chart.html')}: no most streamed artists table")
    assert top_streamed(url) == ["Taylor Swift", "Drake", "The Weeknd", "AC/DC", "Beyoncé"]


def test_an_unreadable_page_fails_saying_so(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = kworb_import(capsys, artists="missing.html")

    assert result.code == 1
    assert result.err == f"error: {page('missing.html')}: cannot read the file (No such file or directory)\n"
