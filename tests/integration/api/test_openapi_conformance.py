"""The OpenAPI document is complete and correct: schemathesis generates requests for every operation
it lists and sends them to a real server (``sono serve`` on loopback, SQLite), checking that no
answer is a 5xx and that every status code, content type, body and documented header is what the
document says.

Protected operations are called with a valid token (the admin's on the admin routes), so they are
exercised beyond their 401. A case that ends the session (logout, deleting the account) does not
stop the run: the next 401 brings a new token (a new user if need be) and the request is sent again.
Maintenance mode switched on by a case is switched off right after it.

Requests the generator does not make (no or a bad token, malformed or oversized bodies, ranges of a
stored object) are sent explicitly and validated with the same checks.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sono.config import load_settings
from sono.entrypoints.http.app import create_app
from tests.fixtures.kworb import page
from tests.fixtures.media import png_bytes
from tests.integration.api.conftest import Api
from tests.integration.test_serve import Server, base_env, start_server

pytestmark = pytest.mark.slow

PASSWORD = "Str0ng!Passw0rd"
ADMIN = "conformance-admin"
ADMIN_ROUTES = "/api/v1/admin/"
MAINTENANCE_ROUTES = "/api/v1/admin/maintenance/"
MEDIA = "/api/v1/media/{key}"
JSON_BODY_MAX = 1024 * 1024
MAX_EXAMPLES = 25
KWORB_PAGES = ("--artists", page("artists.html"), "--listeners", page("listeners.html"), "--songs", page("songs.html"))

CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def openapi_document() -> dict[str, Any]:
    """The document the app serves at ``/openapi.json`` (built without starting anything; that the
    server serves this very document is checked below)."""
    return create_app(load_settings({"SONO_DATA_DIR": "unused"})).openapi_schema.to_schema()


# Loaded at import, so that pytest lists one test per operation and schemathesis can prepare its
# coverage cases. (``schemathesis.pytest.from_fixture`` would load it from the server but fails with
# this pytest: it sets ``Node._nodeid``.)
schema = schemathesis.openapi.from_dict(openapi_document())


# Generated headers that frame the HTTP message itself: uvicorn refuses bad values in plain text
# before the application sees the request, which is no business of the API's document.
FRAMING_HEADERS = frozenset({"connection", "content-length", "expect", "host", "te", "trailer", "transfer-encoding"})


@schema.hook
def map_case(context: schemathesis.HookContext, case: Case) -> Case:
    for name in [name for name in case.headers or {} if name.lower() in FRAMING_HEADERS]:
        del case.headers[name]
    return case


def is_protected(operation: APIOperation) -> bool:
    return bool(operation.definition.raw.get("security"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- the server


@dataclass
class LiveApi:
    server: Server
    tokens: dict[str, str] = field(default_factory=dict)
    username: str | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def login(self, username: str) -> str | None:
        """An access token, or None when that user cannot log in."""
        response = httpx.post(f"{self.url}/api/v1/users/token", data={"username": username, "password": PASSWORD})
        return str(response.json()["access_token"]) if response.status_code == 200 else None

    def register(self) -> str:
        """A new user's name."""
        username = f"conformance-{secrets.token_hex(4)}"
        body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        response = httpx.post(f"{self.url}/api/v1/users/", json=body)
        assert response.status_code == 201, response.text
        return username

    def token(self, identity: str) -> str:
        """The current token of ``admin`` or of ``user`` (a new user when the last one cannot log in
        any more: the run may delete it)."""
        if identity not in self.tokens:
            if identity == "admin":
                token = self.login(ADMIN)
            else:
                token = self.login(self.username) if self.username else None
                if token is None:
                    self.username = self.register()
                    token = self.login(self.username)
            assert token, f"no token for the {identity}"
            self.tokens[identity] = token
        return self.tokens[identity]

    def call(self, case: Case) -> tuple[Response, dict[str, str]]:
        """Send ``case`` (with a valid token if the operation is protected, again with a new one if
        the session has ended); the answer and the headers added."""
        if not is_protected(case.operation):
            return case.call(base_url=self.url), {}
        identity = "admin" if case.path.startswith(ADMIN_ROUTES) else "user"
        headers = bearer(self.token(identity))
        response = case.call(base_url=self.url, headers=headers)
        if response.status_code == 401:  # logged out or deleted by an earlier case
            del self.tokens[identity]
            headers = bearer(self.token(identity))
            response = case.call(base_url=self.url, headers=headers)
        return response, headers

    def maintenance_off(self) -> None:
        response = httpx.post(f"{self.url}{MAINTENANCE_ROUTES}disable", headers=bearer(self.token("admin")))
        assert response.status_code == 200, response.text


def sono(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "sono", *args], env=env, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """``sono serve`` on a free loopback port, on a fresh SQLite database with an admin account.
    Its log is ``serve-<port>.log`` in the fixture's temporary directory."""
    workdir = tmp_path_factory.mktemp("openapi-conformance")
    env = base_env(
        workdir / "data",
        SONO_RATE_LIMITS_ENABLED="false",
        SONO_JOBS_ENABLED="false",
        SONO_ARGON2_MEMORY_KIB="1024",
        SONO_ARGON2_TIME_COST="1",
        KWORB_DATABASE_URL=f"sqlite:///{workdir / 'kworb.db'}",
    )
    sono(env, workdir, "db", "upgrade")
    sono(env, workdir, "kworb", "import", *KWORB_PAGES)
    sono(
        env,
        workdir,
        "users",
        "create-admin",
        "--username",
        ADMIN,
        "--email",
        "admin@example.com",
        "--password",
        PASSWORD,
    )
    server = start_server(env, "--no-migrate", log_dir=workdir)
    try:
        server.wait_healthy()
        yield LiveApi(server)
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/openapi.json", "/schema/openapi.json"])
def test_the_server_serves_the_document_under_test(live_api: LiveApi, path: str) -> None:
    response = httpx.get(f"{live_api.url}{path}")

    assert response.status_code == 200
    assert response.json() == schema.raw_schema


# --------------------------------------------------------------------------- generated requests


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_operation_answers_as_documented(case: Case, live_api: LiveApi) -> None:
    """Examples, coverage cases (boundaries, missing and wrong values, other methods) and random
    cases of one operation."""
    try:
        response, headers = live_api.call(case)
        case.validate_response(response, checks=CHECKS, headers=headers)
    finally:
        if case.path.startswith(MAINTENANCE_ROUTES) and case.method.upper() != "GET":
            live_api.maintenance_off()


# --------------------------------------------------------------------------- explicit requests


def operations() -> list[APIOperation]:
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        found.append(result.ok())
    return found


class _PathParameters(dict[str, str]):
    """Values for the path parameters of explicit requests: ids are 1, names a placeholder."""

    def __missing__(self, name: str) -> str:
        return "1" if name.endswith("_id") else "nobody"


PATH_PARAMETERS = _PathParameters(key="avatars/none.png", artist_name="Drake")


def path_of(operation: APIOperation) -> str:
    return operation.path.format_map(PATH_PARAMETERS)


def validate(operation: APIOperation, response: httpx.Response, checks: list[Callable[..., Any]] = CHECKS) -> None:
    """``response`` (to a request for ``path_of(operation)``) is as documented."""
    path_parameters = {name: PATH_PARAMETERS[name] for name in re.findall(r"{(\w+)}", operation.path)}
    operation.Case(path_parameters=path_parameters).validate_response(response, checks=checks)


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no token", "bad token"])
def test_unauthenticated_requests_are_documented(live_api: LiveApi, token: str | None) -> None:
    protected = [operation for operation in operations() if is_protected(operation)]
    assert protected
    with httpx.Client(base_url=live_api.url, headers=bearer(token) if token else {}) as client:
        for operation in protected:
            response = client.request(operation.method, path_of(operation))
            # DELETE /users/me checks its required query parameter before the token: 422.
            assert response.status_code in (401, 422), (operation.label, response.text)
            validate(operation, response)


def test_refused_request_bodies_are_documented(live_api: LiveApi) -> None:
    """Every operation with a body documents the answers to a malformed and to an oversized one."""
    with_body = [operation for operation in operations() if operation.body]
    assert with_body
    headers = {**bearer(live_api.token("user")), "Content-Type": "application/json"}
    with httpx.Client(base_url=live_api.url, headers=headers) as client:
        for operation in with_body:
            for content in (b'{"', b'"' + b"x" * JSON_BODY_MAX + b'"'):
                validate(operation, client.request(operation.method, path_of(operation), content=content))


def test_maintenance_answers_are_documented(live_api: LiveApi) -> None:
    """During maintenance a user gets the documented 503 everywhere but on the routes that stay open
    (which do not document it)."""
    user = bearer(live_api.token("user"))
    response = httpx.post(f"{live_api.url}{MAINTENANCE_ROUTES}enable", headers=bearer(live_api.token("admin")))
    assert response.status_code == 200, response.text
    try:
        with httpx.Client(base_url=live_api.url, headers=user) as client:
            statuses = set()
            for operation in operations():
                if not operation.path.startswith(MAINTENANCE_ROUTES):
                    response = client.request(operation.method, path_of(operation))
                    assert response.status_code in (*range(200, 500), 503), (operation.label, response.text)
                    validate(operation, response, [c for c in CHECKS if c is not not_a_server_error])
                    statuses.add(response.status_code)
        assert 503 in statuses
    finally:
        live_api.maintenance_off()


async def test_rate_limited_answers_are_documented(api: Api) -> None:
    """Every rate-limited operation (in-process, with the limits on) documents its 429."""
    limited = [operation for operation in operations() if "429" in operation.definition.raw["responses"]]
    assert limited
    signed_in = (await api.account("limited")).headers  # guarded routes count only callers they let in
    for operation in limited:
        for _ in range(100):
            response = await api.client.request(operation.method, path_of(operation), headers=signed_in)
            if response.status_code == 429:
                break
        assert response.status_code == 429, operation.label
        validate(operation, response)


@pytest.fixture(scope="module")
def stored_picture(live_api: LiveApi) -> str:
    """The media key of a profile picture uploaded through the API (by a user who can still log in:
    the generated cases may have disabled or erased the last one)."""
    live_api.tokens.pop("user", None)
    files = {"file": ("avatar.png", png_bytes(), "image/png")}
    response = httpx.post(
        f"{live_api.url}/api/v1/users/me/upload-profile-picture", files=files, headers=bearer(live_api.token("user"))
    )
    assert response.status_code == 200, response.text
    prefix = MEDIA.removesuffix("{key}")
    path = urlsplit(response.json()["profile_picture_url"]).path
    assert path.startswith(prefix), path
    return path.removeprefix(prefix)


def fetch_media(live_api: LiveApi, key: str, byte_range: str | None) -> tuple[Case, Response]:
    case = schema[MEDIA]["GET"].Case(path_parameters={"key": key}, headers={"Range": byte_range} if byte_range else {})
    return case, case.call(base_url=live_api.url)


@pytest.mark.parametrize(
    ("byte_range", "status"),
    [
        (None, 200),
        ("bytes=0-3", 206),
        ("bytes=4-", 206),
        ("bytes=-5", 206),
        ("bytes=9999999-", 416),
        ("bytes=5-2", 200),  # malformed: ignored
        ("items=0-1", 200),
    ],
)
def test_stored_media_and_its_ranges_are_documented(
    live_api: LiveApi, stored_picture: str, byte_range: str | None, status: int
) -> None:
    case, response = fetch_media(live_api, stored_picture, byte_range)

    assert response.status_code == status
    # The content type of the bytes is the object's own: see the next test.
    checks = CHECKS if status >= 400 else [check for check in CHECKS if check is not content_type_conformance]
    case.validate_response(response, checks=checks)


@pytest.mark.parametrize("byte_range", [None, "bytes=0-3"])
def test_stored_media_is_served_with_a_documented_content_type(
    live_api: LiveApi, stored_picture: str, byte_range: str | None
) -> None:
    case, response = fetch_media(live_api, stored_picture, byte_range)

    assert response.status_code in (200, 206)
    case.validate_response(response, checks=[content_type_conformance])


def test_the_document_is_the_same_every_time() -> None:
    """No generated examples or other randomness: every process serves one document."""
    assert openapi_document() == openapi_document() == schema.raw_schema
