"""The conventions every endpoint shares: error bodies, security headers and request ids, body
limits, rate limits and client IPs, CORS, the access log, health, OpenAPI and the docs page."""

from __future__ import annotations

import importlib.metadata
import logging
import re

import httpx
import pytest

from sono import __version__
from tests.integration.api.conftest import PASSWORD, Api, MakeApi, http_client

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
TOO_MANY = {"detail": "Too many requests"}


def assert_edge_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", response.headers["x-request-id"])


# --------------------------------------------------------------------------- errors and headers


async def test_routing_and_parsing_errors(api: Api) -> None:
    unknown = await api.client.get("/no/such/path")
    wrong_method = await api.client.delete("/health")
    bad_json = await api.client.post(
        "/api/v1/users/", content=b'{"username": ', headers={"Content-Type": "application/json"}
    )
    too_large = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": "x" * (1024 * 1024 + 1)})

    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})
    assert "GET" in wrong_method.headers["allow"]
    assert (bad_json.status_code, bad_json.json()) == (400, {"detail": "Invalid JSON body"})
    assert (too_large.status_code, too_large.json()) == (413, {"detail": "Request body too large"})
    for response in (unknown, wrong_method, bad_json, too_large):
        assert_edge_headers(response)


async def test_options_lists_every_method_of_the_path(api: Api) -> None:
    me = await api.client.options("/api/v1/users/me")
    users = await api.client.options("/api/v1/users/")

    assert me.status_code == 204
    assert me.headers["allow"] == "DELETE, GET, OPTIONS, PUT"
    assert users.headers["allow"] == "GET, OPTIONS, POST"  # register, and the admins' user list


async def test_an_empty_json_body_is_422(api: Api) -> None:
    response = await api.client.post("/api/v1/users/token/refresh", headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["body"], "msg": "Field required", "type": "missing"}]}


async def test_an_unexpected_error_is_a_bare_500(api: Api, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    alice = await api.account("alice")

    async def broken(key: object) -> str:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(api.container.media, "url", broken)
    with caplog.at_level(logging.ERROR):
        response = await api.client.get("/api/v1/users/me", headers=alice.headers)

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "hunter2" not in response.text
    assert_edge_headers(response)
    assert "hunter2" in caplog.text  # the cause is in the log, not in the answer


async def test_request_ids(api: Api) -> None:
    echoed = await api.client.get("/health", headers={"X-Request-ID": "abc.DEF_123-4"})
    too_long = await api.client.get("/health", headers={"X-Request-ID": "a" * 65})
    odd = await api.client.get("/health", headers={"X-Request-ID": "<script>"})
    first, second = await api.client.get("/health"), await api.client.get("/health")

    assert echoed.headers["x-request-id"] == "abc.DEF_123-4"
    for response in (too_long, odd, first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_access_log_lines_carry_the_request_and_no_secrets(api: Api, caplog) -> None:
    alice = await api.account("alice")

    with caplog.at_level(logging.INFO, logger="sono.access"):
        response = await api.client.delete(
            "/api/v1/users/me",
            params={"password": "Wr0ng!Secret", "deletion_type": "soft"},
            headers=alice.headers | {"X-Request-ID": "req-42"},
        )

    assert response.status_code == 401
    [record] = [r for r in caplog.records if r.name == "sono.access"]
    line = record.getMessage()
    assert "DELETE /api/v1/users/me?password=***&deletion_type=soft" in line
    assert " 401 " in line
    assert "127.0.0.1" in line
    assert "req-42" in line
    assert record.request_id == "req-42"
    assert "Wr0ng" not in caplog.text
    assert alice.access_token not in caplog.text


# --------------------------------------------------------------------------- rate limits


async def test_the_sixth_registration_in_a_minute_is_429(api: Api) -> None:
    for i in range(5):  # invalid requests count too
        response = await api.register(f"user{i}" if i % 2 else "x")
        assert response.status_code == (201 if i % 2 else 422)

    sixth = await api.register("late")

    assert sixth.status_code == 429
    assert sixth.json() == TOO_MANY
    assert 0 < int(sixth.headers["retry-after"]) <= 60
    assert_edge_headers(sixth)
    assert (await api.login("user1")).status_code == 200  # other endpoints keep their own budget


async def test_login_is_limited_to_ten_a_minute(api: Api) -> None:
    statuses = [(await api.login("nobody")).status_code for _ in range(11)]

    assert statuses == [401] * 10 + [429]


async def test_limits_can_be_switched_off(make_api: MakeApi) -> None:
    api = await make_api(SONO_RATE_LIMITS_ENABLED="false")

    statuses = [(await api.register(f"user{i}")).status_code for i in range(7)]

    assert statuses == [201] * 7


async def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(api: Api) -> None:
    for i in range(5):
        await api.register(f"user{i}", headers={"X-Forwarded-For": f"203.0.113.{i}"})

    response = await api.register("user5", headers={"X-Forwarded-For": "198.51.100.1"})

    assert response.status_code == 429


async def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(make_api: MakeApi) -> None:
    api = await make_api(SONO_TRUSTED_PROXIES="10.0.0.0/8")
    async with http_client(api.app, peer="10.1.2.3") as proxied:

        async def register(name: str, forwarded_for: str) -> int:
            body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
            headers = {"X-Forwarded-For": forwarded_for}
            return (await proxied.post("/api/v1/users/", json=body, headers=headers)).status_code

        assert [await register(f"first{i}", "203.0.113.7") for i in range(6)] == [201] * 5 + [429]
        # the right-most address that is not a trusted proxy is the client
        assert await register("second", "198.51.100.9, 203.0.113.8, 10.0.0.5") == 201
        assert await register("third", "203.0.113.7, 10.0.0.5") == 429

        login = {"username": "second", "password": PASSWORD}
        tokens = (await proxied.post("/api/v1/users/token", data=login)).json()
        consent = await proxied.post(
            "/api/v1/users/me/consent",
            json={"consent_type": "terms", "consent_version": "1"},
            headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Forwarded-For": "192.0.2.44"},
        )
        assert consent.json()["ip_address"] == "192.0.2.44"


# --------------------------------------------------------------------------- CORS


async def test_cors(make_api: MakeApi) -> None:
    api = await make_api(SONO_CORS_ORIGINS="https://app.sono.example")
    origin = {"Origin": "https://app.sono.example"}

    preflight = await api.client.options(
        "/api/v1/users/me",
        headers=origin
        | {
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization, content-type, x-password-encrypted, x-request-id",
        },
    )
    simple = await api.client.get("/health", headers=origin)
    foreign = await api.client.get("/health", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.sono.example"
    assert simple.headers["access-control-allow-origin"] == "https://app.sono.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in foreign.headers


# --------------------------------------------------------------------------- health


async def test_health(api: Api) -> None:
    response = await api.client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "version": __version__, "project_name": "Sono"}
    assert __version__ == importlib.metadata.version("sono")  # the installed package's version
    assert_edge_headers(response)


async def test_root(api: Api) -> None:
    response = await api.client.get("/", headers={"Authorization": "Bearer expired.or.garbage"})

    assert response.status_code == 200
    assert response.json() == {"message": "OK"}
    assert_edge_headers(response)


async def test_readiness(api: Api) -> None:
    response = await api.client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    expected = {"database", "storage"} | ({"cache"} if api.settings.redis_url else set())
    assert set(body["checks"]) == expected
    assert set(body["checks"].values()) == {"ok"}


async def test_readiness_names_what_is_down(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        name = "cache"
        essential = True

        async def check(self) -> None:
            raise ConnectionError("refused")

    class Answering:  # the real database's ping may take longer than the shortened timeout on a busy machine
        name = "database"
        essential = True

        async def check(self) -> None:
            return None

    class Hanging:
        name = "search"
        essential = True

        async def check(self) -> None:
            import asyncio

            await asyncio.Event().wait()  # never answers

    monkeypatch.setattr("sono.entrypoints.http.health.controller.CHECK_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(api.container.ports, "health_checks", [Answering(), Failing(), Hanging()])

    response = await api.client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "Service unavailable: cache, search",
        "checks": {"database": "ok", "cache": "error", "search": "timeout"},
    }


# --------------------------------------------------------------------------- OpenAPI and docs

A = "/api/v1"
DOCUMENTED = {
    # the root, health, docs
    ("get", "/"),
    ("get", "/health"),
    ("get", "/health/ready"),
    # accounts and sessions
    ("get", f"{A}/users/public-key"),
    ("post", f"{A}/users"),
    ("get", f"{A}/users"),  # admins: the user list (contract section 11)
    ("post", f"{A}/users/token"),
    ("post", f"{A}/users/token/refresh"),
    ("post", f"{A}/users/logout"),
    ("post", f"{A}/users/forgot-password"),
    ("post", f"{A}/users/verify-reset-token"),
    ("post", f"{A}/users/reset-password"),
    ("get", f"{A}/users/search"),
    ("get", f"{A}/users/me"),
    ("put", f"{A}/users/me"),
    ("delete", f"{A}/users/me"),
    ("post", f"{A}/users/me/upload-profile-picture"),
    # GDPR
    ("post", f"{A}/users/me/request-deletion"),
    ("post", f"{A}/users/me/cancel-deletion"),
    ("get", f"{A}/users/me/deletion-status"),
    ("get", f"{A}/users/me/export-data"),
    ("post", f"{A}/users/me/consent"),
    ("get", f"{A}/users/me/consents"),
    # media
    ("get", f"{A}/media/{{key}}"),
    # audio
    ("post", f"{A}/audio/upload"),
    ("get", f"{A}/audio/stats"),
    ("get", f"{A}/audio/my-files"),
    ("get", f"{A}/audio/public"),
    ("get", f"{A}/audio/{{audio_id}}"),
    ("put", f"{A}/audio/{{audio_id}}"),
    ("delete", f"{A}/audio/{{audio_id}}"),
    ("get", f"{A}/audio/{{audio_id}}/download"),
    ("get", f"{A}/audio/{{audio_id}}/cover-art"),
    # collections
    ("post", f"{A}/collections"),
    ("get", f"{A}/collections"),
    ("get", f"{A}/collections/my-collections"),
    ("get", f"{A}/collections/collaborative"),
    ("get", f"{A}/collections/albums"),
    ("get", f"{A}/collections/playlists"),
    ("get", f"{A}/collections/compilations"),
    ("get", f"{A}/collections/stats"),
    ("get", f"{A}/collections/{{collection_id}}"),
    ("put", f"{A}/collections/{{collection_id}}"),
    ("delete", f"{A}/collections/{{collection_id}}"),
    ("post", f"{A}/collections/{{collection_id}}/cover-art"),
    ("get", f"{A}/collections/{{collection_id}}/download"),
    ("post", f"{A}/collections/{{collection_id}}/tracks"),
    ("post", f"{A}/collections/{{collection_id}}/tracks/bulk-add"),
    ("delete", f"{A}/collections/{{collection_id}}/tracks/{{track_id}}"),
    ("put", f"{A}/collections/{{collection_id}}/tracks/{{track_id}}/reorder"),
    ("post", f"{A}/collections/{{collection_id}}/collaborators"),
    ("put", f"{A}/collections/{{collection_id}}/collaborators/{{user_id}}"),
    ("delete", f"{A}/collections/{{collection_id}}/collaborators/{{user_id}}"),
    # announcements
    ("get", f"{A}/announcements"),
    ("get", f"{A}/announcements/{{announcement_id}}"),
    # Kworb
    ("get", f"{A}/kworb/top-streamed-artists"),
    ("get", f"{A}/kworb/monthly-listeners"),
    ("get", f"{A}/kworb/top-songs"),
    ("get", f"{A}/kworb/artist/{{artist_name}}"),
    # admin
    ("get", f"{A}/admin/stats"),
    ("get", f"{A}/admin/users"),
    ("get", f"{A}/admin/users/{{user_id}}"),
    ("delete", f"{A}/admin/users/{{user_id}}"),
    ("put", f"{A}/admin/users/{{user_id}}/upload-limit"),
    ("get", f"{A}/admin/users/{{user_id}}/upload-stats"),
    ("post", f"{A}/admin/users/{{user_id}}/disable"),
    ("post", f"{A}/admin/users/{{user_id}}/enable"),
    ("get", f"{A}/admin/audio-files/all"),
    ("delete", f"{A}/admin/users/{{user_id}}/audio-files"),
    ("post", f"{A}/admin/users/{{user_id}}/reset-uploads"),
    ("get", f"{A}/admin/collections/stats"),
    ("get", f"{A}/admin/users/{{user_id}}/collections/stats"),
    ("delete", f"{A}/admin/users/{{user_id}}/collections/all"),
    ("get", f"{A}/admin/collections/recent"),
    ("get", f"{A}/admin/collections/summary"),
    ("post", f"{A}/admin/process-pending-deletions"),
    ("post", f"{A}/admin/announcements"),
    ("get", f"{A}/admin/announcements"),
    ("get", f"{A}/admin/announcements/{{announcement_id}}"),
    ("put", f"{A}/admin/announcements/{{announcement_id}}"),
    ("delete", f"{A}/admin/announcements/{{announcement_id}}"),
    ("get", f"{A}/admin/audit-log"),
    ("get", f"{A}/admin/maintenance/status"),
    ("post", f"{A}/admin/maintenance/enable"),
    ("post", f"{A}/admin/maintenance/disable"),
    ("post", f"{A}/admin/maintenance/toggle"),
    # Subsonic app passwords (issue 14)
    ("post", f"{A}/users/me/subsonic-credentials"),
    ("get", f"{A}/users/me/subsonic-credentials"),
    ("delete", f"{A}/users/me/subsonic-credentials/{{credential_id}}"),
    ("get", f"{A}/admin/users/{{user_id}}/subsonic-credentials"),
    ("delete", f"{A}/admin/users/{{user_id}}/subsonic-credentials/{{credential_id}}"),
    # the library and search (issue 14, contract section 12)
    ("get", f"{A}/library/artists"),
    ("get", f"{A}/library/artists/{{artist_id}}"),
    ("get", f"{A}/library/albums"),
    ("get", f"{A}/library/albums/{{album_id}}"),
    ("get", f"{A}/library/genres"),
    ("get", f"{A}/search"),
    # stars and plays (issue 14, contract section 12)
    ("post", f"{A}/audio/{{audio_id}}/star"),
    ("delete", f"{A}/audio/{{audio_id}}/star"),
    ("post", f"{A}/audio/{{audio_id}}/plays"),
}
"""Every endpoint of the reference and of the contract's section 11, and those issue 14 adds."""


async def test_the_openapi_document_lists_every_endpoint(api: Api) -> None:
    response = await api.client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    operations = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    assert operations == DOCUMENTED, (sorted(DOCUMENTED - operations), sorted(operations - DOCUMENTED))
    assert (await api.client.get("/schema/openapi.json")).json()["paths"].keys() == document["paths"].keys()

    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["BearerToken"]["description"],
    }
    assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/api/v1/users/token"
    for method, path in DOCUMENTED:
        operation = document["paths"][path][method]
        assert operation["tags"], (method, path)
        assert {"200", "201", "204"} & set(operation["responses"]), (method, path)
    me = document["paths"]["/api/v1/users/me"]["get"]
    assert me["security"] == [{"BearerToken": []}, {"OAuth2Password": []}]
    assert me["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    register = document["paths"]["/api/v1/users"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegisterIn"
    }
    assert register["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"  # registration's 422 is a string detail (contract section 3)
    }
    assert "429" in register["responses"]
    login = document["paths"]["/api/v1/users/token"]["post"]
    assert "application/x-www-form-urlencoded" in login["requestBody"]["content"]
    upload = document["paths"]["/api/v1/users/me/upload-profile-picture"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


async def test_the_docs_page_works_offline(api: Api) -> None:
    page = await api.client.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(assets) >= 3
    assert "http" not in page.text.replace("http-equiv", "").split("<body")[0]
    for url in assets:
        assert url.startswith("/docs/static/"), url
        asset = await api.client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert "/openapi.json" not in assets  # the spec is embedded in the page
