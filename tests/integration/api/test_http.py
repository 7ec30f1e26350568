"""The conventions every endpoint shares: error bodies, security headers and request ids, body
limits, rate limits and client IPs, CORS, the access log, health, OpenAPI and the docs page."""

from __future__ import annotations

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


async def test_an_empty_json_body_is_422(api: Api) -> None:
    response = await api.client.post("/api/v1/users/token/refresh", headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json() == {"detail": [{"loc": ["body"], "msg": "Field required", "type": "missing"}]}


async def test_an_unexpected_error_is_a_bare_500(api: Api, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    alice = await api.account("alice")

    async def broken(user: object) -> str:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(api.container.accounts, "picture_url", broken)
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

    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name == "sono.access"]
    line = record.getMessage()
    assert "DELETE /api/v1/users/me?password=***&deletion_type=soft" in line
    assert " 400 " in line
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
    assert response.json() == {"status": "healthy", "version": __version__}
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

        async def check(self) -> None:
            raise ConnectionError("refused")

    class Hanging:
        name = "search"

        async def check(self) -> None:
            import asyncio

            await asyncio.sleep(10)

    monkeypatch.setattr("sono.entrypoints.http.health.CHECK_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(api.container, "health_checks", [*api.container.health_checks[:1], Failing(), Hanging()])

    response = await api.client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "Service unavailable: cache, search",
        "checks": {"database": "ok", "cache": "error", "search": "timeout"},
    }


# --------------------------------------------------------------------------- OpenAPI and docs

DOCUMENTED = {
    ("get", "/health"),
    ("get", "/health/ready"),
    ("get", "/api/v1/users/public-key"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/users/token"),
    ("post", "/api/v1/users/token/refresh"),
    ("post", "/api/v1/users/logout"),
    ("post", "/api/v1/users/forgot-password"),
    ("post", "/api/v1/users/verify-reset-token"),
    ("post", "/api/v1/users/reset-password"),
    ("get", "/api/v1/users/me"),
    ("put", "/api/v1/users/me"),
    ("delete", "/api/v1/users/me"),
    ("post", "/api/v1/users/me/upload-profile-picture"),
    ("post", "/api/v1/users/me/request-deletion"),
    ("post", "/api/v1/users/me/cancel-deletion"),
    ("get", "/api/v1/users/me/deletion-status"),
    ("get", "/api/v1/users/me/export-data"),
    ("post", "/api/v1/users/me/consent"),
    ("get", "/api/v1/users/me/consents"),
    ("get", "/api/v1/admin/maintenance/status"),
    ("post", "/api/v1/admin/maintenance/enable"),
    ("post", "/api/v1/admin/maintenance/disable"),
    ("post", "/api/v1/admin/maintenance/toggle"),
    ("get", "/api/v1/media/{key}"),
    ("get", "/api/v1/kworb/top-streamed-artists"),
    ("get", "/api/v1/kworb/monthly-listeners"),
    ("get", "/api/v1/kworb/top-songs"),
    ("get", "/api/v1/kworb/artist/{artist_name}"),
}


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
    assert operations == DOCUMENTED
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
        assert "200" in operation["responses"] or "201" in operation["responses"], (method, path)
    me = document["paths"]["/api/v1/users/me"]["get"]
    assert me["security"] == [{"BearerToken": []}, {"OAuth2Password": []}]
    assert me["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    register = document["paths"]["/api/v1/users"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegisterIn"
    }
    assert register["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationErrorBody"
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
