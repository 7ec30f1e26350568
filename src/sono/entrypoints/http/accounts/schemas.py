"""Shapes of accounts and sessions, and the presenters of users (also used by other features:
``public_user`` is how a user appears inside audio files, collections and announcements)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.accounts.views import UserView
from sono.application.values import UNSET as APP_UNSET
from sono.domain.users import (
    BIO_MAX,
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    User,
)
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, Input, documented, text, utc

PASSWORD_EDGE_MAX = 4096  # an encrypted password is base64 of a 512-byte block; plain ones are checked by the policy
TOKEN_MAX = 4096

Password = Annotated[
    str,
    text(
        PASSWORD_EDGE_MAX,
        description=(
            f"Plain text ({PASSWORD_MIN} to {PASSWORD_MAX} characters with an upper case letter, a lower case"
            " letter, a number and a special character), or RSA-OAEP-256 encrypted and base64 encoded with"
            " `X-Password-Encrypted: true`"
        ),
    ),
]


# --------------------------------------------------------------------------- requests


class RegisterIn(Input):
    verbatim = frozenset({"password"})

    username: Annotated[
        str,
        text(
            EDGE_TEXT_MAX,
            description=f"{USERNAME_MIN} to {USERNAME_MAX} letters, digits, `_` or `-`; unique case-insensitively",
            examples=["newuser"],
            extra_json_schema=documented(min_length=USERNAME_MIN, max_length=USERNAME_MAX, pattern="^[A-Za-z0-9_-]+$"),
        ),
    ]
    email: Annotated[
        str,
        text(
            EDGE_TEXT_MAX,
            description="Unique, compared case-insensitively",
            examples=["user@example.com"],
            extra_json_schema=documented(max_length=EMAIL_MAX),
        ),
    ]
    password: Password
    display_name: (
        Annotated[
            str,
            text(
                EDGE_TEXT_MAX,
                description=f"At most {DISPLAY_NAME_MAX} characters",
                extra_json_schema=documented(max_length=DISPLAY_NAME_MAX),
            ),
        ]
        | None
    ) = None


class LoginForm(Input):
    """OAuth2 password grant form; ``username`` is a username or an email."""

    verbatim = frozenset({"password", "client_secret"})

    username: Annotated[str, text(EDGE_TEXT_MAX)]
    password: Password
    grant_type: Annotated[str, text(100)] | None = None
    scope: Annotated[str, text(1000)] = ""
    client_id: Annotated[str, text(1000)] | None = None
    client_secret: Annotated[str, text(1000)] | None = None


class RefreshIn(Input):
    verbatim = frozenset({"refresh_token"})

    refresh_token: Annotated[str, text(TOKEN_MAX)]


class LogoutIn(Input):
    verbatim = frozenset({"refresh_token"})

    refresh_token: Annotated[str, text(TOKEN_MAX)] | None = None


class ForgotPasswordIn(Input):
    email: Annotated[str, text(EDGE_TEXT_MAX)]


class ResetTokenIn(Input):
    verbatim = frozenset({"token"})

    token: Annotated[str, text(TOKEN_MAX)]


class ResetPasswordIn(Input):
    verbatim = frozenset({"token", "new_password"})

    token: Annotated[str, text(TOKEN_MAX)]
    new_password: Password


class ProfileUpdateIn(Input):
    """A field left out stays as it is; ``null`` clears it. ``display_name`` is at most 50
    characters, ``bio`` at most 500."""

    display_name: (
        Annotated[str, text(EDGE_TEXT_MAX, extra_json_schema=documented(max_length=DISPLAY_NAME_MAX))]
        | UnsetType
        | None
    ) = UNSET
    bio: Annotated[str, text(EDGE_TEXT_MAX, extra_json_schema=documented(max_length=BIO_MAX))] | UnsetType | None = (
        UNSET
    )

    def changes(self) -> dict[str, Any]:
        """The fields of ``UpdateProfile`` that were sent."""
        return {
            "display_name": APP_UNSET if self.display_name is UNSET else self.display_name,
            "bio": APP_UNSET if self.bio is UNSET else self.bio,
        }


# --------------------------------------------------------------------------- responses


class SuccessOut(msgspec.Struct):
    message: str
    success: bool


class PublicKeyOut(msgspec.Struct):
    public_key: Annotated[str, Meta(description="PEM SubjectPublicKeyInfo")]
    algorithm: str
    key_id: str


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: Annotated[str, Meta(examples=["bearer"])]
    refresh_token: str
    expires_in: Annotated[int, Meta(description="Seconds until the access token expires")]


class UserOut(msgspec.Struct):
    """A user as its owner and admins see it."""

    id: int
    username: str
    email: str
    display_name: str | None
    bio: str | None
    profile_picture_url: str | None
    is_active: bool
    is_superuser: bool
    max_audio_uploads: int
    created_at: datetime | None
    deletion_requested_at: Annotated[datetime | None, Meta(description="Set while a deletion is pending")]


class PublicUserOut(msgspec.Struct):
    """A user as everyone sees it (never an email)."""

    id: int
    username: str
    display_name: str | None
    bio: str | None
    profile_picture_url: str | None


class PublicUserPage(msgspec.Struct):
    items: list[PublicUserOut]
    total: int
    has_more: bool


# --------------------------------------------------------------------------- presenters


def user_fields(user: User, picture_url: str | None) -> dict[str, Any]:
    """The owner's user shape as keyword arguments (admin shapes add to it)."""
    assert user.id is not None
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "bio": user.bio,
        "profile_picture_url": picture_url,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "max_audio_uploads": user.max_audio_uploads,
        "created_at": utc(user.created_at),
        "deletion_requested_at": utc(user.deletion_requested_at),
    }


def me_out(view: UserView) -> UserOut:
    """A user as its owner (and admins) see it."""
    return UserOut(**user_fields(view.user, view.picture_url))


def public_user_out(view: UserView) -> PublicUserOut:
    """A user as everyone sees it."""
    return public_user_shape(view.user, view.picture_url)


def public_user_shape(user: User, profile_picture_url: str | None) -> PublicUserOut:
    """A user as everyone sees it, with their picture's URL (resolved by the use case)."""
    assert user.id is not None
    return PublicUserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        profile_picture_url=profile_picture_url,
    )
