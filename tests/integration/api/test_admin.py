"""The admin user screens over HTTP, on SQLite and on PostgreSQL with Redis: who may call them,
what they answer, and what their actions leave behind (sessions ended, rows and objects gone,
collection gaps closed, audit entries naming the acting admin)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sono.domain.collections import CollectionType
from sono.domain.gdpr import AuditEvent
from tests.integration.api.catalogue import (
    add_audio,
    add_collection,
    counting_statements,
    new_user,
    track_orders,
    user_id,
)
from tests.integration.api.conftest import PASSWORD, Api

ADMIN = "/api/v1/admin"
USER_KEYS = {
    "id",
    "username",
    "email",
    "display_name",
    "bio",
    "profile_picture_url",
    "is_active",
    "is_superuser",
    "max_audio_uploads",
    "created_at",
    "deletion_requested_at",
    "total_audio_files",
    "total_storage_bytes",
    "pending_deletion",
}


async def admin_actions(api: Api, admin_username: str) -> list[dict]:
    """The admin's audit entries, oldest first, as ``{"user_id", "action", ...details}``."""
    async with api.uow() as uow:
        entries = await uow.audit.list_for_user(await user_id(api, admin_username))
    admin_id = await user_id(api, admin_username)
    return [
        {"user_id": e.user_id, "ip": e.ip_address, **e.details}
        for e in reversed(entries)
        if e.event == AuditEvent.ADMIN_ACTION and e.actor_id == admin_id
    ]


# --------------------------------------------------------------------------- access


ENDPOINTS = [
    ("GET", "/stats", None),
    ("GET", "/users", None),
    ("GET", "/users/{id}", None),
    ("PUT", "/users/{id}/upload-limit", {"max_audio_uploads": 5}),
    ("GET", "/users/{id}/upload-stats", None),
    ("POST", "/users/{id}/disable", None),
    ("POST", "/users/{id}/enable", None),
    ("DELETE", "/users/{id}", None),
    ("POST", "/process-pending-deletions", None),
]


async def test_admin_endpoints_answer_401_anonymous_and_403_to_users(api: Api) -> None:
    alice = await api.account("alice")
    bob_id = (await api.register("bob")).json()["id"]
    for method, path, body in [*ENDPOINTS, ("GET", "/../users/", None)]:
        url = (ADMIN + path.format(id=bob_id)).replace("/admin/../", "/")
        anonymous = await api.client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert anonymous.json() == {"detail": "Not authenticated"}
        expired = await api.client.request(method, url, json=body, headers={"Authorization": "Bearer not.a.token"})
        assert expired.status_code == 401, (method, url)
        user = await api.client.request(method, url, json=body, headers=alice.headers)
        assert user.status_code == 403, (method, url, user.text)
        assert user.json() == {"detail": "Not enough permissions"}
    async with api.uow() as uow:  # nothing happened to bob
        bob = await uow.users.get(bob_id)
        assert bob is not None and bob.is_active and bob.max_audio_uploads == 20


# --------------------------------------------------------------------------- statistics


async def test_stats_count_the_whole_catalogue(api: Api) -> None:
    root = await api.account("root", admin=True)
    empty = await api.client.get(f"{ADMIN}/stats", headers=root.headers)
    assert empty.status_code == 200
    assert empty.json() == {
        "total_users": 1,
        "active_users": 1,
        "inactive_users": 0,
        "superusers": 1,
        "total_audio_files": 0,
        "total_storage_bytes": 0,
        "total_collections": 0,
        "total_albums": 0,
        "total_playlists": 0,
        "total_compilations": 0,
        "public_collections": 0,
        "collaborative_collections": 0,
    }

    await api.account("alice")
    await api.account("bob")
    await api.account("carol")
    await api.set_active("carol", False)
    alice, bob = await user_id(api, "alice"), await user_id(api, "bob")
    song = await add_audio(api, alice, size=3_000_000_000)  # beyond 32 bits
    await add_audio(api, alice, size=5)
    await add_audio(api, bob, size=7)
    await add_collection(api, alice, CollectionType.ALBUM, public=True, tracks=[song])
    await add_collection(api, alice, CollectionType.PLAYLIST, collaborative=True)
    await add_collection(api, bob, CollectionType.PLAYLIST, public=True, collaborative=True)
    await add_collection(api, bob, CollectionType.COMPILATION)

    stats = await api.client.get(f"{ADMIN}/stats", headers=root.headers)
    assert stats.json() == {
        "total_users": 4,
        "active_users": 3,
        "inactive_users": 1,
        "superusers": 1,
        "total_audio_files": 3,
        "total_storage_bytes": 3_000_000_012,
        "total_collections": 4,
        "total_albums": 1,
        "total_playlists": 2,
        "total_compilations": 1,
        "public_collections": 2,
        "collaborative_collections": 2,
    }


async def test_stats_cost_one_statement_whatever_the_catalogue(api: Api) -> None:
    root = await api.account("root", admin=True)
    with counting_statements(api) as small:
        assert (await api.client.get(f"{ADMIN}/stats", headers=root.headers)).status_code == 200
    for name in ("alice", "bob", "carol"):
        owner = await new_user(api, name)
        for _ in range(3):
            await add_audio(api, owner)
        await add_collection(api, owner)
    with counting_statements(api) as large:
        assert (await api.client.get(f"{ADMIN}/stats", headers=root.headers)).json()["total_audio_files"] == 9
    assert len(small) == len(large) == 1


# --------------------------------------------------------------------------- the user list


async def test_users_are_a_plain_array_newest_first_with_the_total_in_a_header(api: Api) -> None:
    root = await api.account("root", admin=True)
    for name in ("alice", "bob", "carol"):
        await api.register(name, display_name=f"{name.title()} Display")
    alice = await user_id(api, "alice")
    await add_audio(api, alice, size=100)
    await add_audio(api, alice, size=23)

    listed = await api.client.get(f"{ADMIN}/users", headers=root.headers)
    assert listed.status_code == 200
    assert listed.headers["x-total-count"] == "4"
    body = listed.json()
    assert isinstance(body, list)
    assert [u["username"] for u in body] == ["carol", "bob", "alice", "root"]
    assert all(set(u) == USER_KEYS for u in body)
    by_name = {u["username"]: u for u in body}
    assert (by_name["alice"]["total_audio_files"], by_name["alice"]["total_storage_bytes"]) == (2, 123)
    assert (by_name["bob"]["total_audio_files"], by_name["bob"]["total_storage_bytes"]) == (0, 0)
    assert by_name["root"]["is_superuser"] is True
    assert by_name["alice"]["email"] == "alice@example.com"
    assert by_name["alice"]["created_at"].endswith("Z")
    assert by_name["alice"]["pending_deletion"] is False

    second = await api.client.get(f"{ADMIN}/users", headers=root.headers, params={"skip": 1, "limit": 2})
    assert [u["username"] for u in second.json()] == ["bob", "alice"]
    assert second.headers["x-total-count"] == "4"
    beyond = await api.client.get(f"{ADMIN}/users", headers=root.headers, params={"skip": 10})
    assert (beyond.json(), beyond.headers["x-total-count"]) == ([], "4")

    alias = await api.client.get("/api/v1/users/", headers=root.headers, params={"skip": 1, "limit": 2})
    assert alias.status_code == 200
    assert alias.json() == second.json()
    assert alias.headers["x-total-count"] == "4"
    assert (await api.client.get("/api/v1/users", headers=root.headers)).json() == body
    registered = await api.register("dave")  # POST on the same path still registers
    assert registered.status_code == 201


async def test_users_are_searched_by_username_email_or_display_name(api: Api) -> None:
    root = await api.account("root", admin=True)
    await api.register("alice", email="wonder@land.example", display_name="Queen of Hearts")
    await api.register("bob_smith", email="bob@example.com")
    await api.register("bobxsmith", email="bx@example.com", display_name="Ünïcødé 🎵")

    async def search(q: str) -> list[str]:
        response = await api.client.get(f"{ADMIN}/users", headers=root.headers, params={"q": q})
        assert response.status_code == 200, response.text
        assert response.headers["x-total-count"] == str(len(response.json()))
        return [u["username"] for u in response.json()]

    assert await search("ALI") == ["alice"]
    assert await search("land.EXAMPLE") == ["alice"]
    assert await search("hearts") == ["alice"]
    assert await search("b_s") == ["bob_smith"]  # "_" is literal
    assert await search("%") == []
    assert await search("🎵") == ["bobxsmith"]
    assert await search("   ") == ["bobxsmith", "bob_smith", "alice", "root"]
    assert await search("nobody") == []
    alias = await api.client.get("/api/v1/users/", headers=root.headers, params={"q": "smith"})
    assert [u["username"] for u in alias.json()] == ["bobxsmith", "bob_smith"]


async def test_a_user_list_page_costs_the_same_statements_whatever_its_size(api: Api) -> None:
    root = await api.account("root", admin=True)
    owner = (await api.register("first")).json()["id"]
    await add_audio(api, owner)

    async def statements_for_page() -> tuple[int, int]:
        with counting_statements(api) as statements:
            response = await api.client.get(f"{ADMIN}/users", headers=root.headers, params={"limit": 100})
        assert response.status_code == 200
        return len(response.json()), len(statements)

    small_size, small = await statements_for_page()
    for i in range(12):
        owner = await new_user(api, f"user{i}")
        await add_audio(api, owner)
        await add_audio(api, owner)
    large_size, large = await statements_for_page()
    assert (small_size, large_size) == (2, 14)
    assert small == large <= 3
    with counting_statements(api) as searched:
        await api.client.get(f"{ADMIN}/users", headers=root.headers, params={"q": "user", "limit": 5})
    assert len(searched) <= 3


# --------------------------------------------------------------------------- one user


async def test_a_user_with_what_they_store_and_their_pending_deletion(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice = await api.account("alice")
    alice_id = await user_id(api, "alice")
    await add_audio(api, alice_id, size=10)

    shown = await api.client.get(f"{ADMIN}/users/{alice_id}", headers=root.headers)
    assert shown.status_code == 200
    body = shown.json()
    assert set(body) == USER_KEYS
    assert (body["id"], body["username"], body["total_audio_files"], body["total_storage_bytes"]) == (
        alice_id,
        "alice",
        1,
        10,
    )
    assert (body["pending_deletion"], body["deletion_requested_at"]) == (False, None)

    await api.client.post("/api/v1/users/me/request-deletion", headers=alice.headers, json={})
    pending = (await api.client.get(f"{ADMIN}/users/{alice_id}", headers=root.headers)).json()
    assert pending["pending_deletion"] is True
    assert pending["deletion_requested_at"].endswith("Z")
    listed = (await api.client.get(f"{ADMIN}/users", headers=root.headers, params={"q": "alice"})).json()
    assert listed[0]["pending_deletion"] is True

    missing = await api.client.get(f"{ADMIN}/users/{alice_id + 100}", headers=root.headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "User not found"}


@pytest.mark.parametrize("bad_id", ["0", "-1", "2147483648", "99999999999999999999999"])
async def test_ids_outside_the_database_range_are_refused(api: Api, bad_id: str) -> None:
    root = await api.account("root", admin=True)
    for method, path, body in ENDPOINTS:
        if "{id}" not in path:
            continue
        response = await api.client.request(method, ADMIN + path.format(id=bad_id), json=body, headers=root.headers)
        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "user_id"]
    not_a_number = await api.client.get(f"{ADMIN}/users/abc", headers=root.headers)
    assert not_a_number.status_code in (404, 422)
    assert "detail" in not_a_number.json()


# --------------------------------------------------------------------------- upload limit


async def test_the_upload_limit_is_set_within_0_to_1_000_000_and_audited(api: Api) -> None:
    root = await api.account("root", admin=True)
    await api.account("alice")
    alice = await user_id(api, "alice")
    for _ in range(3):
        await add_audio(api, alice, size=50)

    stats = await api.client.get(f"{ADMIN}/users/{alice}/upload-stats", headers=root.headers)
    assert stats.status_code == 200
    assert stats.json() == {"used_uploads": 3, "max_uploads": 20, "remaining_uploads": 17, "total_bytes": 150}

    changed = await api.client.put(
        f"{ADMIN}/users/{alice}/upload-limit", headers=root.headers, json={"max_audio_uploads": 50, "extra": 1}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "message": "Upload limit updated",
        "user_id": alice,
        "max_audio_uploads": 50,
        "used_uploads": 3,
        "remaining_uploads": 47,
    }
    assert (await api.client.get(f"{ADMIN}/users/{alice}", headers=root.headers)).json()["max_audio_uploads"] == 50

    for limit in (0, 1_000_000):
        response = await api.client.put(
            f"{ADMIN}/users/{alice}/upload-limit", headers=root.headers, json={"max_audio_uploads": limit}
        )
        assert response.status_code == 200
    lowered = await api.client.get(f"{ADMIN}/users/{alice}/upload-stats", headers=root.headers)
    assert lowered.json()["max_uploads"] == 1_000_000
    await api.client.put(f"{ADMIN}/users/{alice}/upload-limit", headers=root.headers, json={"max_audio_uploads": 2})
    over = await api.client.get(f"{ADMIN}/users/{alice}/upload-stats", headers=root.headers)
    assert over.json() == {"used_uploads": 3, "max_uploads": 2, "remaining_uploads": 0, "total_bytes": 150}

    for bad in (-1, 1_000_001, 10**30, -(10**30), 1.5, "1000001", "x", None, [], {}):
        refused = await api.client.put(
            f"{ADMIN}/users/{alice}/upload-limit", headers=root.headers, json={"max_audio_uploads": bad}
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", "max_audio_uploads"]
        if bad == 1_000_001:
            assert refused.json()["detail"][0]["msg"] == "Upload limit must be between 0 and 1,000,000"
    missing_field = await api.client.put(f"{ADMIN}/users/{alice}/upload-limit", headers=root.headers, json={})
    assert missing_field.status_code == 422
    assert missing_field.json()["detail"][0]["loc"] == ["body", "max_audio_uploads"]
    no_body = await api.client.put(f"{ADMIN}/users/{alice}/upload-limit", headers=root.headers)
    assert no_body.status_code in (400, 422)
    assert (await api.client.get(f"{ADMIN}/users/{alice}/upload-stats", headers=root.headers)).json()[
        "max_uploads"
    ] == 2
    unknown = await api.client.put(
        f"{ADMIN}/users/{alice + 99}/upload-limit", headers=root.headers, json={"max_audio_uploads": 5}
    )
    assert unknown.status_code == 404
    assert (await api.client.get(f"{ADMIN}/users/{alice + 99}/upload-stats", headers=root.headers)).status_code == 404

    actions = await admin_actions(api, "root")
    assert [(a["action"], a["user_id"], a["previous"], a["max_audio_uploads"]) for a in actions] == [
        ("set_upload_limit", alice, 20, 50),
        ("set_upload_limit", alice, 50, 0),
        ("set_upload_limit", alice, 0, 1_000_000),
        ("set_upload_limit", alice, 1_000_000, 2),
    ]
    assert actions[0]["ip"] == "127.0.0.1"


# --------------------------------------------------------------------------- disable and enable


async def test_disabling_ends_every_session_at_once_and_enabling_lets_the_user_back(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice = await api.account("alice")
    alice_id = await user_id(api, "alice")
    second_session = (await api.login("alice")).json()

    disabled = await api.client.post(f"{ADMIN}/users/{alice_id}/disable", headers=root.headers)
    assert disabled.status_code == 200
    assert disabled.json() == {"message": "User alice has been disabled", "user_id": alice_id, "is_active": False}

    me = await api.client.get("/api/v1/users/me", headers=alice.headers)
    assert me.status_code == 401
    for refresh_token in (alice.refresh_token, second_session["refresh_token"]):
        refreshed = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": refresh_token})
        assert refreshed.status_code == 401
    public = await api.client.get("/api/v1/announcements", headers=alice.headers)
    assert public.status_code == 401  # an ended session, even on a public endpoint
    login = await api.login("alice")
    assert login.status_code == 403
    assert "deactivated" in login.json()["detail"]
    shown = (await api.client.get(f"{ADMIN}/users/{alice_id}", headers=root.headers)).json()
    assert shown["is_active"] is False
    stats = (await api.client.get(f"{ADMIN}/stats", headers=root.headers)).json()
    assert (stats["active_users"], stats["inactive_users"]) == (1, 1)

    again = await api.client.post(f"{ADMIN}/users/{alice_id}/disable", headers=root.headers)
    assert (again.status_code, again.json()) == (400, {"detail": "User is already disabled"})

    enabled = await api.client.post(f"{ADMIN}/users/{alice_id}/enable", headers=root.headers)
    assert enabled.status_code == 200
    assert enabled.json() == {"message": "User alice has been enabled", "user_id": alice_id, "is_active": True}
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 401  # still ended
    relogged = await api.login("alice", PASSWORD)
    assert relogged.status_code == 200
    fresh = {"Authorization": f"Bearer {relogged.json()['access_token']}"}
    assert (await api.client.get("/api/v1/users/me", headers=fresh)).status_code == 200

    actions = await admin_actions(api, "root")
    assert [(a["action"], a["user_id"], a["was_active"]) for a in actions] == [
        ("disable", alice_id, True),
        ("enable", alice_id, False),
    ]
    enabled_again = await api.client.post(f"{ADMIN}/users/{alice_id}/enable", headers=root.headers)
    assert (enabled_again.status_code, enabled_again.json()) == (400, {"detail": "User is already enabled"})
    assert len(await admin_actions(api, "root")) == 2  # a refused action is not recorded as done


async def test_admins_cannot_disable_enable_or_delete_themselves_or_another_admin(api: Api) -> None:
    root = await api.account("root", admin=True)
    await api.account("other", admin=True)
    root_id, other_id = await user_id(api, "root"), await user_id(api, "other")
    for verb, method, suffix in (
        ("disable", "POST", "/disable"),
        ("enable", "POST", "/enable"),
        ("delete", "DELETE", ""),
    ):
        own = await api.client.request(method, f"{ADMIN}/users/{root_id}{suffix}", headers=root.headers)
        assert own.status_code == 400
        assert own.json() == {"detail": f"You cannot {verb} your own account"}
        other = await api.client.request(method, f"{ADMIN}/users/{other_id}{suffix}", headers=root.headers)
        assert other.status_code == 400
        assert other.json() == {"detail": f"You cannot {verb} another administrator"}
        unknown = await api.client.request(method, f"{ADMIN}/users/{other_id + 50}{suffix}", headers=root.headers)
        assert unknown.status_code == 404
    async with api.uow() as uow:
        for admin_id in (root_id, other_id):
            admin = await uow.users.get(admin_id)
            assert admin is not None and admin.is_active
    assert (await api.client.get("/api/v1/users/me", headers=root.headers)).status_code == 200
    assert await admin_actions(api, "root") == []


# --------------------------------------------------------------------------- deleting


async def test_deleting_a_user_erases_rows_and_objects_and_closes_collection_gaps(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice = await api.account("alice")
    await api.account("bob")
    alice_id, bob_id = await user_id(api, "alice"), await user_id(api, "bob")
    first = await add_audio(api, alice_id, size=11, cover=True)
    second = await add_audio(api, alice_id, size=12)
    bobs = [await add_audio(api, bob_id, title=f"b{i}") for i in range(2)]
    mix = await add_collection(api, bob_id, public=True, tracks=[bobs[0], first, bobs[1], second])
    await add_collection(api, alice_id, CollectionType.ALBUM, tracks=[first])
    storage = api.container.ports.storage
    alice_keys = [first.storage_key, first.cover_art_key, second.storage_key]
    assert all([await storage.exists(key) for key in alice_keys])

    deleted = await api.client.delete(f"{ADMIN}/users/{alice_id}", headers=root.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"message": "User permanently deleted", "user_id": alice_id, "deleted_audio_files": 2}
    await api.deliver()  # what a worker does shortly after the commit

    assert not any([await storage.exists(key) for key in alice_keys])
    assert all([await storage.exists(audio.storage_key) for audio in bobs])
    assert await track_orders(api, mix.id) == [(bobs[0].id, 1), (bobs[1].id, 2)]
    assert (await api.client.get(f"{ADMIN}/users/{alice_id}", headers=root.headers)).status_code == 404
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 401
    assert (await api.login("alice")).status_code == 401
    stats = (await api.client.get(f"{ADMIN}/stats", headers=root.headers)).json()
    assert (stats["total_users"], stats["total_audio_files"], stats["total_collections"]) == (2, 2, 1)
    actions = await admin_actions(api, "root")
    assert actions == [
        {
            "user_id": None,
            "ip": "127.0.0.1",
            "action": "delete_user",
            "target_user_id": alice_id,
            "deleted_audio_files": 2,
        }
    ]

    again = await api.client.delete(f"{ADMIN}/users/{alice_id}", headers=root.headers)
    assert again.status_code == 404


async def test_pending_deletions_whose_time_has_come_are_processed_now(api: Api) -> None:
    root = await api.account("root", admin=True)
    alice = await api.account("alice")
    bob = await api.account("bob")
    await api.account("carol")
    alice_id, bob_id = await user_id(api, "alice"), await user_id(api, "bob")
    song = await add_audio(api, alice_id)
    await api.client.post("/api/v1/users/me/request-deletion", headers=alice.headers, json={"deletion_type": "hard"})
    await api.client.post("/api/v1/users/me/request-deletion", headers=bob.headers, json={"deletion_type": "soft"})

    nothing_due = await api.client.post(f"{ADMIN}/process-pending-deletions", headers=root.headers)
    assert nothing_due.status_code == 200
    assert nothing_due.json() == {"message": "Processed 0 pending deletions", "processed_count": 0}

    now = api.container.ports.clock.now()
    async with api.uow() as uow:
        for someone in (alice_id, bob_id):
            request = await uow.deletions.pending_for_user(someone)
            assert request is not None
            request.scheduled_for = now - timedelta(minutes=1)
        await uow.commit()
    processed = await api.client.post(f"{ADMIN}/process-pending-deletions", headers=root.headers)
    assert processed.json() == {"message": "Processed 2 pending deletions", "processed_count": 2}

    async with api.uow() as uow:
        assert await uow.users.get(alice_id) is None
        soft_deleted = await uow.users.get(bob_id)
        assert soft_deleted is not None and not soft_deleted.is_active
    await api.deliver()
    assert not await api.container.ports.storage.exists(song.storage_key)
    assert (await api.client.get("/api/v1/users/me", headers=bob.headers)).status_code == 401
    assert [(a["action"], a["processed_count"]) for a in await admin_actions(api, "root")] == [
        ("process_pending_deletions", 0),
        ("process_pending_deletions", 2),
    ]


# --------------------------------------------------------------------------- hostile input


async def test_hostile_list_parameters_are_refused_not_crashed(api: Api) -> None:
    root = await api.account("root", admin=True)
    for params in (
        {"q": "a\x00b"},
        {"q": "x" * 1001},
        {"q": "x" * 255},
        {"skip": -1},
        {"limit": 0},
        {"limit": 101},
        {"limit": 10**30},
        {"skip": "many"},
    ):
        for url in (f"{ADMIN}/users", "/api/v1/users/"):
            response = await api.client.get(url, headers=root.headers, params=params)
            assert response.status_code == 422, (params, response.text)
            assert response.json()["detail"][0]["loc"][0] == "query"
    for params in ({"skip": 2**31}, {"skip": 10**30}, {"q": "\u202e\ufeff\U0010ffff"}, {"q": "' OR 1=1 --"}):
        response = await api.client.get(f"{ADMIN}/users", headers=root.headers, params=params)
        assert response.status_code in (200, 422), (params, response.text)
        if response.status_code == 200:
            assert response.json() == []
