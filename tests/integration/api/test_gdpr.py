"""Account deletion (scheduled and immediate, soft and hard), data export and consents."""

from __future__ import annotations

from urllib.parse import quote

from tests.fixtures.media import png_bytes
from tests.integration.api.conftest import PASSWORD, Api, local_url

ME = "/api/v1/users/me"
NOT_PENDING = {"has_pending_deletion": False}
SCHEDULED = (
    "Account deletion scheduled. Your account will remain active for 7 days. "
    "Cancel anytime using /users/me/cancel-deletion"
)


async def test_request_status_and_cancel_a_deletion(api: Api) -> None:
    alice = await api.account("alice")
    assert (await api.client.get(f"{ME}/deletion-status", headers=alice.headers)).json() == NOT_PENDING

    requested = await api.client.post(
        f"{ME}/request-deletion", headers=alice.headers, json={"deletion_type": "hard", "reason": "Moving on"}
    )
    assert requested.status_code == 200, requested.text
    body = requested.json()
    assert set(body) == {"message", "scheduled_deletion_at", "grace_period_days", "deletion_type", "can_cancel_until"}
    assert body["message"] == SCHEDULED
    assert (body["deletion_type"], body["grace_period_days"]) == ("hard", 7)
    assert body["scheduled_deletion_at"].endswith("Z") and body["can_cancel_until"] == body["scheduled_deletion_at"]

    me = (await api.client.get(ME, headers=alice.headers)).json()
    assert me["deletion_requested_at"] is not None and me["deletion_requested_at"].endswith("Z")

    again = await api.client.post(f"{ME}/request-deletion", headers=alice.headers, json={})
    assert again.status_code == 409
    assert again.json() == {"detail": "A deletion request is already pending"}

    status = await api.client.get(f"{ME}/deletion-status", headers=alice.headers)
    assert status.status_code == 200
    pending = status.json()
    assert set(pending) == {
        "has_pending_deletion",
        "deletion_type",
        "scheduled_deletion_at",
        "days_remaining",
        "can_cancel",
        "reason",
        "requested_at",
    }
    assert (pending["has_pending_deletion"], pending["deletion_type"], pending["reason"]) == (True, "hard", "Moving on")
    assert pending["can_cancel"] is True and pending["scheduled_deletion_at"] == body["scheduled_deletion_at"]
    assert isinstance(pending["days_remaining"], float) and 6.99 <= pending["days_remaining"] <= 7.0
    assert pending["requested_at"] == me["deletion_requested_at"]

    cancelled = await api.client.post(f"{ME}/cancel-deletion", headers=alice.headers)
    assert cancelled.status_code == 200
    assert cancelled.json() == {"message": "Account deletion cancelled"}
    assert (await api.client.get(f"{ME}/deletion-status", headers=alice.headers)).json() == NOT_PENDING
    assert (await api.client.get(ME, headers=alice.headers)).json()["deletion_requested_at"] is None

    nothing = await api.client.post(f"{ME}/cancel-deletion", headers=alice.headers)
    assert nothing.status_code == 404
    assert nothing.json() == {"detail": "No pending deletion request found"}


async def test_a_deletion_request_defaults_to_soft(api: Api) -> None:
    alice = await api.account("alice")

    without_body = await api.client.post(f"{ME}/request-deletion", headers=alice.headers)

    assert without_body.status_code == 200
    assert without_body.json()["deletion_type"] == "soft"
    status = (await api.client.get(f"{ME}/deletion-status", headers=alice.headers)).json()
    assert status["reason"] is None and status["deletion_type"] == "soft"


async def test_a_deletion_request_validates_its_body(api: Api) -> None:
    alice = await api.account("alice")

    bad_type = await api.client.post(f"{ME}/request-deletion", headers=alice.headers, json={"deletion_type": "x"})
    long_reason = await api.client.post(f"{ME}/request-deletion", headers=alice.headers, json={"reason": "r" * 501})

    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0]["loc"] == ["body", "deletion_type"]
    assert long_reason.status_code == 422
    assert long_reason.json()["detail"][0]["loc"] == ["body", "reason"]


async def test_delete_now_soft(api: Api) -> None:
    alice = await api.account("alice")

    wrong = await api.client.delete(ME, headers=alice.headers, params={"password": "Wr0ng!Password"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Incorrect password"}

    deleted = await api.client.delete(ME, headers=alice.headers, params={"password": PASSWORD})
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Account deactivated (soft delete)"}

    assert (await api.client.get(ME, headers=alice.headers)).status_code == 401
    login = await api.login("alice")
    assert login.status_code == 403
    assert login.json() == {
        "detail": "This account has been deactivated. Please contact support to reactivate your account."
    }


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
    assert deleted.json() == {"message": "Account permanently deleted (hard delete - GDPR)"}
    login = await api.login("alice")
    assert login.status_code == 401
    assert login.json() == {"detail": "Incorrect username or password"}
    await api.deliver()  # what a worker does shortly after the commit
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
    assert set(data) == {
        "exported_at",
        "user_profile",
        "audio_files",
        "collections",
        "collaborations",
        "consents",
        "deletion_requests",
        "audit_logs",
        "subsonic_credentials",
        "stars",
        "plays",
    }
    assert data["exported_at"].endswith("Z")
    me = (await api.client.get(ME, headers=alice.headers)).json()
    assert data["user_profile"] == me  # the owner's user shape, and nothing more (no hash, no token version)
    assert [c["consent_type"] for c in data["consents"]] == ["terms"]
    register = next(entry for entry in data["audit_logs"] if entry["action"] == "user.register")
    assert set(register) == {"timestamp", "action", "resource_type", "success", "ip_address"}
    assert (register["resource_type"], register["success"]) == ("user", True)
    assert register["timestamp"].endswith("Z")
    text = response.text
    for secret in ("password_hash", "token_version", "storage_key", "argon2", "profile_picture_key"):
        assert secret not in text


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
        "message",
        "consent_id",
    }
    assert body["message"] == "Consent recorded" and body["consent_id"] == body["id"]
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
    assert consents[1]["withdrawn_at"] is not None and "message" not in consents[0]


async def test_consent_version_round_trips_exactly_and_the_ip_must_be_an_ip(api: Api) -> None:
    alice = await api.account("alice")
    kept = await api.client.post(
        f"{ME}/consent", headers=alice.headers, json={"consent_type": "terms", "consent_version": "2.0"}
    )
    assert kept.json()["consent_version"] == "2.0"

    for bad in ("x" * 46, "not-an-ip", "1.2.3.4.5", "1" * 5000):
        response = await api.client.post(
            f"{ME}/consent",
            headers=alice.headers,
            json={"consent_type": "terms", "consent_version": "1", "ip_address": bad},
        )
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["body", "ip_address"]
    v6 = await api.client.post(
        f"{ME}/consent",
        headers=alice.headers,
        json={"consent_type": "terms", "consent_version": "1", "ip_address": "2001:db8::1"},
    )
    assert v6.status_code == 201 and v6.json()["ip_address"] == "2001:db8::1"


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
