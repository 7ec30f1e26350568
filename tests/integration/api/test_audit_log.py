"""``GET /api/v1/admin/audit-log`` over HTTP, on SQLite and on PostgreSQL with Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.api.catalogue import user_id
from tests.integration.api.conftest import Api

AUDIT = "/api/v1/admin/audit-log"
KEYS = {"id", "event", "created_at", "actor_id", "user_id", "ip_address", "success", "details"}


async def test_only_admins_read_the_audit_log(api: Api) -> None:
    alice = await api.account("alice")
    assert (await api.client.get(f"{AUDIT}/")).status_code == 401
    refused = await api.client.get(f"{AUDIT}/", headers=alice.headers)
    assert (refused.status_code, refused.json()) == (403, {"detail": "Not enough permissions"})


async def test_admin_actions_and_sign_ins_are_listed_newest_first_and_filtered(api: Api) -> None:
    root = await api.account("root", admin=True)
    await api.account("alice")
    alice_id = await user_id(api, "alice")
    root_id = await user_id(api, "root")
    assert (await api.login("alice", "Wrong-password-1")).status_code == 401
    disabled = await api.client.post(f"/api/v1/admin/users/{alice_id}/disable", headers=root.headers)
    assert disabled.status_code == 200

    everything = await api.client.get(f"{AUDIT}/", headers=root.headers)
    assert everything.status_code == 200
    body = everything.json()
    assert set(body) == {"items", "total", "has_more"}
    assert body["total"] == len(body["items"]) and body["has_more"] is False
    assert set(body["items"][0]) == KEYS
    stamps = [item["created_at"] for item in body["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert all(stamp.endswith("Z") for stamp in stamps)

    by_root = (await api.client.get(f"{AUDIT}/", params={"actor_id": root_id}, headers=root.headers)).json()
    assert [(e["event"], e["details"].get("action"), e["user_id"]) for e in by_root["items"]] == [
        ("admin.action", "disable", alice_id)
    ]
    assert by_root["items"][0]["ip_address"] == "127.0.0.1"

    failures = (await api.client.get(f"{AUDIT}/", params={"action": "auth.login.failure"}, headers=root.headers)).json()
    assert [(e["event"], e["success"], e["user_id"]) for e in failures["items"]] == [
        ("auth.login.failure", False, alice_id)
    ]
    about_alice = (await api.client.get(f"{AUDIT}/", params={"user_id": alice_id}, headers=root.headers)).json()
    assert {e["event"] for e in about_alice["items"]} >= {"user.register", "auth.login.failure", "admin.action"}
    assert all(e["user_id"] == alice_id for e in about_alice["items"])

    paged = (await api.client.get(f"{AUDIT}/", params={"skip": 1, "limit": 1}, headers=root.headers)).json()
    assert (len(paged["items"]), paged["total"], paged["has_more"]) == (1, body["total"], body["total"] > 2)
    assert paged["items"][0] == body["items"][1]

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = (await api.client.get(f"{AUDIT}/", params={"since": future}, headers=root.headers)).json()
    assert (later["items"], later["total"]) == ([], 0)


async def test_bad_filters_are_422_naming_the_parameter(api: Api) -> None:
    root = await api.account("root", admin=True)
    for params, location in (
        ({"actor_id": "0"}, ["query", "actor_id"]),
        ({"user_id": str(2**31)}, ["query", "user_id"]),
        ({"action": "x" * 65}, ["query", "action"]),
        ({"since": "yesterday"}, ["query", "since"]),
        ({"limit": "101"}, ["query", "limit"]),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, ["query", "until"]),
    ):
        refused = await api.client.get(f"{AUDIT}/", params=params, headers=root.headers)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.json()["detail"][0]["loc"] == location, params
