"""Password reset by email, end to end: the link is read from the outbox."""

from __future__ import annotations

import socket

from tests.integration.api.conftest import PASSWORD, Api, MakeApi

FORGOT_BODY = {
    "message": "If an account with that email exists, we've sent password reset instructions.",
    "success": True,
}
NEW_PASSWORD = "N3w!Passw0rd-2"


async def forgot(api: Api, email: str):
    return await api.client.post("/api/v1/users/forgot-password", json={"email": email})


async def reset(api: Api, token: str, new_password: str = NEW_PASSWORD, **kwargs):
    return await api.client.post(
        "/api/v1/users/reset-password", json={"token": token, "new_password": new_password}, **kwargs
    )


async def test_password_reset_end_to_end(api: Api) -> None:
    alice = await api.account("alice")

    response = await forgot(api, "ALICE@example.com")
    assert response.status_code == 200
    assert response.json() == FORGOT_BODY
    [message] = api.outbox()
    assert message["To"] == "alice@example.com"
    token = api.last_reset_token()
    await forgot(api, "alice@example.com")
    other_token = api.last_reset_token()
    assert other_token != token

    verified = await api.client.post("/api/v1/users/verify-reset-token", json={"token": token})
    assert verified.status_code == 200
    assert verified.json() == {"message": "Reset token is valid", "success": True}

    done = await reset(api, token)
    assert done.status_code == 200
    assert done.json() == {
        "message": "Password has been reset successfully. You can now log in with your new password.",
        "success": True,
    }

    assert (await api.login("alice", PASSWORD)).status_code == 401
    assert (await api.login("alice", NEW_PASSWORD)).status_code == 200
    assert (await api.client.get("/api/v1/users/me", headers=alice.headers)).status_code == 401  # sessions ended

    for used in (token, other_token):  # the reset used up every outstanding token of alice
        for path, body in (
            ("/api/v1/users/verify-reset-token", {"token": used}),
            ("/api/v1/users/reset-password", {"token": used, "new_password": "An0ther!Password"}),
        ):
            again = await api.client.post(path, json=body)
            assert again.status_code == 400
            assert again.json() == {"detail": "This reset link has already been used"}


async def test_unknown_tokens_are_400(api: Api) -> None:
    verify = await api.client.post("/api/v1/users/verify-reset-token", json={"token": "no-such-token"})
    reset_response = await reset(api, "no-such-token")

    for response in (verify, reset_response):
        assert response.status_code == 400
        assert response.json() == {"detail": "Invalid or expired reset token"}


async def test_forgot_password_for_an_unknown_email_answers_the_same(api: Api) -> None:
    response = await forgot(api, "nobody@example.com")

    assert response.status_code == 200
    assert response.json() == FORGOT_BODY
    assert api.outbox() == []


async def test_reset_checks_the_password_policy(api: Api) -> None:
    await api.account("alice")
    await forgot(api, "alice@example.com")

    response = await reset(api, api.last_reset_token(), "no-uppercase1!")

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "new_password"],
                "msg": "Password must contain at least one uppercase letter",
                "type": "value_error",
            }
        ]
    }


async def test_reset_with_an_encrypted_password(api: Api) -> None:
    await api.account("alice")
    await forgot(api, "alice@example.com")

    response = await reset(
        api, api.last_reset_token(), await api.encrypt(NEW_PASSWORD), headers={"X-Password-Encrypted": "true"}
    )

    assert response.status_code == 200, response.text
    assert (await api.login("alice", NEW_PASSWORD)).status_code == 200


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_mail_transport_that_refuses_is_500_with_the_message(make_api: MakeApi) -> None:
    api = await make_api(SONO_SMTP_HOST="127.0.0.1", SONO_SMTP_PORT=str(closed_port()), SONO_SMTP_TIMEOUT="2")
    await api.account("alice")

    response = await forgot(api, "alice@example.com")

    assert response.status_code == 500
    assert response.json() == {"detail": "Failed to send password reset email. Please try again later."}
