"""Maintenance mode: who may switch it, and what answers while it is on."""

from __future__ import annotations

from tests.integration.api.conftest import Api

MAINTENANCE = "/api/v1/admin/maintenance"
DEFAULT_MESSAGE = "Service temporarily unavailable for maintenance"


async def test_status_is_public(api: Api) -> None:
    response = await api.client.get(f"{MAINTENANCE}/status")

    assert response.status_code == 200
    assert response.json() == {"enabled": False, "message": DEFAULT_MESSAGE}


async def test_only_admins_switch_it(api: Api) -> None:
    alice = await api.account("alice")

    for action in ("enable", "disable"):
        anonymous = await api.client.post(f"{MAINTENANCE}/{action}")
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": "Not authenticated"}
        user = await api.client.post(f"{MAINTENANCE}/{action}", headers=alice.headers)
        assert user.status_code == 403
        assert user.json() == {"detail": "Not enough permissions"}
    toggle = await api.client.post(f"{MAINTENANCE}/toggle", headers=alice.headers, json={"enabled": True})
    assert toggle.status_code == 403
    assert (await api.client.get(f"{MAINTENANCE}/status")).json()["enabled"] is False


async def test_maintenance_turns_away_everyone_but_admins(api: Api) -> None:
    admin = await api.account("root", admin=True)
    alice = await api.account("alice")

    enabled = await api.client.post(f"{MAINTENANCE}/enable", params={"message": "Back at 3pm"}, headers=admin.headers)
    assert enabled.status_code == 200
    assert enabled.json() == {"enabled": True, "message": "Back at 3pm"}

    expected = {"detail": "Back at 3pm", "status": "maintenance", "retry_after": 3600}
    for response in (
        await api.client.get("/api/v1/users/me", headers=alice.headers),
        await api.client.post("/api/v1/users/", json={"username": "bob"}),
        await api.login("alice"),  # the use case refuses non-admins, whatever the password
        await api.login("alice", "Wr0ng!Password"),
        await api.login("nobody"),
        await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token}),
    ):
        assert response.status_code == 503, response.request.url
        assert response.json() == expected
        assert response.headers["retry-after"] == "3600"
        assert response.headers["x-content-type-options"] == "nosniff"

    assert (await api.client.get("/health")).status_code == 200
    assert (await api.client.get("/health/ready")).status_code == 200
    assert (await api.client.get("/docs")).status_code == 200
    assert (await api.client.get("/openapi.json")).status_code == 200
    assert (await api.client.get(f"{MAINTENANCE}/status")).json() == {"enabled": True, "message": "Back at 3pm"}
    assert (await api.client.get("/api/v1/users/me", headers=admin.headers)).status_code == 200
    # an admin's client encrypts the password before it logs in, and refreshes its session
    assert (await api.client.get("/api/v1/users/public-key")).status_code == 200
    encrypted = await api.encrypt("Str0ng!Passw0rd")
    relogin = await api.login("root", encrypted, headers={"X-Password-Encrypted": "true"})
    assert relogin.status_code == 200, relogin.text
    refreshed = await api.client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": relogin.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200

    disabled = await api.client.post(f"{MAINTENANCE}/disable", headers=admin.headers)
    assert disabled.status_code == 200
    assert disabled.json() == {"enabled": False, "message": DEFAULT_MESSAGE}
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 200


async def test_enable_without_a_message_uses_the_default(api: Api) -> None:
    admin = await api.account("root", admin=True)

    response = await api.client.post(f"{MAINTENANCE}/enable", headers=admin.headers)

    assert response.json() == {"enabled": True, "message": DEFAULT_MESSAGE}
    assert (await api.client.get("/api/v1/users/search?query=ro")).json()["detail"] == DEFAULT_MESSAGE


async def test_a_message_over_200_characters_is_422(api: Api) -> None:
    admin = await api.account("root", admin=True)

    by_query = await api.client.post(f"{MAINTENANCE}/enable", params={"message": "m" * 201}, headers=admin.headers)
    by_body = await api.client.post(
        f"{MAINTENANCE}/toggle", json={"enabled": True, "message": "m" * 201}, headers=admin.headers
    )

    assert by_query.status_code == 422
    assert by_query.json() == {
        "detail": [
            {"loc": ["query", "message"], "msg": "Message must be at most 200 characters", "type": "value_error"}
        ]
    }
    assert by_body.status_code == 422
    assert by_body.json()["detail"][0]["loc"] == ["body", "message"]
    assert (await api.client.get(f"{MAINTENANCE}/status")).json()["enabled"] is False


async def test_toggle(api: Api) -> None:
    admin = await api.account("root", admin=True)
    alice = await api.account("alice")

    on = await api.client.post(
        f"{MAINTENANCE}/toggle", json={"enabled": True, "message": "Database upgrade"}, headers=admin.headers
    )
    assert on.status_code == 200
    assert on.json() == {"enabled": True, "message": "Database upgrade"}
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 503

    off = await api.client.post(f"{MAINTENANCE}/toggle", json={"enabled": False}, headers=admin.headers)
    assert off.status_code == 200
    assert off.json() == {"enabled": False, "message": DEFAULT_MESSAGE}
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 200

    missing = await api.client.post(f"{MAINTENANCE}/toggle", json={}, headers=admin.headers)
    assert missing.status_code == 422
    assert missing.json() == {"detail": [{"loc": ["body", "enabled"], "msg": "Field required", "type": "missing"}]}


async def test_an_invalid_token_during_maintenance_gets_the_maintenance_answer(api: Api) -> None:
    admin = await api.account("root", admin=True)
    await api.client.post(f"{MAINTENANCE}/enable", headers=admin.headers)

    response = await api.client.get("/api/v1/users/me", headers={"Authorization": "Bearer garbage"})

    assert response.status_code == 503
