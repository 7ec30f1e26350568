"""Accounts, sessions, password reset and the caller's profile: ``/api/v1/users``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromQuery, JSONBody, QueryParameter, URLEncodedBody

from sono.application.auth import TokenPair
from sono.application.common import PasswordInput
from sono.bootstrap import Container
from sono.domain.gdpr import DeletionType
from sono.domain.media import IMAGE_MAX_BYTES, IMAGE_TOO_LARGE
from sono.domain.users import User
from sono.entrypoints.http.auth import AppContainer, Caller, ClientIp, PasswordsEncrypted
from sono.entrypoints.http.openapi import BEARER, EXEMPT, errors, file_upload_operation
from sono.entrypoints.http.ratelimit import rate_limit
from sono.entrypoints.http.schemas import (
    ForgotPasswordIn,
    LoginForm,
    LogoutIn,
    MessageOut,
    ProfileUpdateIn,
    PublicKeyOut,
    RefreshIn,
    RegisterIn,
    ResetPasswordIn,
    ResetTokenIn,
    SuccessOut,
    TokenOut,
    UserOut,
    user_out,
)
from sono.entrypoints.http.uploads import receive_upload

PASSWORD_ALGORITHM = "RSA-OAEP-256"
LOGGED_OUT = "Successfully logged out"
ACCOUNT_DELETED = "Account deleted"


async def present_user(container: Container, user: User) -> UserOut:
    return user_out(user, await container.accounts.picture_url(user))


def succeeded(message: str) -> SuccessOut:
    return SuccessOut(message=message, success=True)


def token_out(pair: TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        token_type=pair.token_type,
    )


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["Users"]

    @get("/public-key", summary="The RSA public key for encrypting passwords", responses=errors())
    async def public_key(self, container: AppContainer) -> PublicKeyOut:
        decryptor = container.decryptor
        return PublicKeyOut(public_key=decryptor.public_key_pem, algorithm=PASSWORD_ALGORITHM, key_id=decryptor.key_id)

    @post(
        "/",
        summary="Register",
        status_code=201,
        before_request=rate_limit("users.register", "5/minute"),
        responses=errors(409, 422, 429),
    )
    async def register(
        self, data: JSONBody[RegisterIn], container: AppContainer, ip: ClientIp, encrypted: PasswordsEncrypted
    ) -> UserOut:
        user = await container.accounts.register(
            data.username, data.email, PasswordInput(data.password, encrypted), data.display_name, ip=ip
        )
        return await present_user(container, user)

    @post(
        "/token",
        summary="Log in (OAuth2 password grant)",
        status_code=200,
        opt=EXEMPT,  # the use case itself lets only admins in during maintenance
        before_request=rate_limit("users.token", "10/minute"),
        responses=errors(401, 403, 422, 429),
    )
    async def login(
        self,
        data: URLEncodedBody[LoginForm],
        container: AppContainer,
        ip: ClientIp,
        encrypted: PasswordsEncrypted,
    ) -> TokenOut:
        return token_out(await container.auth.login(data.username, PasswordInput(data.password, encrypted), ip=ip))

    @post(
        "/token/refresh",
        summary="Rotate the refresh token",
        status_code=200,
        before_request=rate_limit("users.token.refresh", "30/minute"),
        responses=errors(401, 422, 429),
    )
    async def refresh(self, data: JSONBody[RefreshIn], container: AppContainer, ip: ClientIp) -> TokenOut:
        return token_out(await container.auth.refresh(data.refresh_token, ip=ip))

    @post("/logout", summary="End this session", status_code=200, security=BEARER, responses=errors(401, 422))
    async def logout(
        self, principal: Caller, container: AppContainer, ip: ClientIp, data: JSONBody[LogoutIn | None] = None
    ) -> MessageOut:
        await container.auth.logout(principal, data.refresh_token if data else None, ip=ip)
        return MessageOut(LOGGED_OUT)

    @post(
        "/forgot-password",
        summary="Email a password reset link",
        status_code=200,
        before_request=rate_limit("users.forgot_password", "3/hour"),
        responses=errors(422, 429, 500),
    )
    async def forgot_password(
        self, data: JSONBody[ForgotPasswordIn], container: AppContainer, ip: ClientIp
    ) -> SuccessOut:
        return succeeded(await container.password_reset.forgot_password(data.email, ip=ip))

    @post("/verify-reset-token", summary="Check a reset token", status_code=200, responses=errors(422))
    async def verify_reset_token(self, data: JSONBody[ResetTokenIn], container: AppContainer) -> SuccessOut:
        return succeeded(await container.password_reset.verify_token(data.token))

    @post(
        "/reset-password",
        summary="Set a new password with a reset token",
        status_code=200,
        before_request=rate_limit("users.reset_password", "5/hour"),
        responses=errors(422, 429),
    )
    async def reset_password(
        self, data: JSONBody[ResetPasswordIn], container: AppContainer, ip: ClientIp, encrypted: PasswordsEncrypted
    ) -> SuccessOut:
        new_password = PasswordInput(data.new_password, encrypted)
        return succeeded(await container.password_reset.reset_password(data.token, new_password, ip=ip))

    @get("/me", summary="The caller's account", security=BEARER, responses=errors(401))
    async def me(self, principal: Caller, container: AppContainer) -> UserOut:
        return await present_user(container, principal.user)

    @put("/me", summary="Update the caller's profile", security=BEARER, responses=errors(401, 422))
    async def update_me(self, data: JSONBody[ProfileUpdateIn], principal: Caller, container: AppContainer) -> UserOut:
        return await present_user(container, await container.accounts.update_profile(principal, **data.changes()))

    @delete(
        "/me",
        summary="Delete the caller's account now",
        status_code=200,
        security=BEARER,
        before_request=rate_limit("users.delete", "3/hour"),
        responses=errors(401, 422, 429),
    )
    async def delete_me(
        self,
        principal: Caller,
        container: AppContainer,
        ip: ClientIp,
        encrypted: PasswordsEncrypted,
        password: Annotated[str, QueryParameter(description="The account's password (encrypted if so declared)")],
        deletion_type: FromQuery[DeletionType] = DeletionType.SOFT,
    ) -> MessageOut:
        await container.gdpr.delete_now(principal, PasswordInput(password, encrypted), deletion_type, ip=ip)
        return MessageOut(ACCOUNT_DELETED)

    @post(
        "/me/upload-profile-picture",
        summary="Set the caller's profile picture",
        status_code=200,
        security=BEARER,
        request_max_body_size=None,  # the upload enforces its own limit while streaming
        operation_class=file_upload_operation("PNG, JPG or WebP, at most 5 MB"),
        responses=errors(401, 413, 415, 422),
    )
    async def upload_profile_picture(
        self, request: Request[Any, Any, Any], principal: Caller, container: AppContainer
    ) -> UserOut:
        async with receive_upload(request, max_bytes=IMAGE_MAX_BYTES, too_large=IMAGE_TOO_LARGE) as upload:
            user = await container.accounts.set_profile_picture(principal, upload.file)
        return await present_user(container, user)
