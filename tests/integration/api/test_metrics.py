"""``GET /metrics``: off without ``SONO_METRICS_TOKEN``, bearer-protected with it, and what a scrape
shows after requests (route templates, never raw paths or ids; the core's, the pool's, the rate
limiter's, the uploads' and the media's counts), on each backend."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.media import mp3_bytes
from tests.integration.api.audio_support import upload
from tests.integration.api.conftest import Api, MakeApi, bearer

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api(SONO_METRICS_TOKEN=TOKEN)


async def scrape(api: Api) -> str:
    response = await api.client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The values of the samples called ``name``, by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def label_values(text: str) -> set[str]:
    """Every label value of every sample."""
    return {
        v
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for v in sample.labels.values()
    }


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for key, v in samples(text, name).items() if wanted <= set(key))


async def test_metrics_are_off_without_a_token(make_api: MakeApi) -> None:
    api = await make_api()
    response = await api.client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_a_scrape_needs_the_token(api: Api) -> None:
    for headers in ({}, bearer("wrong-token-0123456789abcdef"), {"Authorization": f"Basic {TOKEN}"}, bearer("")):
        response = await api.client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"detail": "Not authenticated"}
        assert response.headers["www-authenticate"] == "Bearer"
        assert "sono_" not in response.text
    assert "sono_http_requests_total" in await scrape(api)


async def test_requests_are_counted_under_their_route_template(api: Api) -> None:
    for _ in range(3):
        assert (await api.client.get("/api/v1/audio/987654")).status_code == 404
    assert (await api.client.get("/no/such/path-4242")).status_code == 404
    assert (await api.client.post("/api/v1/users/", json={})).status_code == 422

    text = await scrape(api)
    route = "/api/v1/audio/{audio_id}"
    assert value(text, "sono_http_requests_total", route=route, method="GET", status="404") == 3
    assert value(text, "sono_http_request_duration_seconds_count", route=route, method="GET") == 3
    assert value(text, "sono_http_requests_total", route="<unmatched>", status="404") == 1
    assert value(text, "sono_http_requests_total", route="/api/v1/users", method="POST", status="422") == 1
    assert value(text, "sono_http_request_bytes_total", route="/api/v1/users", method="POST") == len(b"{}")
    assert value(text, "sono_http_response_bytes_total", route=route, method="GET") > 0
    # the scrape itself is in flight while it renders; nothing else is
    assert value(text, "sono_http_requests_in_flight") == 1
    # no raw path, no id, in any label (the values are floats and may hold any digits)
    labels = label_values(text)
    assert route in labels
    assert not [v for v in labels if "987654" in v or "4242" in v or "/no/such" in v]
    # the use cases behind them, by name
    assert value(text, "sono_use_case_duration_seconds_count", use_case="audio.GetAudio") >= 3
    assert value(text, "sono_use_case_errors_total", use_case="audio.GetAudio", error="NotFound") >= 3


async def test_the_pool_and_the_maintenance_cache_are_reported(api: Api) -> None:
    assert (await api.client.get("/api/v1/audio/1")).status_code == 404
    text = await scrape(api)
    in_use = samples(text, "sono_db_pool_in_use")
    assert (("pool", "main"),) in in_use
    assert in_use[(("pool", "main"),)] == 0  # every connection is back
    assert (("pool", "main"),) in samples(text, "sono_db_pool_overflow")
    # the request looked the maintenance state up once (a hit or a miss: that is the clock's business,
    # tested with an injected one in tests/unit/test_metrics.py)
    assert value(text, "sono_cache_lookups_total", cache="maintenance") == 1


async def test_rate_limit_rejections_and_failed_logins_are_counted_by_route(api: Api) -> None:
    await api.account("alice")
    for _ in range(3):
        assert (await api.login("alice", "Wr0ng!Password")).status_code == 401
    statuses = [(await api.login("nobody", "Wr0ng!Password")).status_code for _ in range(8)]
    assert statuses[-1] == 429

    text = await scrape(api)
    route = "/api/v1/users/token"
    assert value(text, "sono_login_failures_total", route=route, reason="NotAuthenticated") == statuses.count(401) + 3
    assert value(text, "sono_rate_limit_rejections_total", route=route) == statuses.count(429)
    assert value(text, "sono_use_case_duration_seconds_count", use_case="accounts.Login") >= 4  # on the bus
    assert "alice" not in text
    assert "nobody" not in text


async def test_uploads_and_downloads_are_counted_in_bytes(api: Api) -> None:
    alice = await api.account("alice")
    data = mp3_bytes()
    response = await upload(api, alice, data)
    assert response.status_code == 201, response.text
    audio_id = response.json()["id"]
    assert (await upload(api, alice, b"", "empty.mp3")).status_code == 400
    assert (await upload(api, alice, b"not audio at all", "fake.mp3")).status_code == 415

    download = await api.client.get(f"/api/v1/audio/{audio_id}/download", headers=alice.headers)
    assert download.status_code == 200
    assert download.content == data

    text = await scrape(api)
    route = "/api/v1/audio/upload"
    assert value(text, "sono_uploads_total", route=route) == 1
    assert value(text, "sono_upload_bytes_total", route=route) == len(data)
    assert value(text, "sono_uploads_refused_total", route=route, reason="empty") == 1
    assert value(text, "sono_uploads_refused_total", route=route, reason="unsupported_type") == 1
    assert value(text, "sono_media_sent_bytes_total", kind="download") == len(data)
    assert value(text, "sono_http_requests_total", route="/api/v1/audio/{audio_id}/download", status="200") == 1
    assert not re.search(rf"\b{audio_id}/download", text)


async def test_metrics_are_not_part_of_the_api_document(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    assert not any("metrics" in path for path in document["paths"])


async def test_hostile_scrapes_are_refused_cleanly(api: Api) -> None:
    hostile = [
        {"Authorization": b"Bearer \xff\xfe" + TOKEN.encode()},
        {"Authorization": "Bearer " + TOKEN + "x"},
        {"Authorization": "Bearer " + TOKEN[:-1]},
        {"Authorization": "Bearer " + "A" * 60_000},
        {"Authorization": "Bearer"},
    ]
    for headers in hostile:
        response = await api.client.get("/metrics", headers=headers)
        assert response.status_code == 401
    assert (await api.client.post("/metrics", headers=bearer(TOKEN))).status_code in (404, 405)
    head = await api.client.head("/metrics", headers=bearer(TOKEN))
    assert head.status_code == 200
    assert head.content == b""
    assert (await api.client.get("/metrics?debug=1", headers=bearer(TOKEN))).status_code == 200


async def test_path_parameters_never_reach_the_labels(api: Api) -> None:
    assert (await api.client.get("/api/v1/media/secret-user-folder/song%20name.mp3")).status_code in (403, 404)
    assert (await api.client.request("BREW", "/api/v1/audio/5551234")).status_code in (404, 405)
    text = await scrape(api)
    assert value(text, "sono_http_requests_total", route="/api/v1/media/{key}") == 1
    assert value(text, "sono_http_requests_total", method="OTHER") == 1
    assert not [v for v in label_values(text) if "secret-user-folder" in v or "5551234" in v or "BREW" in v]
    assert "secret-user-folder" not in text and "BREW" not in text


async def test_the_public_audio_lists_kept_answers_are_counted_and_follow_changes(api: Api) -> None:
    """The public list's answers are kept (``public_audio``): a repeated request is a hit, and an
    upload or a file made private shows in the very next list (a miss, answered anew)."""
    alice = await api.account("alice")
    first = (await upload(api, alice, mp3_bytes(), is_public="true", title="first")).json()
    lists = [(await api.client.get("/api/v1/audio/public")).json() for _ in range(2)]
    assert lists[0] == lists[1] and [f["title"] for f in lists[0]["items"]] == ["first"]
    text = await scrape(api)
    assert value(text, "sono_cache_lookups_total", cache="public_audio", result="miss") == 1
    assert value(text, "sono_cache_lookups_total", cache="public_audio", result="hit") == 1
    assert value(text, "sono_cache_entries", cache="public_audio") == 1

    assert (await upload(api, alice, mp3_bytes(), is_public="true", title="second")).status_code == 201
    listed = (await api.client.get("/api/v1/audio/public")).json()
    assert [f["title"] for f in listed["items"]] == ["second", "first"]
    changed = await api.client.put(f"/api/v1/audio/{first['id']}", json={"is_public": False}, headers=alice.headers)
    assert changed.status_code == 200
    listed = (await api.client.get("/api/v1/audio/public")).json()
    assert [f["title"] for f in listed["items"]] == ["second"]
    text = await scrape(api)
    assert value(text, "sono_cache_lookups_total", cache="public_audio", result="miss") == 3
    assert value(text, "sono_cache_lookups_total", cache="public_audio", result="hit") == 1
