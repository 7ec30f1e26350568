"""Changes of one account racing each other (the bus holds the caller's row before the handler
locks it for the change): they queue, none fails and none is lost. Several rounds, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.integration.api.conftest import MakeApi

ROUNDS = 4
CONCURRENT = 3
ME = "/api/v1/users/me"


async def test_concurrent_consents_of_one_account_leave_one_active_per_type(make_api: MakeApi) -> None:
    api = await make_api(SONO_RATE_LIMITS_ENABLED="false")
    alice = await api.account("alice")
    for round_ in range(ROUNDS):
        answers = await asyncio.gather(
            *(
                api.client.post(
                    f"{ME}/consent",
                    json={"consent_type": "privacy_policy", "consent_version": f"{round_}.{i}"},
                    headers=alice.headers,
                )
                for i in range(CONCURRENT)
            )
        )
        assert [answer.status_code for answer in answers] == [201] * CONCURRENT, [a.text for a in answers]
    consents = (await api.client.get(f"{ME}/consents", headers=alice.headers)).json()
    assert len(consents) == ROUNDS * CONCURRENT
    assert sum(consent["is_active"] for consent in consents) == 1


async def test_concurrent_deletion_requests_of_one_account_schedule_one(make_api: MakeApi) -> None:
    api = await make_api(SONO_RATE_LIMITS_ENABLED="false")
    alice = await api.account("alice")
    for _ in range(ROUNDS):
        answers = await asyncio.gather(
            *(api.client.post(f"{ME}/request-deletion", headers=alice.headers) for _ in range(CONCURRENT))
        )
        assert sorted(answer.status_code for answer in answers) == [200] + [409] * (CONCURRENT - 1)
        cancelled = await api.client.post(f"{ME}/cancel-deletion", headers=alice.headers)
        assert cancelled.status_code == 200, cancelled.text
