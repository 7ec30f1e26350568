"""``/api/v1/kworb`` end to end (ASGI, in-process): Sono's own database on SQLite, the charts
database on SQLite or PostgreSQL, in either layout."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sono.adapters.charts import reader as reader_module
from tests.fixtures.kworb import LISTENERS, SONGS, STREAMED, stamped
from tests.integration.api.conftest import Api, MakeApi
from tests.integration.charts.conftest import ChartsDb

CHARTS = {
    "top-streamed-artists": STREAMED,
    "monthly-listeners": LISTENERS,
    "top-songs": SONGS,
}
FIELDS = {
    "top-streamed-artists": ["rank", "artist", "streams", "daily", "as_lead", "solo", "as_feature", "scraped_at"],
    "monthly-listeners": ["rank", "artist", "listeners", "peak", "peak_date", "scraped_at"],
    "top-songs": ["rank", "title", "artist", "streams", "daily", "scraped_at"],
}
LIST_PATHS = [f"/api/v1/kworb/{chart}" for chart in CHARTS]
ALL_PATHS = [*LIST_PATHS, "/api/v1/kworb/artist/Drake"]


def as_json(row: Any) -> dict[str, Any]:
    """A chart row as the reference shows it: dates as ``YYYY-MM-DD``, timestamps in UTC with ``Z``."""

    def value(item: Any) -> Any:
        if isinstance(item, datetime):
            return item.isoformat().replace("+00:00", "Z")
        if isinstance(item, date):
            return item.isoformat()
        return item

    return {key: value(item) for key, item in asdict(row).items()}


ONE_DATABASE = pytest.mark.parametrize("charts_target", [("sqlite", "sono")], indirect=True, ids=["sqlite-sono"])
"""For tests the charts database makes no difference to."""


def artist_path(name: str) -> str:
    return f"/api/v1/kworb/artist/{quote(name, safe='')}"


@pytest.fixture
async def api(make_api: MakeApi, charts_db: ChartsDb) -> Api:
    return await make_api(KWORB_DATABASE_URL=charts_db.url)


# --------------------------------------------------------------------------- lists


@pytest.mark.parametrize("chart", list(CHARTS))
async def test_each_chart_answers_the_reference_shape(api: Api, charts_db: ChartsDb, chart: str) -> None:
    response = await api.client.get(f"/api/v1/kworb/{chart}", params={"limit": 1000})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == [as_json(row) for row in stamped(CHARTS[chart], charts_db.layout)]
    assert all(list(item) == FIELDS[chart] for item in body)
    assert all(type(item["rank"]) is int for item in body)
    if charts_db.layout == "sono":
        assert body[0]["scraped_at"] == "2026-01-02T03:04:05Z"
    else:
        assert {item["scraped_at"] for item in body} == {None}


async def test_lists_default_to_a_hundred_and_follow_limit_and_offset(api: Api, charts_db: ChartsDb) -> None:
    everything = [as_json(row) for row in stamped(STREAMED, charts_db.layout)]

    default = await api.client.get("/api/v1/kworb/top-streamed-artists")
    page = await api.client.get("/api/v1/kworb/top-streamed-artists", params={"limit": 2, "offset": 1})

    assert default.json() == everything[:100]
    assert page.json() == everything[1:3]


# --------------------------------------------------------------------------- artist search


async def test_artist_search_answers_three_lists_exact_first(api: Api, charts_db: ChartsDb) -> None:
    response = await api.client.get(artist_path("drake"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["top_streamed", "monthly_listeners", "top_songs"]
    assert [item["artist"] for item in body["top_streamed"]] == [
        "Drake",
        "Drakeo the Ruler",
        *(f"Drake Tribute Band {i}" for i in range(8)),
    ]
    listeners = {row.rank: as_json(row) for row in stamped(LISTENERS, charts_db.layout)}
    assert body["monthly_listeners"] == [listeners[4], listeners[2]]  # "DRAKE" is *the* artist
    assert [(item["rank"], item["artist"], item["title"]) for item in body["top_songs"]] == [
        (2, "Drake", "One Dance"),
        (12, "Drake", "Hotline Bling"),
        (4, "Drakeo the Ruler", "Talk to Me"),
        (8, "Drake & Rihanna", "Too Good - Remix"),
    ]


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("AC/DC", ["AC/DC"]),
        ("/", ["AC/DC", "Hall // Oates"]),
        ("Hall // Oates", ["Hall // Oates"]),
        ("l // O", ["Hall // Oates"]),
        ("s/", []),
        ("100%", ["100% Pure"]),
        ("%", ["100% Pure"]),
        ("e_B", ["The_Band"]),
        ("BEYONCÉ", ["Beyoncé"]),
        (" ", ["Taylor Swift", "Drakeo the Ruler", "The Weeknd", "100% Pure", "1000 Pure", "Hall // Oates"]),
    ],
)
async def test_artist_names_are_taken_literally(api: Api, name: str, found: list[str]) -> None:
    response = await api.client.get(artist_path(name))

    assert response.status_code == 200, response.text
    assert [item["artist"] for item in response.json()["top_streamed"]][:6] == found


@ONE_DATABASE
async def test_a_name_of_a_hundred_characters_is_searched(api: Api) -> None:
    response = await api.client.get(artist_path("x" * 100))

    assert response.status_code == 200
    assert response.json() == {"top_streamed": [], "monthly_listeners": [], "top_songs": []}


@ONE_DATABASE
@pytest.mark.parametrize("path", ALL_PATHS)
async def test_bearer_tokens_are_ignored(api: Api, path: str) -> None:
    for token in ("expired.or.forged", "not-a-jwt"):
        response = await api.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- 422


@ONE_DATABASE
@pytest.mark.parametrize(
    ("query", "loc", "msg"),
    [
        ("limit=0", ["query", "limit"], "Limit must be between 1 and 1000"),
        ("limit=1001", ["query", "limit"], "Limit must be between 1 and 1000"),
        ("offset=-1", ["query", "offset"], "Offset must be at least 0"),
        ("limit=ten", ["query", "limit"], None),
        ("offset=1.5", ["query", "offset"], None),
    ],
)
@pytest.mark.parametrize("path", LIST_PATHS)
async def test_lists_refuse_bad_pages(api: Api, path: str, query: str, loc: list[str], msg: str | None) -> None:
    response = await api.client.get(f"{path}?{query}")

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert isinstance(error["msg"], str) and error["msg"]
    assert isinstance(error["type"], str) and error["type"]
    if msg is not None:
        assert error["msg"] == msg


@ONE_DATABASE
@pytest.mark.parametrize(
    ("raw_name", "msg"),
    [
        ("x" * 101, "Artist name must be at most 100 characters"),
        ("%C3%A9" * 101, "Artist name must be at most 100 characters"),
        ("Dr%00ake", "Artist name must not contain NUL characters"),
        ("%FF", "Artist name must be valid UTF-8"),
    ],
)
async def test_artist_search_refuses_bad_names(api: Api, raw_name: str, msg: str) -> None:
    response = await api.client.get(f"/api/v1/kworb/artist/{raw_name}")

    assert response.status_code == 422, response.text
    assert response.json() == {"detail": [{"loc": ["path", "artist_name"], "msg": msg, "type": "value_error"}]}


# --------------------------------------------------------------------------- health


async def test_readiness_reports_the_charts_database(api: Api) -> None:
    response = await api.client.get("/health/ready")

    assert response.status_code == 200, response.text
    assert response.json()["checks"]["charts"] == "ok"


# --------------------------------------------------------------------------- 503


@pytest.mark.parametrize("path", ALL_PATHS)
async def test_without_kworb_database_url_every_chart_is_503(make_api: MakeApi, path: str) -> None:
    api = await make_api()

    response = await api.client.get(path)

    assert response.status_code == 503
    assert response.json() == {"detail": "Kworb database not configured"}
    assert "charts" not in (await api.client.get("/health/ready")).json()["checks"]


@pytest.fixture(params=["refused", "silent", "missing-file", "no-charts"])
def unusable_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A charts database that cannot be used, and the detail of the 503 it causes."""
    if request.param == "refused":
        port = request.getfixturevalue("closed_port")
        return f"postgresql://postgres@127.0.0.1:{port}/kworb", "Kworb charts database unavailable"
    if request.param == "silent":
        port = request.getfixturevalue("silent_port")
        # a silent server is given up on sooner (only here: a loaded machine may take longer than
        # this to read an empty file, which must answer its own detail)
        request.getfixturevalue("monkeypatch").setattr(reader_module, "READ_TIMEOUT_SECONDS", 0.2)
        return f"postgresql://postgres@127.0.0.1:{port}/kworb", "Kworb charts database unavailable"
    if request.param == "missing-file":
        return f"sqlite:///{tmp_path / 'missing.db'}", "Kworb charts database unavailable"
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    return f"sqlite:///{empty}", "Kworb charts database has no charts"


async def test_an_unusable_charts_database_is_503_and_not_ready(
    make_api: MakeApi, unusable_url: tuple[str, str]
) -> None:
    url, detail = unusable_url
    api = await make_api(KWORB_DATABASE_URL=url)

    for path in ALL_PATHS:
        response = await api.client.get(path)
        assert response.status_code == 503, response.text
        assert response.json() == {"detail": detail}
    ready = await api.client.get("/health/ready")  # the rest of the API serves: degraded, not down
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["charts"] == "degraded"
