"""The admins' audio routes: every file as a plain array with ``X-Total-Count``, deleting a user's
files, resetting a user's uploads; each audited with the acting admin. On SQLite with local storage
and on PostgreSQL with S3."""

from __future__ import annotations

from typing import Any

import pytest

from sono.domain.collections import Collection, CollectionType
from sono.domain.gdpr import AuditEvent
from tests.fixtures.media import mp3_bytes, png_bytes
from tests.fixtures.tagged import Tags, tagged
from tests.integration.api.audio_support import audio_api, counted_statements, stored_keys, upload
from tests.integration.api.conftest import Account, Api, MakeApi

ADMIN = "/api/v1/admin"


@pytest.fixture
async def api(make_api: MakeApi, backend_env: dict[str, str], request: pytest.FixtureRequest) -> Api:
    return await audio_api(make_api, backend_env, request)


async def uploaded(api: Api, account: Account, data: bytes | None = None, **fields: str) -> dict[str, Any]:
    response = await upload(api, account, data if data is not None else mp3_bytes(), **fields)
    assert response.status_code == 201, response.text
    return response.json()


async def admin_actions(api: Api, username: str) -> list[dict[str, Any]]:
    async with api.uow() as uow:
        user = await uow.users.get_by_username(username)
        assert user is not None and user.id is not None
        entries = await uow.audit.list_for_user(user.id)
    return [
        {"actor": e.actor_id, "user": e.user_id, **e.details} for e in entries if e.event == AuditEvent.ADMIN_ACTION
    ]


async def test_every_file_as_a_plain_array(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    root = await api.account("root", admin=True)
    a = await uploaded(api, alice, title="a")
    b = await uploaded(api, bob, title="b", is_public="true")
    c = await uploaded(api, alice, title="c")

    response = await api.client.get(f"{ADMIN}/audio-files/all", headers=root.headers)
    page = await api.client.get(f"{ADMIN}/audio-files/all?skip=1&limit=1", headers=root.headers)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [c["id"], b["id"], a["id"]]
    assert response.headers["x-total-count"] == "3"
    assert response.json()[0]["owner"]["username"] == "alice"
    assert response.json()[0]["file_url"]
    assert [item["id"] for item in page.json()] == [b["id"]] and page.headers["x-total-count"] == "3"
    actions = await admin_actions(api, "root")
    assert actions == [{"actor": actions[0]["actor"], "user": None, "action": "list_audio_files"}] * 2


async def test_the_admin_list_costs_the_same_statements_whatever_its_size(api: Api) -> None:
    alice = await api.account("alice")
    root = await api.account("root", admin=True)
    for i in range(12):
        await uploaded(api, alice, title=f"t{i}")

    counts = []
    for limit in (2, 10):
        await api.client.get("/api/v1/users/me", headers=root.headers)  # the session kept before
        with counted_statements(api) as statements:
            response = await api.client.get(f"{ADMIN}/audio-files/all?limit={limit}", headers=root.headers)
        assert len(response.json()) == limit
        counts.append(len(statements))

    assert counts[0] == counts[1], counts


async def test_admin_routes_need_an_admin(api: Api) -> None:
    alice = await api.account("alice")
    bob = await api.account("bob")
    routes = [
        ("GET", f"{ADMIN}/audio-files/all"),
        ("DELETE", f"{ADMIN}/users/1/audio-files"),
        ("POST", f"{ADMIN}/users/1/reset-uploads"),
    ]
    await uploaded(api, bob)

    for method, path in routes:
        anonymous = await api.client.request(method, path)
        user = await api.client.request(method, path, headers=alice.headers)
        assert anonymous.status_code == 401, path
        assert user.status_code == 403, path
        assert user.json() == {"detail": "Not enough permissions"}
    assert len(await stored_keys(api)) == 1


async def test_delete_a_users_files(api: Api) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    root = await api.account("root", admin=True)
    data = tagged("mp3", Tags(picture=png_bytes()))
    hers = [await uploaded(api, alice, data, is_public="true") for _ in range(3)]
    his = await uploaded(api, bob, is_public="true")
    async with api.uow() as uow:
        owner = await uow.users.get_by_username("bob")
        assert owner is not None and owner.id is not None
        playlist = await uow.collections.add(
            Collection(owner_id=owner.id, title="mix", collection_type=CollectionType.PLAYLIST)
        )
        ids = [hers[0]["id"], his["id"], hers[2]["id"]]
        playlist.add_tracks(ids, now=owner.created_at, added_by_id=owner.id)  # type: ignore[arg-type]
        await uow.collections.save(playlist)
        await uow.commit()
    assert len(await stored_keys(api)) == 7

    response = await api.client.delete(f"{ADMIN}/users/{hers[0]['owner_id']}/audio-files", headers=root.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Deleted 3 audio files of user alice", "deleted_count": 3}
    assert (await api.client.get("/api/v1/audio/my-files", headers=alice.headers)).json()["total"] == 0
    await api.deliver()
    assert len(await stored_keys(api)) == 1
    async with api.uow() as uow:
        stored = await uow.collections.get(playlist.id)  # type: ignore[arg-type]
        assert stored is not None
        assert [(t.audio_file_id, t.track_order) for t in stored.tracks] == [(his["id"], 1)]
        user = await uow.users.get_by_username("alice")
        assert user is not None and user.max_audio_uploads == 20
    (action,) = await admin_actions(api, "alice")
    assert action["action"] == "delete_audio_files" and action["deleted_count"] == 3
    assert action["actor"] is not None and action["user"] == hers[0]["owner_id"]

    again = await api.client.delete(f"{ADMIN}/users/{hers[0]['owner_id']}/audio-files", headers=root.headers)
    assert again.json() == {"message": "Deleted 0 audio files of user alice", "deleted_count": 0}


async def test_reset_uploads(api: Api) -> None:
    alice = await api.account("alice")
    root = await api.account("root", admin=True)
    async with api.uow() as uow:
        user = await uow.users.get_by_username("alice")
        assert user is not None
        user.max_audio_uploads = 2
        await uow.commit()
    created = [await uploaded(api, alice) for _ in range(2)]
    assert (await upload(api, alice, mp3_bytes())).status_code == 403

    response = await api.client.post(f"{ADMIN}/users/{created[0]['owner_id']}/reset-uploads", headers=root.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Upload quota reset for user alice: deleted 2 audio files",
        "deleted_count": 2,
        "max_audio_uploads": 20,
    }
    await api.deliver()
    assert await stored_keys(api) == set()
    stats = (await api.client.get("/api/v1/audio/stats", headers=alice.headers)).json()
    assert stats == {"used_uploads": 0, "max_uploads": 20, "remaining_uploads": 20, "total_bytes": 0}
    (action,) = await admin_actions(api, "alice")
    assert (action["action"], action["deleted_count"]) == ("reset_uploads", 2)


@pytest.mark.parametrize("user_id", ["999", "0", "-1", "2147483648", "99999999999999999999"])
async def test_unknown_users_are_404_and_impossible_ids_422(api: Api, user_id: str) -> None:
    root = await api.account("root", admin=True)

    deleted = await api.client.delete(f"{ADMIN}/users/{user_id}/audio-files", headers=root.headers)
    reset = await api.client.post(f"{ADMIN}/users/{user_id}/reset-uploads", headers=root.headers)

    for response in (deleted, reset):
        if user_id == "999":
            assert response.status_code == 404
            assert response.json() == {"detail": "User not found"}
        else:
            assert response.status_code == 422
            assert response.json()["detail"][0]["loc"] == ["path", "user_id"]


async def test_admin_list_parameters(api: Api) -> None:
    root = await api.account("root", admin=True)

    for query in ("limit=0", "limit=101", "skip=-1", "skip=99999999999999999999"):
        response = await api.client.get(f"{ADMIN}/audio-files/all?{query}", headers=root.headers)
        assert response.status_code == 422, (query, response.text)
