"""Account deletion (scheduled and immediate, soft and hard), data export and consents."""

from __future__ import annotations

from urllib.parse import quote

from tests.fixtures.media import png_bytes
from tests.integration.api.conftest import PASSWORD, Api, local_url

ME = "/api/v1/users/me"
NOT_PENDING = {
    "pending": False,
    "deletion_type": None,
    "reason": None,
    "requested_at": None,
    "scheduled_for": None,
    "days_remaining": None,
}


async def test_request_status_and_cancel_a_deletion(api: Api) -> None:
    alice = await api.account("alice")
    assert (await api.client.get(f"{ME}/deletion-status", headers=alice.headers)).json() == NOT_PENDING

    requested = await api.client.post(
        f"{ME}/request-deletion", headers=alice.headers, json={"deletion_type": "hard", "reason": "Moving on"}
    )
    assert requested.status_code == 200, requested.text
    body = requested.json()
    assert body["message"] == "Account deletion scheduled"
    assert body["pending"] is True
    assert (body["deletion_type"], body["reason"], body["days_remaining"]) == ("hard", "Moving on", 7)
    assert body["requested_at"].endswith("Z")
    assert body["scheduled_for"].endswith("Z")

    again = await api.client.post(f"{ME}/request-deletion", headers=alice.headers, json={})
    assert again.status_code == 409
    assert again.json() == {"detail": "A deletion request is already pending"}

    status = await api.client.get(f"{ME}/deletion-status", headers=alice.headers)
    assert status.status_code == 200
    assert status.json() == {k: v for k, v in body.items() if k != "message"}

    cancelled = await api.client.post(f"{ME}/cancel-deletion", headers=alice.headers)
    assert cancelled.status_code == 200
    assert cancelled.json() == {"message": "Deletion request cancelled"}
    assert (await api.client.get(f"{ME}/deletion-status", headers=alice.headers)).json() == NOT_PENDING

    nothing = await api.client.post(f"{ME}/cancel-deletion", headers=alice.headers)
    assert nothing.status_code == 404
    assert nothing.json() == {"detail": "No pending deletion request found"}


async def test_a_deletion_request_defaults_to_soft(api: Api) -> None:
    alice = await api.account("alice")

    without_body = await api.client.post(f"{ME}/request-deletion", headers=alice.headers)

    assert without_body.status_code == 200
    assert without_body.json()["deletion_type"] == "soft"
    assert without_body.json()["reason"] is None


async def test_a_deletion_request_validates_its_body(api: Api) -> None:
    alice = await api.account("alice")

    bad_type = await api.client.post(f"{ME}/request-deletion", headers=alice.headers, json={"deletion_type": "x"})
    long_reason = await api.client.post(f"{ME}/request-deletion", headers=alice.headers, json={"reason": "r" * 1001})

    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0]["loc"] == ["body", "deletion_type"]
    assert long_reason.status_code == 422
    assert long_reason.json()["detail"][0]["loc"] == ["body", "reason"]


async def test_delete_now_soft(api: Api) -> None:
    alice = await api.account("alice")

    wrong = await api.client.delete(ME, headers=alice.headers, params={"password": "Wr0ng!Password"})
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Incorrect password"}

    deleted = await api.client.delete(ME, headers=alice.headers, params={"password": PASSWORD})
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Account deleted"}

    assert (await api.client.get(ME, headers=alice.headers)).status_code == 401
    login = await api.login("alice")
    assert login.status_code == 403
    assert login.json() == {"detail": "Account is disabled"}


async def test_delete_now_hard_with_an_encrypted_password(api: Api) -> None:
    alice = await api.account("alice")
    picture = await api.client.post(
        f"{ME}/upload-profile-picture", headers=alice.headers, files={"file": ("p.png", png_bytes(), "image/png")}
    )
    picture_url = local_url(picture.json()["profile_picture_url"])

    deleted = await api.client.delete(
        f"{ME}?password={quote(await api.encrypt(PASSWORD))}&deletion_type=hard",
        headers=alice.headers | {"X-Password-Encrypted": "true"},
    )

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"message": "Account deleted"}
    login = await api.login("alice")
    assert login.status_code == 401
    assert login.json() == {"detail": "Incorrect username or password"}
    assert (await api.client.get(picture_url)).status_code == 404
    assert not list(api.settings.media_dir.glob("avatars/**/*.*"))
    assert (await api.register("alice")).status_code == 201  # the name and email are free again


async def test_delete_now_validates_its_query(api: Api) -> None:
    alice = await api.account("alice")

    no_password = await api.client.delete(ME, headers=alice.headers)
    bad_type = await api.client.delete(ME, headers=alice.headers, params={"password": PASSWORD, "deletion_type": "x"})

    assert no_password.status_code == 422
    assert no_password.json() == {
        "detail": [{"loc": ["query", "password"], "msg": "Field required", "type": "missing"}]
    }
    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0]["loc"] == ["query", "deletion_type"]


async def test_export_data(api: Api) -> None:
    alice = await api.account("alice")
    await api.client.post(
        f"{ME}/consent", headers=alice.headers, json={"consent_type": "terms", "consent_version": "1.0"}
    )

    response = await api.client.get(f"{ME}/export-data", headers=alice.headers)

    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="sono-export-alice.json"'
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert set(data) >= {
        "exported_at",
        "profile",
        "audio_files",
        "collections",
        "collaborations",
        "consents",
        "deletion_requests",
        "audit_log",
    }
    assert data["profile"]["username"] == "alice"
    assert "password_hash" not in data["profile"]
    assert [c["consent_type"] for c in data["consents"]] == ["terms"]
    assert any(entry["event"] == "user.register" for entry in data["audit_log"])


async def test_consents(api: Api) -> None:
    alice = await api.account("alice")

    first = await api.client.post(
        f"{ME}/consent",
        headers=alice.headers,
        json={"consent_type": "privacy_policy", "consent_version": "1.0", "ip_address": "192.168.1.1"},
    )
    second = await api.client.post(
        f"{ME}/consent", headers=alice.headers, json={"consent_type": "privacy_policy", "consent_version": "2.0"}
    )

    assert first.status_code == 201
    body = first.json()
    assert set(body) == {
        "id",
        "user_id",
        "consent_type",
        "consent_version",
        "ip_address",
        "given_at",
        "withdrawn_at",
        "is_active",
    }
    assert (body["consent_type"], body["consent_version"], body["ip_address"]) == (
        "privacy_policy",
        "1.0",
        "192.168.1.1",
    )
    assert body["is_active"] is True
    assert body["withdrawn_at"] is None
    assert body["given_at"].endswith("Z")
    assert second.status_code == 201
    assert second.json()["ip_address"] == "127.0.0.1"  # the client's address when none is given

    listed = await api.client.get(f"{ME}/consents", headers=alice.headers)
    assert listed.status_code == 200
    consents = listed.json()
    assert isinstance(consents, list)
    assert [c["consent_version"] for c in consents] == ["2.0", "1.0"]
    assert [c["is_active"] for c in consents] == [True, False]  # the newer one supersedes


async def test_consent_validation(api: Api) -> None:
    alice = await api.account("alice")

    missing = await api.client.post(f"{ME}/consent", headers=alice.headers, json={"consent_type": "terms"})
    too_long = await api.client.post(
        f"{ME}/consent", headers=alice.headers, json={"consent_type": "t" * 51, "consent_version": "1"}
    )

    assert missing.status_code == 422
    assert missing.json() == {
        "detail": [{"loc": ["body", "consent_version"], "msg": "Field required", "type": "missing"}]
    }
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["body", "consent_type"]


async def test_gdpr_endpoints_need_a_token(api: Api) -> None:
    for method, path in (
        ("POST", f"{ME}/request-deletion"),
        ("POST", f"{ME}/cancel-deletion"),
        ("GET", f"{ME}/deletion-status"),
        ("DELETE", f"{ME}?password=x"),
        ("GET", f"{ME}/export-data"),
        ("POST", f"{ME}/consent"),
        ("GET", f"{ME}/consents"),
    ):
        response = await api.client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "Not authenticated"}
