"""A user's own requests racing the deletion of their account (issue 12, section 2): everything
that refers to the account (a session, a consent, a collection, an audit entry, a profile change)
either lands before the deletion, which then removes it, or finds the account gone and answers
what it would a moment later (401/404); never a 500 and nothing left behind. Many rounds, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text

from tests.integration.api.conftest import PASSWORD, Account, Api, MakeApi

ROUNDS = 12
USERS = "/api/v1/users"

Request = Callable[[Api, Account], Awaitable[httpx.Response]]


def _login(api: Api, account: Account) -> Awaitable[httpx.Response]:
    return api.login(account.username, PASSWORD)


def _refresh(api: Api, account: Account) -> Awaitable[httpx.Response]:
    return api.client.post(f"{USERS}/token/refresh", json={"refresh_token": account.refresh_token})


def _profile(api: Api, account: Account) -> Awaitable[httpx.Response]:
    return api.client.put(f"{USERS}/me", json={"bio": "hello"}, headers=account.headers)


def _consent(api: Api, account: Account) -> Awaitable[httpx.Response]:
    body = {"consent_type": "privacy_policy", "consent_version": "1"}
    return api.client.post(f"{USERS}/me/consent", json=body, headers=account.headers)


def _collection(api: Api, account: Account) -> Awaitable[httpx.Response]:
    return api.client.post("/api/v1/collections/", json={"title": "Mine"}, headers=account.headers)


def _logout(api: Api, account: Account) -> Awaitable[httpx.Response]:
    return api.client.post(f"{USERS}/logout", json={"refresh_token": account.refresh_token}, headers=account.headers)


REQUESTS: dict[str, Request] = {
    "login": _login,
    "refresh": _refresh,
    "profile": _profile,
    "consent": _consent,
    "collection": _collection,
    "logout": _logout,
}


@pytest.mark.parametrize("name", list(REQUESTS))
async def test_a_request_racing_the_deletion_of_its_account(make_api: MakeApi, name: str) -> None:
    api = await make_api(SONO_RATE_LIMITS_ENABLED="false")
    admin = await api.account("root", admin=True)
    request = REQUESTS[name]
    for round_ in range(ROUNDS):
        account = await api.account(f"user{round_}")
        me = await api.client.get(f"{USERS}/me", headers=account.headers)
        user_id = me.json()["id"]
        answer, deleted = await asyncio.gather(
            request(api, account), api.client.delete(f"/api/v1/admin/users/{user_id}", headers=admin.headers)
        )
        assert deleted.status_code == 200, deleted.text
        assert answer.status_code in (200, 201, 401, 404), answer.text
        async with api.uow() as uow:
            left = await uow.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM refresh_families WHERE user_id = :u)"
                    " + (SELECT count(*) FROM consents WHERE user_id = :u)"
                    " + (SELECT count(*) FROM collections WHERE owner_id = :u)"
                    " + (SELECT count(*) FROM audit_log WHERE user_id = :u OR actor_id = :u)"
                ),
                {"u": user_id},
            )
            assert left.scalar() == 0
