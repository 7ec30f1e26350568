"""Subsonic app passwords over HTTP and on the real databases (SQLite; PostgreSQL with Redis): the
routes and who may call them, the secret shown once and never stored, authenticating with one
through the bus (what ``/rest`` does), and the lifecycle that revokes them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from sono.application.app_passwords.messages import (
    ApiKeyCredential,
    AppPasswordRefused,
    AuthenticateAppPassword,
    PasswordCredential,
    Refusal,
    TokenCredential,
)
from sono.application.messages import ANONYMOUS, Actor, Via
from sono.domain.app_passwords import MAX_PER_USER, token_for
from sono.domain.gdpr import AuditEvent
from tests.integration.api.catalogue import user_id
from tests.integration.api.conftest import Account, Api, MakeApi

ME = "/api/v1/users/me/subsonic-credentials"
KEYS = {"id", "name", "created_at", "last_used_at", "last_client", "hint"}
SECRET = re.compile(r"[A-Za-z0-9]{32}")


def admin_path(target: int) -> str:
    return f"/api/v1/admin/users/{target}/subsonic-credentials"


async def create(api: Api, who: Account, name: str = "Phone") -> dict[str, Any]:
    response = await api.client.post(ME, headers=who.headers, json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


async def listed(api: Api, who: Account) -> list[dict[str, Any]]:
    response = await api.client.get(ME, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def authenticate(api: Api, credential: object, client: str | None = "DSub") -> Actor:
    message = AuthenticateAppPassword(credential, client)  # type: ignore[arg-type]
    return await api.container.bus(message, ANONYMOUS)


async def refusal(api: Api, credential: object) -> Refusal:
    with pytest.raises(AppPasswordRefused) as refused:
        await authenticate(api, credential)
    return refused.value.reason


async def dump(api: Api) -> str:
    async with api.uow() as uow:
        rows = (await uow.session.execute(text("SELECT * FROM subsonic_credentials"))).all()
    return repr(rows)


# --------------------------------------------------------------------------- the routes


async def test_make_list_and_revoke(api: Api) -> None:
    alice = await api.account("alice")
    created = await create(api, alice, "  Phone ")
    assert set(created) == KEYS | {"secret"}
    assert SECRET.fullmatch(created["secret"])
    assert created["name"] == "Phone" and created["hint"] == created["secret"][-4:]
    assert created["created_at"].endswith("Z") and created["last_used_at"] is None

    second = await create(api, alice, "Laptop")
    items = await listed(api, alice)
    assert [item["name"] for item in items] == ["Laptop", "Phone"]
    assert all(set(item) == KEYS for item in items)  # the secret is shown once only
    assert created["secret"] not in repr(items)

    response = await api.client.delete(f"{ME}/{second['id']}", headers=alice.headers)
    assert (response.status_code, response.content) == (204, b"")
    assert [item["id"] for item in await listed(api, alice)] == [created["id"]]
    response = await api.client.delete(f"{ME}/{second['id']}", headers=alice.headers)
    assert response.status_code == 404


async def test_without_a_token_401_and_others_ids_are_404(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    created = await create(api, alice)
    for method, path in (("POST", ME), ("GET", ME), ("DELETE", f"{ME}/{created['id']}")):
        response = await api.client.request(method, path, json={"name": "x"} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
    response = await api.client.delete(f"{ME}/{created['id']}", headers=bob.headers)
    assert response.status_code == 404
    assert await listed(api, bob) == []
    assert len(await listed(api, alice)) == 1


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "   "}, {"name": "x" * 65}, {"name": "a\x00b"}, {"name": 5}, {}, {"name": None}],
)
async def test_bad_names_are_422(api: Api, body: dict[str, Any]) -> None:
    alice = await api.account("alice")
    response = await api.client.post(ME, headers=alice.headers, json=body)
    assert response.status_code == 422, response.text
    assert await listed(api, alice) == []


async def test_hostile_ids_are_never_a_500(api: Api) -> None:
    alice = await api.account("alice")
    for credential_id in ("0", "-1", "99999999999999999999", "abc", str(2**31)):
        response = await api.client.delete(f"{ME}/{credential_id}", headers=alice.headers)
        assert response.status_code in (404, 422), (credential_id, response.status_code)


async def test_names_are_unique_per_user_and_ten_at_most(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    await create(api, alice, "Phone")
    response = await api.client.post(ME, headers=alice.headers, json={"name": "Phone"})
    assert response.status_code == 409
    await create(api, bob, "Phone")
    for n in range(1, MAX_PER_USER):
        await create(api, alice, f"Device {n}")
    response = await api.client.post(ME, headers=alice.headers, json={"name": "Eleventh"})
    assert response.status_code == 400
    assert "at most 10" in response.json()["detail"]
    assert len(await listed(api, alice)) == MAX_PER_USER


async def test_concurrent_creations_keep_the_limit_and_the_names(api: Api) -> None:
    import asyncio

    alice = await api.account("alice")
    posts = [api.client.post(ME, headers=alice.headers, json={"name": f"Device {n}"}) for n in range(14)]
    statuses = sorted(response.status_code for response in await asyncio.gather(*posts))
    assert statuses == [201] * MAX_PER_USER + [400] * 4
    bob = await api.account("bob")
    posts = [api.client.post(ME, headers=bob.headers, json={"name": "Same"}) for _ in range(4)]
    statuses = sorted(response.status_code for response in await asyncio.gather(*posts))
    assert statuses == [201, 409, 409, 409]
    assert len(await listed(api, alice)) == MAX_PER_USER and len(await listed(api, bob)) == 1


async def test_admins_list_and_revoke_and_it_is_audited(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice, bob = await api.account("alice"), await api.account("bob")
    created = await create(api, alice)
    alice_id = await user_id(api, "alice")
    response = await api.client.get(admin_path(alice_id))
    assert response.status_code == 401
    response = await api.client.get(admin_path(alice_id), headers=bob.headers)
    assert response.status_code == 403
    response = await api.client.delete(f"{admin_path(alice_id)}/{created['id']}", headers=bob.headers)
    assert response.status_code == 403

    response = await api.client.get(admin_path(alice_id), headers=root.headers)
    assert response.status_code == 200
    assert [(item["id"], set(item)) for item in response.json()] == [(created["id"], KEYS)]
    response = await api.client.get(admin_path(999999), headers=root.headers)
    assert response.status_code == 404
    bob_id = await user_id(api, "bob")
    response = await api.client.delete(f"{admin_path(bob_id)}/{created['id']}", headers=root.headers)
    assert response.status_code == 404

    response = await api.client.delete(f"{admin_path(alice_id)}/{created['id']}", headers=root.headers)
    assert response.status_code == 204
    assert await listed(api, alice) == []
    async with api.uow() as uow:
        entries = await uow.audit.list_for_user(alice_id)
    actions = [e.details.get("action") for e in entries if e.event == AuditEvent.ADMIN_ACTION]
    assert actions == ["revoke_app_password"]


async def test_the_database_holds_no_secret(api: Api) -> None:
    alice = await api.account("alice")
    secrets = [(await create(api, alice, f"D{n}"))["secret"] for n in range(3)]
    stored = await dump(api)
    for secret in secrets:
        assert secret not in stored
        assert secret.encode().hex() not in stored
    async with api.uow() as uow:
        sealed = (await uow.session.execute(text("SELECT sealed_secret FROM subsonic_credentials"))).scalars().all()
    assert len(sealed) == 3 and all(value is not None and len(value) > 32 for value in sealed)
    assert not any(secret.encode() in bytes(value) for value in sealed for secret in secrets)


async def test_with_token_auth_off_nothing_is_sealed(make_api: MakeApi) -> None:
    api = await make_api(SONO_SUBSONIC_TOKEN_AUTH="false")
    alice = await api.account("alice")
    secret = (await create(api, alice))["secret"]
    async with api.uow() as uow:
        sealed = (await uow.session.execute(text("SELECT sealed_secret FROM subsonic_credentials"))).scalars().all()
    assert sealed == [None]
    token = TokenCredential("alice", token_for(secret, "s"), "s")
    assert await refusal(api, token) is Refusal.TOKEN_AUTH_DISABLED
    assert (await authenticate(api, ApiKeyCredential(secret))).via is Via.APP_PASSWORD


# --------------------------------------------------------------------------- authenticating


async def test_every_credential_kind_and_the_last_use(api: Api) -> None:
    alice = await api.account("alice")
    secret = (await create(api, alice))["secret"]
    alice_id = await user_id(api, "alice")
    expected = Actor.user(alice_id, is_admin=False, via=Via.APP_PASSWORD)
    assert await authenticate(api, ApiKeyCredential(secret), "Symfonium") == expected
    assert await authenticate(api, PasswordCredential("Alice", secret)) == expected
    assert await authenticate(api, TokenCredential("alice", token_for(secret, "abcdef"), "abcdef")) == expected
    (item,) = await listed(api, alice)
    assert item["last_client"] == "Symfonium" and item["last_used_at"] is not None

    assert await refusal(api, ApiKeyCredential("nope")) is Refusal.INVALID_API_KEY
    assert await refusal(api, PasswordCredential("alice", alice.password)) is Refusal.WRONG_CREDENTIALS
    assert await refusal(api, PasswordCredential("ghost", secret)) is Refusal.WRONG_CREDENTIALS
    assert (
        await refusal(api, TokenCredential("alice", token_for(alice.password, "s"), "s")) is Refusal.WRONG_CREDENTIALS
    )
    assert await refusal(api, TokenCredential("ghost", token_for(secret, "s"), "s")) is Refusal.WRONG_CREDENTIALS
    assert await refusal(api, TokenCredential("al\x00ice", "t", "s")) is Refusal.WRONG_CREDENTIALS
    assert await refusal(api, TokenCredential("al\udcffice", "t", "s")) is Refusal.WRONG_CREDENTIALS
    assert await refusal(api, TokenCredential("a" * 10_000, "t", "s")) is Refusal.WRONG_CREDENTIALS
    assert await refusal(api, PasswordCredential("alice", "\udcff" * 3)) is Refusal.WRONG_CREDENTIALS

    await api.set_active("alice", False)
    assert await refusal(api, PasswordCredential("alice", secret)) is Refusal.WRONG_CREDENTIALS
    assert await refusal(api, ApiKeyCredential(secret)) is Refusal.INVALID_API_KEY


# --------------------------------------------------------------------------- lifecycle


async def test_disabling_and_deleting_accounts_revoke_them(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice, bob, carol = await api.account("alice"), await api.account("bob"), await api.account("carol")
    secrets = {who.username: (await create(api, who))["secret"] for who in (alice, bob, carol)}

    response = await api.client.post(f"/api/v1/admin/users/{await user_id(api, 'alice')}/disable", headers=root.headers)
    assert response.status_code == 200, response.text
    response = await api.client.request(
        "DELETE", "/api/v1/users/me", params={"password": bob.password, "deletion_type": "soft"}, headers=bob.headers
    )
    assert response.status_code == 200, response.text
    carol_id = await user_id(api, "carol")
    response = await api.client.delete(f"/api/v1/admin/users/{carol_id}", headers=root.headers)
    assert response.status_code == 200, response.text

    for name, secret in secrets.items():
        assert await refusal(api, ApiKeyCredential(secret)) is Refusal.INVALID_API_KEY, name
    async with api.uow() as uow:
        count = (await uow.session.execute(text("SELECT count(*) FROM subsonic_credentials"))).scalar_one()
    assert count == 0


async def test_a_password_reset_revokes_them(api: Api) -> None:
    alice = await api.account("alice")
    secret = (await create(api, alice))["secret"]
    response = await api.client.post("/api/v1/users/forgot-password", json={"email": alice.email})
    assert response.status_code == 200, response.text
    token = api.last_reset_token()
    response = await api.client.post(
        "/api/v1/users/reset-password", json={"token": token, "new_password": "N3w!Passw0rdX"}
    )
    assert response.status_code == 200, response.text
    assert await refusal(api, ApiKeyCredential(secret)) is Refusal.INVALID_API_KEY


async def test_the_export_lists_names_and_dates_only(api: Api) -> None:
    alice = await api.account("alice")
    secret = (await create(api, alice))["secret"]
    await authenticate(api, ApiKeyCredential(secret), "DSub")
    response = await api.client.get("/api/v1/users/me/export-data", headers=alice.headers)
    assert response.status_code == 200, response.text
    (item,) = response.json()["subsonic_credentials"]
    assert set(item) == {"name", "created_at", "last_used_at", "last_client"}
    assert (item["name"], item["last_client"]) == ("Phone", "DSub")
    assert secret not in response.text
