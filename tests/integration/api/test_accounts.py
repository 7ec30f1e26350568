"""Registration, login, token refresh and logout, the caller's profile, encrypted passwords."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import PASSWORD, Api, MakeApi, bearer

USER_FIELDS = {
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
}


def field_error(loc: list[str], msg: str, type_: str = "value_error") -> dict[str, object]:
    return {"loc": loc, "msg": msg, "type": type_}


# --------------------------------------------------------------------------- public key


async def test_public_key(api: Api) -> None:
    response = await api.client.get("/api/v1/users/public-key")

    assert response.status_code == 200
    body = response.json()
    assert body["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert body["algorithm"] == "RSA-OAEP-256"
    assert body["key_id"] == api.container.ports.decryptor.key_id


# --------------------------------------------------------------------------- registration


async def test_register_answers_201_with_the_user(api: Api) -> None:
    response = await api.register("alice", email="Alice@Example.com", display_name="Alice")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["username"] == "alice"
    assert body["email"] == "Alice@Example.com"
    assert body["display_name"] == "Alice"
    assert body["bio"] is None
    assert body["profile_picture_url"] is None
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert body["max_audio_uploads"] == 20
    assert body["created_at"].endswith("Z")


async def test_register_duplicates_are_409(api: Api) -> None:
    assert (await api.register("alice", email="alice@example.com")).status_code == 201

    same_email = await api.register("alice2", email="ALICE@example.COM")
    same_username = await api.register("alice", email="other@example.com")

    assert same_email.status_code == 409
    assert same_email.json() == {"detail": "Email already registered"}
    assert same_username.status_code == 409
    assert same_username.json() == {"detail": "Username already taken"}


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Sh0rt!", "Password must be at least 8 characters long"),
        ("Aa1!" + "x" * 125, "Password must be at most 128 characters long"),
        ("lowercase1!", "Password must contain at least one uppercase letter"),
        ("UPPERCASE1!", "Password must contain at least one lowercase letter"),
        ("NoDigits!!", "Password must contain at least one number"),
        ("NoSpecial12", "Password must contain at least one special character"),
    ],
)
async def test_register_names_each_broken_password_rule(api: Api, password: str, rule: str) -> None:
    response = await api.register("alice", password=password)

    assert response.status_code == 422
    assert response.json() == {"detail": rule}  # contract section 3: a string, as the web shows it


async def test_register_names_the_first_broken_password_rule_as_text(api: Api) -> None:
    response = await api.register("alice", password="weakpassword")

    assert (response.status_code, response.json()) == (
        422,
        {"detail": "Password must contain at least one uppercase letter"},
    )
    assert (await api.login("alice", "weakpassword")).status_code == 401  # nothing was registered


async def test_register_rejects_bad_username_email_and_display_name(api: Api) -> None:
    response = await api.register("a b", email="not-an-email", display_name="x" * 51)

    assert response.status_code == 422
    assert response.json() == {"detail": "Username may only contain letters, numbers, underscores and hyphens"}
    bad_email = await api.register("alice", email="not-an-email", display_name="x" * 51)
    assert bad_email.json() == {"detail": "value is not a valid email address"}
    too_short = await api.register("ab")
    assert too_short.json() == {"detail": "Username must be between 3 and 50 characters"}


async def test_register_missing_and_mistyped_fields_are_422(api: Api) -> None:
    missing = await api.client.post("/api/v1/users/", json={"username": "alice", "password": PASSWORD})
    mistyped = await api.client.post(
        "/api/v1/users/", json={"username": 5, "email": "a@example.com", "password": PASSWORD}
    )

    assert missing.status_code == 422
    assert missing.json() == {"detail": "email: Field required"}
    assert mistyped.status_code == 422
    assert mistyped.json()["detail"].startswith("username: Expected `str`")


async def test_register_and_login_with_encrypted_passwords(api: Api) -> None:
    encrypted = {"X-Password-Encrypted": "true"}

    registered = await api.register("alice", password=await api.encrypt(PASSWORD), headers=encrypted)
    logged_in = await api.login("alice", await api.encrypt(PASSWORD), headers=encrypted)
    plain = await api.login("alice", PASSWORD)

    assert registered.status_code == 201, registered.text
    assert logged_in.status_code == 200, logged_in.text
    assert plain.status_code == 200


async def test_a_password_that_does_not_decrypt_is_400(api: Api) -> None:
    response = await api.register("alice", password="bm90IGVuY3J5cHRlZA==", headers={"X-Password-Encrypted": "true"})

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid encrypted password"}


# --------------------------------------------------------------------------- login


async def test_login_by_username_or_email(api: Api) -> None:
    await api.account("alice")

    by_username = await api.login("alice")
    by_email = await api.login("ALICE@example.com")

    for response in (by_username, by_email):
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"access_token", "token_type", "refresh_token", "expires_in"}
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 30 * 60


async def test_login_accepts_the_oauth2_form_extras(api: Api) -> None:
    await api.account("alice")

    response = await api.client.post(
        "/api/v1/users/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "", "client_id": "web"},
    )

    assert response.status_code == 200, response.text


async def test_wrong_password_and_unknown_user_get_the_same_401(api: Api) -> None:
    await api.account("alice")

    wrong_password = await api.login("alice", "Wr0ng!Password")
    unknown_user = await api.login("nobody", PASSWORD)

    for response in (wrong_password, unknown_user):
        assert response.status_code == 401
        assert response.json() == {"detail": "Incorrect username or password"}
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_disabled_account_cannot_log_in(api: Api) -> None:
    await api.account("alice")
    await api.set_active("alice", False)

    response = await api.login("alice")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This account has been deactivated. Please contact support to reactivate your account."
    }


async def test_login_form_without_password_is_422(api: Api) -> None:
    response = await api.client.post("/api/v1/users/token", data={"username": "alice"})

    assert response.status_code == 422
    assert response.json() == {"detail": [field_error(["body", "password"], "Field required", "missing")]}


async def test_login_with_a_body_that_is_not_a_form_says_a_form_is_expected(api: Api) -> None:
    await api.account("alice")
    expected = {
        "detail": [
            {
                "loc": ["body"],
                "msg": "Expected a form body (Content-Type: application/x-www-form-urlencoded)",
                "type": "value_error",
            }
        ]
    }

    as_json = await api.client.post("/api/v1/users/token", json={"username": "alice", "password": PASSWORD})
    as_text = await api.client.post(
        "/api/v1/users/token", content=b"username=alice", headers={"Content-Type": "text/plain"}
    )
    as_form = await api.client.post(
        "/api/v1/users/token",
        content=f"username=alice&password={PASSWORD}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )

    assert (as_json.status_code, as_json.json()) == (422, expected)
    assert (as_text.status_code, as_text.json()) == (422, expected)
    assert as_form.status_code == 200, as_form.text


# --------------------------------------------------------------------------- refresh and logout


async def test_refresh_rotates_and_a_replayed_token_ends_the_session(make_api: MakeApi) -> None:
    api = await make_api(SONO_REFRESH_GRACE_SECONDS="0")  # no grace: a replay is reuse at once
    alice = await api.account("alice")

    first = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != alice.refresh_token
    assert (await api.client.get("/api/v1/users/me", headers=bearer(rotated["access_token"]))).status_code == 200

    replayed = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token})
    assert replayed.status_code == 401
    assert replayed.json() == {"detail": "Invalid refresh token"}
    assert replayed.headers["www-authenticate"] == "Bearer"

    newest = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert newest.status_code == 401
    # the session's access tokens ended with it
    assert (await api.client.get("/api/v1/users/me", headers=bearer(rotated["access_token"]))).status_code == 401


async def test_a_racing_refresh_within_the_grace_window_gets_a_pair_of_the_same_session(api: Api) -> None:
    alice = await api.account("alice")
    first = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token})
    second = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token})

    assert (first.status_code, second.status_code) == (200, 200), second.text
    for pair in (first.json(), second.json()):
        assert (await api.client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))).status_code == 200
        assert isinstance(pair["expires_in"], int)
    # both refresh tokens carry the session's current token: either goes on
    third = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert third.status_code == 200


async def test_refresh_with_garbage_is_401(api: Api) -> None:
    response = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": "not.a.token"})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid refresh token"}


async def test_logout_ends_the_access_and_refresh_tokens(api: Api) -> None:
    alice = await api.account("alice")

    response = await api.client.post(
        "/api/v1/users/logout", headers=alice.headers, json={"refresh_token": alice.refresh_token}
    )

    assert response.status_code == 200
    assert response.json() == {"message": "Successfully logged out"}
    me = await api.client.get("/api/v1/users/me", headers=alice.headers)
    assert me.status_code == 401
    assert me.json() == {"detail": "Could not validate credentials"}
    refresh = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401


async def test_logout_without_a_body_ends_this_session(api: Api) -> None:
    alice = await api.account("alice")

    response = await api.client.post("/api/v1/users/logout", headers=alice.headers)

    assert response.status_code == 200
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 401
    refresh = await api.client.post("/api/v1/users/token/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401


async def test_logout_needs_a_token(api: Api) -> None:
    response = await api.client.post("/api/v1/users/logout")

    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


# --------------------------------------------------------------------------- the caller's profile


async def test_me_needs_a_valid_bearer_token(api: Api) -> None:
    missing = await api.client.get("/api/v1/users/me")
    wrong_scheme = await api.client.get("/api/v1/users/me", headers={"Authorization": "Basic YWxpY2U6eA=="})
    invalid = await api.client.get("/api/v1/users/me", headers=bearer("not-a-token"))

    for response in (missing, wrong_scheme):
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert invalid.status_code == 401
    assert invalid.json() == {"detail": "Could not validate credentials"}
    assert invalid.headers["www-authenticate"] == "Bearer"


async def test_me_and_update_me(api: Api) -> None:
    alice = await api.account("alice")

    me = await api.client.get("/api/v1/users/me", headers=alice.headers)
    assert me.status_code == 200
    assert set(me.json()) == USER_FIELDS
    assert me.json()["username"] == "alice"

    updated = await api.client.put(
        "/api/v1/users/me", headers=alice.headers, json={"display_name": "Alice A.", "bio": "Plays the oud"}
    )
    assert updated.status_code == 200
    assert (updated.json()["display_name"], updated.json()["bio"]) == ("Alice A.", "Plays the oud")

    unchanged = await api.client.put("/api/v1/users/me", headers=alice.headers, json={})
    assert (unchanged.json()["display_name"], unchanged.json()["bio"]) == ("Alice A.", "Plays the oud")

    cleared = await api.client.put("/api/v1/users/me", headers=alice.headers, json={"bio": None})
    assert (cleared.json()["display_name"], cleared.json()["bio"]) == ("Alice A.", None)

    again = await api.client.get("/api/v1/users/me", headers=alice.headers)
    assert again.json() == cleared.json()


async def test_update_me_validates_lengths(api: Api) -> None:
    alice = await api.account("alice")

    response = await api.client.put(
        "/api/v1/users/me", headers=alice.headers, json={"display_name": "x" * 51, "bio": "y" * 501}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        field_error(["body", "display_name"], "Display name must be at most 50 characters"),
        field_error(["body", "bio"], "Bio must be at most 500 characters"),
    ]


# --------------------------------------------------------------------------- user search


async def test_users_are_found_by_part_of_their_username_or_display_name(make_api: MakeApi) -> None:
    api = await make_api(SONO_RATE_LIMITS_ENABLED="false")  # seven registrations
    alice = await api.account("alice")
    for name, display in (("Roberta", "Bobbie"), ("rob_the_builder", None), ("carol", "Rob Roy"), ("dave", "d%_x")):
        made = await api.account(name)
        if display is not None:
            changed = await api.client.put("/api/v1/users/me", headers=made.headers, json={"display_name": display})
            assert changed.status_code == 200, changed.text
    admin = await api.account("root", admin=True)
    dave = (await api.client.get("/api/v1/users/me", headers=(await api.account("dave2")).headers)).json()
    disabled = await api.client.post(f"/api/v1/admin/users/{dave['id']}/disable", headers=admin.headers)
    assert disabled.status_code == 200

    def search(query: str, **params: object) -> Any:
        return api.client.get("/api/v1/users/search", params={"query": query, **params}, headers=alice.headers)

    found = await search("ROB")
    assert found.status_code == 200, found.text
    body = found.json()
    assert set(body) == {"items", "total", "has_more"}
    assert [user["username"] for user in body["items"]] == ["carol", "rob_the_builder", "Roberta"]
    assert (body["total"], body["has_more"]) == (3, False)
    assert set(body["items"][0]) == {"id", "username", "display_name", "bio", "profile_picture_url"}  # no email

    page = (await search("rob", skip=1, limit=1)).json()
    assert ([u["username"] for u in page["items"]], page["total"], page["has_more"]) == (["rob_the_builder"], 3, True)
    assert [u["username"] for u in (await search("%_")).json()["items"]] == ["dave"]  # wildcards are literal
    assert (await search("dave")).json()["total"] == 1  # the disabled dave2 is not listed
    assert (await search("zz")).json() == {"items": [], "total": 0, "has_more": False}
    assert (await search("r")).status_code == 422
    assert (await search(" r ")).status_code == 422
    anonymous = await api.client.get("/api/v1/users/search", params={"query": "rob"})
    assert anonymous.status_code == 401


async def test_a_refused_search_names_the_query_parameter(api: Api) -> None:
    alice = await api.account("alice")

    for params in ({"query": "x" * 2000}, {"query": "r"}, {}):
        response = await api.client.get("/api/v1/users/search", params=params, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert [error["loc"] for error in response.json()["detail"]] == [["query", "query"]], params.keys()
