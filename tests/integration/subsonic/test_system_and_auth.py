"""``/rest`` end to end: the system methods, every way a player authenticates (token, ``p``,
``enc:``, ``apiKey``) and every refusal (10, 40, 41, 43, 44; the account password, a revoked app
password and a disabled account are 40), the failed-authentication limit, unimplemented methods,
maintenance, JSONP and the XML envelope."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from libopensonic import errors as opensonic_errors

from tests.integration.subsonic.conftest import (
    ADMIN,
    CLIENT,
    PASSWORD,
    Deployment,
    knuckles,
    opensonic,
    person,
    serve,
    stop,
)

pytestmark = pytest.mark.slow

NS = "{http://subsonic.org/restapi}"
EXTENSIONS = [{"name": "apiKeyAuthentication", "versions": [1]}, {"name": "formPost", "versions": [1]}]
HELP = "/api/v1/users/me/subsonic-credentials"


def test_the_system_methods_and_the_extensions_without_credentials(deployment: Deployment) -> None:
    anonymous = deployment.rest("getOpenSubsonicExtensions")
    assert anonymous.status_code == 200
    body = anonymous.json()["subsonic-response"]
    assert body["status"] == "ok" and body["openSubsonicExtensions"] == EXTENSIONS
    assert (body["version"], body["type"], body["openSubsonic"]) == ("1.16.1", "sono", True)
    assert isinstance(body["serverVersion"], str) and body["serverVersion"]
    assert deployment.ok("getLicense", "alice")["license"]["valid"] is True
    assert deployment.ok("getMusicFolders", "alice")["musicFolders"] == {"musicFolder": [{"id": 1, "name": "Sono"}]}
    assert deployment.code("ping") == 10  # every other method needs credentials


async def test_every_mechanism_through_py_opensonic(deployment: Deployment) -> None:
    for connection in (
        opensonic(deployment, "alice"),  # token, POST, .view
        opensonic(deployment, "alice", use_get=True, use_views=False),  # token, GET, bare names
        opensonic(deployment, "alice", legacy_auth=True),  # p=enc:<hex>
        opensonic(deployment, "alice", api_key=True),  # apiKey
    ):
        try:
            assert await connection.ping() is True
            assert await connection.get_license()
            extensions = await connection.get_open_subsonic_extensions()
            assert sorted((e.name, e.versions) for e in extensions) == [
                ("apiKeyAuthentication", [1]),
                ("formPost", [1]),
            ]
        finally:
            await connection.cleanup()
    keyed = opensonic(deployment, "alice", api_key=True)
    try:
        assert (await keyed.token_info()).username == "alice"
    finally:
        await keyed.cleanup()


def test_every_mechanism_through_knuckles(deployment: Deployment) -> None:
    for token in (True, False):
        for post in (False, True):
            client = knuckles(deployment, "vera", token=token, post=post)
            assert client.system.ping().status == "ok"
            assert client.system.get_license().valid is True


def test_the_refusals(deployment: Deployment) -> None:
    secret = deployment.people["alice"].secret
    code = deployment.code
    assert code("ping", "alice", p="wrong-secret") == 40
    assert code("ping", u="nobody", p=secret) == 40
    assert code("ping", "alice", p=PASSWORD) == 40  # the account password is never accepted here
    assert code("ping", "alice", p="enc:" + PASSWORD.encode().hex()) == 40
    assert code("ping", "alice", p="enc:zz") == 40
    assert code("ping", apiKey=secret, u="alice") == 43
    assert code("ping", "alice", t="a" * 32, s="salt") == 43  # p with t and s
    assert code("ping", u="alice", t="a" * 32) == 10
    assert code("ping", u="alice") == 10
    assert code("ping", apiKey="not-a-key") == 44
    assert code("ping", "alice", v="") == 10
    assert code("ping", "alice", c="") == 10
    refused = deployment.rest("ping", "alice", p="wrong-secret").json()["subsonic-response"]["error"]
    assert refused["helpUrl"].endswith(HELP)


async def test_a_wrong_token_through_the_client_raises_its_error_40(deployment: Deployment) -> None:
    from libopensonic import AsyncConnection

    connection = AsyncConnection("http://127.0.0.1", "alice", "not-the-secret", port=deployment.port, app_name=CLIENT)
    try:
        with pytest.raises(opensonic_errors.CredentialError):
            await connection.ping()
    finally:
        await connection.cleanup()


def test_revoked_and_disabled_credentials_are_refused(deployment: Deployment) -> None:
    alice, root, dora = (deployment.people[name] for name in ("alice", ADMIN, "dora"))
    with deployment.json_api() as client:
        spare = client.post(HELP, json={"name": "Tablet"}, headers=alice.headers)
        assert spare.status_code == 201, spare.text
        secret = spare.json()["secret"]
        assert deployment.ok("ping", apiKey=secret)
        revoked = client.delete(f"{HELP}/{spare.json()['id']}", headers=alice.headers)
        assert revoked.status_code == 204, revoked.text
        assert deployment.code("ping", apiKey=secret) == 44
        assert deployment.code("ping", u="alice", p=secret) == 40
        assert deployment.ok("ping", "dora")
        disabled = client.post(f"/api/v1/admin/users/{dora.user_id}/disable", headers=root.headers)
        assert disabled.status_code == 200, disabled.text
    assert deployment.code("ping", "dora") == 40
    assert deployment.code("ping", apiKey=dora.secret) == 44


def test_unimplemented_methods_are_501_never_a_500_nor_the_json_apis_404(deployment: Deployment) -> None:
    for method in ("getPodcasts", "jukeboxControl", "getChatMessages", "createShare", "createUser", "noSuchMethod"):
        for fmt in ("json", "xml"):
            response = deployment.rest(method, "alice", f=fmt)
            assert response.status_code == 501, (method, response.text)
            if fmt == "json":
                error = response.json()["subsonic-response"]["error"]
                assert error["code"] == 0 and "detail" not in response.json()
            else:
                assert ET.fromstring(response.content).find(f"{NS}error").get("code") == "0"


def test_the_xml_envelope_and_jsonp(deployment: Deployment) -> None:
    ping = deployment.rest("ping", "alice", f="xml")
    assert ping.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(ping.content)
    assert root.tag == f"{NS}subsonic-response"
    assert {k: root.get(k) for k in ("status", "version", "type", "openSubsonic")} == {
        "status": "ok",
        "version": "1.16.1",
        "type": "sono",
        "openSubsonic": "true",
    }
    failed = ET.fromstring(deployment.rest("ping", "alice", f="xml", p="wrong").content)
    assert failed.get("status") == "failed"
    error = failed.find(f"{NS}error")
    assert error is not None and error.get("code") == "40" and error.get("helpUrl", "").endswith(HELP)
    default = ET.fromstring(deployment.rest("ping", "alice", f=None).content)  # XML is the default
    assert default.tag == f"{NS}subsonic-response"
    jsonp = deployment.rest("ping", "alice", f="jsonp", callback="handle")
    assert jsonp.text.startswith("/**/handle({") and jsonp.text.endswith("});")
    assert deployment.code("ping", "alice", f="jsonp", callback="alert(1)") == 0


def test_no_credential_reaches_the_log(deployment: Deployment) -> None:
    alice = deployment.people["alice"]
    deployment.rest("ping", "alice")
    deployment.rest("ping", apiKey=alice.secret)
    deployment.rest("ping", "alice", http="POST")
    log = deployment.server.output()
    assert "/rest/ping" in log
    assert alice.secret not in log


def test_maintenance(deployment: Deployment) -> None:
    root = deployment.people[ADMIN]
    song = deployment.songs["public"].sid
    with deployment.json_api() as client:
        on = client.post("/api/v1/admin/maintenance/enable", params={"message": "Back soon"}, headers=root.headers)
        assert on.status_code == 200, on.text
        try:
            refused = deployment.rest("ping", "alice").json()["subsonic-response"]
            assert refused["error"] == {"code": 0, "message": "Back soon"}
            blocked = deployment.rest("stream", "alice", id=song)
            assert blocked.status_code == 503 and int(blocked.headers["retry-after"]) > 0
            assert blocked.json()["subsonic-response"]["error"]["code"] == 0
            assert deployment.ok("ping", ADMIN)  # admins keep working
        finally:
            off = client.post("/api/v1/admin/maintenance/disable", headers=root.headers)
            assert off.status_code == 200, off.text
    assert deployment.ok("ping", "alice")


# --------------------------------------------------------------------------- a strict server


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """SQLite, token authentication switched off, rate limits on."""
    tmp: Path = tmp_path_factory.mktemp("strict")
    server, env = serve(tmp, {}, SONO_SUBSONIC_TOKEN_AUTH="false", SONO_RATE_LIMITS_ENABLED="true")
    try:
        world = Deployment(server, env)
        with world.json_api() as client:
            world.people["alice"] = person(client, "alice")
        yield world
    finally:
        stop(server)


async def test_with_token_authentication_off_a_token_is_41(strict: Deployment) -> None:
    body = strict.rest("ping", "alice", p=None, t="0" * 32, s="salt").json()["subsonic-response"]
    assert body["error"]["code"] == 41 and body["error"]["helpUrl"].endswith(HELP)
    assert strict.ok("ping", "alice")  # p still works
    assert strict.ok("ping", apiKey=strict.people["alice"].secret)
    token = opensonic(strict, "alice")
    try:
        with pytest.raises(opensonic_errors.SonicError) as refused:
            await token.ping()
        assert "Token authentication" in str(refused.value)
    finally:
        await token.cleanup()


def test_failed_authentications_are_limited_per_ip(strict: Deployment) -> None:
    codes = []
    for _ in range(25):
        response = strict.rest("ping", "alice", p="wrong")
        codes.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) > 0
            assert response.json()["subsonic-response"]["error"]["code"] == 40
            break
    assert codes[:20] == [200] * 20 and codes[-1] == 429
    blocked = strict.rest("ping", "alice")  # the right secret too, until the window moves on
    assert blocked.status_code == 429 and blocked.json()["subsonic-response"]["error"]["code"] == 40
    assert httpx.get(f"{strict.url}/health").status_code == 200


def test_hostile_input_is_an_error_document_never_a_500(deployment: Deployment) -> None:
    secret = deployment.people["alice"].secret
    auth = f"v=1&c=x&f=json&u=alice&p={secret}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=deployment.url, timeout=30.0) as client:
        cases = [
            client.post("/rest/ping", content=f"{auth}&pad=" + "x" * (1 << 20), headers=form),  # over 1 MB
            client.post("/rest/ping", content=f"{auth}&id=a%00b", headers=form),
            client.post("/rest/ping", content=b"v=1&c=x&u=\xff", headers=form),  # not UTF-8
            client.get(f"/rest/getSong?{auth}&id=" + "&id=".join(["tr-1"] * 1200)),  # too many parameters
            client.get(f"/rest/getCoverArt?{auth}&id=cv-tr-1-aa&size=big"),
            client.get(f"/rest/updatePlaylist?{auth}&playlistId=pl-1&public=maybe"),
            client.get(f"/rest/updatePlaylist?{auth}&playlistId=pl-1&songIndexToRemove=-1"),
            client.get(f"/rest/getSong?{auth}&id=tr-{'9' * 400}"),
            client.get(f"/rest/ping.view.view?{auth}"),
        ]
        for response in cases:
            assert response.status_code == 200, response.text
            body = response.text
            assert 'status="failed"' in body or '"status":"failed"' in body, body
        for path in ("/rest", "/rest/", "/rest/a/b", "/rest/ping%2Fx"):  # no method: error 0, not the JSON API's 404
            response = client.get(f"{path}?{auth}")
            assert response.status_code == 200, (path, response.text)
            assert response.json()["subsonic-response"]["error"]["code"] == 0
