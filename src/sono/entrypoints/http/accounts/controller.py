"""Accounts, sessions, password reset and the caller's profile: ``/api/v1/users``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request
from litestar.params import FromQuery, JSONBody, QueryParameter, URLEncodedBody

from sono.application.accounts.messages import (
    ForgotPassword,
    GetMe,
    Login,
    Logout,
    Refresh,
    Register,
    ResetPassword,
    SearchUsers,
    SetProfilePicture,
    UpdateProfile,
    VerifyResetToken,
)
from sono.application.accounts.sessions import TokenPair
from sono.application.common import PasswordInput
from sono.application.gdpr.messages import DeleteAccount
from sono.application.messages import ANONYMOUS
from sono.domain.errors import NotAuthenticated, PermissionDenied
from sono.domain.gdpr import DeletionType
from sono.domain.media import IMAGE_MAX_BYTES, IMAGE_TOO_LARGE
from sono.entrypoints.http.accounts.schemas import (
    PASSWORD_EDGE_MAX,
    ForgotPasswordIn,
    LoginForm,
    LogoutIn,
    ProfileUpdateIn,
    PublicKeyOut,
    PublicUserPage,
    RefreshIn,
    RegisterIn,
    ResetPasswordIn,
    ResetTokenIn,
    SuccessOut,
    TokenOut,
    UserOut,
    me_out,
    public_user_out,
)
from sono.entrypoints.http.errors import field_locations, form_body, text_detail
from sono.entrypoints.http.metrics import route_of
from sono.entrypoints.http.openapi import BEARER, EXEMPT, errors, file_upload_operation, text_validation_error
from sono.entrypoints.http.ratelimit import rate_limit
from sono.entrypoints.http.routes import delete, get, post, put
from sono.entrypoints.http.schemas import QUERY_TEXT_MAX, Limit, MessageOut, QueryText, Skip, page_fields
from sono.entrypoints.http.security import AppContainer, Caller, PasswordsEncrypted, signed_in
from sono.entrypoints.http.uploads import receive_upload

PASSWORD_ALGORITHM = "RSA-OAEP-256"
LOGGED_OUT = "Successfully logged out"
FORGOT_MESSAGE = "If an account with that email exists, we've sent password reset instructions."
VALID_MESSAGE = "Reset token is valid"
RESET_DONE_MESSAGE = "Password has been reset successfully. You can now log in with your new password."
DELETED_MESSAGES = {
    DeletionType.SOFT: "Account deactivated (soft delete)",
    DeletionType.HARD: "Account permanently deleted (hard delete - GDPR)",
}


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

    @get(
        "/public-key",
        summary="The RSA public key for encrypting passwords",
        opt=EXEMPT,  # an admin's client encrypts before it logs in, also during maintenance
        responses=errors(maintenance=False),
    )
    async def public_key(self, container: AppContainer) -> PublicKeyOut:
        decryptor = container.ports.decryptor
        return PublicKeyOut(public_key=decryptor.public_key_pem, algorithm=PASSWORD_ALGORITHM, key_id=decryptor.key_id)

    @post(
        "/",
        summary="Register",
        status_code=201,
        before_request=rate_limit("users.register", "5/minute"),
        opt=text_detail(),  # contract section 3: the web shows a string detail on its register form
        responses=errors(409, 429) | text_validation_error(),
    )
    async def register(
        self, data: JSONBody[RegisterIn], container: AppContainer, encrypted: PasswordsEncrypted
    ) -> UserOut:
        password = PasswordInput(data.password, encrypted)
        return me_out(await container.bus(Register(data.username, data.email, password, data.display_name), ANONYMOUS))

    @post(
        "/token",
        summary="Log in (OAuth2 password grant)",
        status_code=200,
        opt=EXEMPT | form_body(),  # the use case lets only admins in during maintenance, before checking the password
        before_request=rate_limit("users.token", "10/minute"),
        responses=errors(401, 403, 422, 429),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LoginForm],
        container: AppContainer,
        encrypted: PasswordsEncrypted,
    ) -> TokenOut:
        try:
            pair = await container.bus(Login(data.username, PasswordInput(data.password, encrypted)), ANONYMOUS)
        except (NotAuthenticated, PermissionDenied) as refused:  # wrong credentials, a disabled account
            container.ports.metrics.login_failed(route_of(request.scope), type(refused).__name__)
            raise
        return token_out(pair)

    @post(
        "/token/refresh",
        summary="Rotate the refresh token",
        status_code=200,
        opt=EXEMPT,  # the use case lets only admins refresh during maintenance
        before_request=rate_limit("users.token.refresh", "30/minute"),
        responses=errors(401, 422, 429),
    )
    async def refresh(self, data: JSONBody[RefreshIn], container: AppContainer) -> TokenOut:
        return token_out(await container.bus(Refresh(data.refresh_token), ANONYMOUS))

    @post(
        "/logout",
        summary="End this session",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def logout(
        self, principal: Caller, container: AppContainer, data: JSONBody[LogoutIn | None] = None
    ) -> MessageOut:
        # the session to end is the access token's; the body may name another of the caller's
        logout = Logout(principal.claims.family_id, data.refresh_token if data else None)
        await container.bus(logout, principal.actor)
        return MessageOut(LOGGED_OUT)

    @post(
        "/forgot-password",
        summary="Email a password reset link",
        status_code=200,
        before_request=rate_limit("users.forgot_password", "3/hour"),
        responses=errors(422, 429, 500),
    )
    async def forgot_password(self, data: JSONBody[ForgotPasswordIn], container: AppContainer) -> SuccessOut:
        await container.bus(ForgotPassword(data.email), ANONYMOUS)
        return succeeded(FORGOT_MESSAGE)

    @post("/verify-reset-token", summary="Check a reset token", status_code=200, responses=errors(422))
    async def verify_reset_token(self, data: JSONBody[ResetTokenIn], container: AppContainer) -> SuccessOut:
        await container.bus(VerifyResetToken(data.token), ANONYMOUS)
        return succeeded(VALID_MESSAGE)

    @post(
        "/reset-password",
        summary="Set a new password with a reset token",
        status_code=200,
        before_request=rate_limit("users.reset_password", "5/hour"),
        responses=errors(422, 429),
    )
    async def reset_password(
        self, data: JSONBody[ResetPasswordIn], container: AppContainer, encrypted: PasswordsEncrypted
    ) -> SuccessOut:
        await container.bus(ResetPassword(data.token, PasswordInput(data.new_password, encrypted)), ANONYMOUS)
        return succeeded(RESET_DONE_MESSAGE)

    @get("/me", summary="The caller's account", guards=[signed_in], security=BEARER, responses=errors(401))
    async def me(self, principal: Caller, container: AppContainer) -> UserOut:
        return me_out(await container.bus(GetMe(principal.user), principal.actor))

    @put(
        "/me",
        summary="Update the caller's profile",
        guards=[signed_in],
        security=BEARER,
        responses=errors(401, 422),
    )
    async def update_me(self, data: JSONBody[ProfileUpdateIn], principal: Caller, container: AppContainer) -> UserOut:
        return me_out(await container.bus(UpdateProfile(**data.changes()), principal.actor))

    @delete(
        "/me",
        summary="Delete the caller's account now",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=field_locations(password="query"),
        before_request=rate_limit("users.delete", "3/hour"),
        responses=errors(401, 422, 429),
    )
    async def delete_me(
        self,
        principal: Caller,
        container: AppContainer,
        encrypted: PasswordsEncrypted,
        password: Annotated[
            QueryText,
            QueryParameter(
                max_length=PASSWORD_EDGE_MAX, description="The account's password (encrypted if so declared)"
            ),
        ],
        deletion_type: FromQuery[DeletionType] = DeletionType.SOFT,
    ) -> MessageOut:
        await container.bus(DeleteAccount(PasswordInput(password, encrypted), deletion_type), principal.actor)
        return MessageOut(DELETED_MESSAGES[deletion_type])

    @post(
        "/me/upload-profile-picture",
        summary="Set the caller's profile picture",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        request_max_body_size=None,  # the upload enforces its own limit while streaming
        operation_class=file_upload_operation("PNG, JPG or WebP, at most 5 MB"),
        responses=errors(401, 413, 415, 422),
    )
    async def upload_profile_picture(
        self, request: Request[Any, Any, Any], principal: Caller, container: AppContainer
    ) -> UserOut:
        async with receive_upload(
            request, max_bytes=IMAGE_MAX_BYTES, too_large=IMAGE_TOO_LARGE, spool_dir=container.settings.upload_dir
        ) as upload:
            view = await container.bus(SetProfilePicture(upload.file), principal.actor)
        return me_out(view)

    @get(
        "/search",
        summary="Find users by username or display name",
        guards=[signed_in],
        security=BEARER,
        opt=field_locations(query="query"),
        responses=errors(401, 422),
    )
    async def search(
        self,
        container: AppContainer,
        principal: Caller,
        text: Annotated[
            QueryText, QueryParameter(name="query", max_length=QUERY_TEXT_MAX, description="At least 2 characters")
        ],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> PublicUserPage:
        page = await container.bus(SearchUsers(text, skip, limit), principal.actor)
        items = [public_user_out(view) for view in page.items]
        return PublicUserPage(**page_fields(items, page.total, page.skip))
