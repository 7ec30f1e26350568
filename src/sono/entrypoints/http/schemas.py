"""The shapes of the API's request and response bodies (msgspec Structs, so the OpenAPI schema is
generated from them) and the presenters that turn domain objects into them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.common import UNSET as APP_UNSET
from sono.domain.gdpr import (
    CONSENT_TYPE_MAX,
    CONSENT_VERSION_MAX,
    DELETION_REASON_MAX,
    Consent,
    DeletionRequest,
    DeletionType,
)
from sono.domain.maintenance import MESSAGE_MAX, MaintenanceState
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


def documented(**constraints: Any) -> dict[str, Any]:
    """``Meta(extra_json_schema=documented(max_length=50))``: constraints shown in the OpenAPI schema
    (Litestar copies ``extra`` into it) that msgspec does not enforce: the use cases check them and
    answer 422 with messages of their own."""
    return {"extra": constraints}


# --------------------------------------------------------------------------- errors


class ErrorBody(msgspec.Struct):
    detail: str


class FieldErrorBody(msgspec.Struct):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(msgspec.Struct):
    detail: list[FieldErrorBody]


class MaintenanceBody(msgspec.Struct):
    detail: str
    status: str
    retry_after: int


class ReadinessFailureBody(msgspec.Struct):
    detail: str
    checks: dict[str, str]


# --------------------------------------------------------------------------- requests

Password = Annotated[
    str,
    Meta(
        description=(
            f"Plain text ({PASSWORD_MIN} to {PASSWORD_MAX} characters with an upper case letter, a lower case"
            " letter, a number and a special character), or RSA-OAEP-256 encrypted and base64 encoded with"
            " `X-Password-Encrypted: true`"
        )
    ),
]
DisplayName = Annotated[
    str | None,
    Meta(
        description=f"At most {DISPLAY_NAME_MAX} characters",
        extra_json_schema=documented(max_length=DISPLAY_NAME_MAX),
    ),
]


class RegisterIn(msgspec.Struct):
    username: Annotated[
        str,
        Meta(
            description=f"{USERNAME_MIN} to {USERNAME_MAX} letters, digits, `_` or `-`",
            examples=["newuser"],
            extra_json_schema=documented(min_length=USERNAME_MIN, max_length=USERNAME_MAX, pattern="^[A-Za-z0-9_-]+$"),
        ),
    ]
    email: Annotated[
        str,
        Meta(
            description="Unique, compared case-insensitively",
            examples=["user@example.com"],
            extra_json_schema=documented(
                max_length=EMAIL_MAX,
                pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)+$",
            ),
        ),
    ]
    password: Password
    display_name: DisplayName = None


class LoginForm(msgspec.Struct):
    """OAuth2 password grant form; ``username`` is a username or an email."""

    username: str
    password: Password
    grant_type: str | None = None
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class RefreshIn(msgspec.Struct):
    refresh_token: str


class LogoutIn(msgspec.Struct):
    refresh_token: str | None = None


class ForgotPasswordIn(msgspec.Struct):
    email: str


class ResetTokenIn(msgspec.Struct):
    token: str


class ResetPasswordIn(msgspec.Struct):
    token: str
    new_password: Password


class ProfileUpdateIn(msgspec.Struct):
    """A field left out stays as it is; ``null`` clears it. ``display_name`` is at most 50
    characters, ``bio`` at most 500."""

    display_name: Annotated[str | UnsetType | None, Meta(extra_json_schema=documented(max_length=DISPLAY_NAME_MAX))] = (
        UNSET
    )
    bio: Annotated[str | UnsetType | None, Meta(extra_json_schema=documented(max_length=BIO_MAX))] = UNSET

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for ``AccountService.update_profile``."""
        return {
            "display_name": APP_UNSET if self.display_name is UNSET else self.display_name,
            "bio": APP_UNSET if self.bio is UNSET else self.bio,
        }


class DeletionRequestIn(msgspec.Struct):
    deletion_type: DeletionType = DeletionType.SOFT
    reason: Annotated[
        str | None,
        Meta(
            description=f"At most {DELETION_REASON_MAX} characters",
            extra_json_schema=documented(max_length=DELETION_REASON_MAX),
        ),
    ] = None


class ConsentIn(msgspec.Struct):
    consent_type: Annotated[
        str,
        Meta(
            description=f"1 to {CONSENT_TYPE_MAX} characters (leading and trailing spaces are dropped)",
            examples=["privacy_policy"],
            extra_json_schema=documented(min_length=1, max_length=CONSENT_TYPE_MAX, pattern=r"\S"),
        ),
    ]
    consent_version: Annotated[
        str,
        Meta(
            description=f"1 to {CONSENT_VERSION_MAX} characters (leading and trailing spaces are dropped)",
            examples=["2.0"],
            extra_json_schema=documented(min_length=1, max_length=CONSENT_VERSION_MAX, pattern=r"\S"),
        ),
    ]
    ip_address: str | None = None


class MaintenanceToggleIn(msgspec.Struct):
    enabled: bool
    message: Annotated[
        str | None,
        Meta(description=f"At most {MESSAGE_MAX} characters", extra_json_schema=documented(max_length=MESSAGE_MAX)),
    ] = None


# --------------------------------------------------------------------------- responses


class HealthOut(msgspec.Struct):
    status: str
    version: str


class ReadinessOut(msgspec.Struct):
    status: str
    checks: dict[str, str]


class MessageOut(msgspec.Struct):
    message: str


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


class DeletionStatusOut(msgspec.Struct, kw_only=True):
    pending: bool
    deletion_type: DeletionType | None
    reason: str | None
    requested_at: datetime | None
    scheduled_for: datetime | None
    days_remaining: int | None


class DeletionScheduledOut(DeletionStatusOut, kw_only=True):
    message: str


class ConsentOut(msgspec.Struct):
    id: int
    user_id: int
    consent_type: str
    consent_version: str
    ip_address: str | None
    given_at: datetime
    withdrawn_at: datetime | None
    is_active: bool


class MaintenanceOut(msgspec.Struct):
    enabled: bool
    message: str


class DataExportOut(msgspec.Struct):
    """Everything stored about the caller (documentation of the export's sections)."""

    exported_at: datetime
    profile: dict[str, Any]
    audio_files: list[dict[str, Any]]
    collections: list[dict[str, Any]]
    collaborations: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    deletion_requests: list[dict[str, Any]]
    audit_log: list[dict[str, Any]]


# --------------------------------------------------------------------------- presenters


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC (rendered with a ``Z``); a naive value from the database is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def user_out(user: User, picture_url: str | None) -> UserOut:
    assert user.id is not None
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        bio=user.bio,
        profile_picture_url=picture_url,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        max_audio_uploads=user.max_audio_uploads,
        created_at=utc(user.created_at),
    )


def deletion_status_out(request: DeletionRequest | None) -> DeletionStatusOut:
    """The deletion status: a pending request's details, or nothing pending."""
    if request is None:
        return DeletionStatusOut(
            pending=False, deletion_type=None, reason=None, requested_at=None, scheduled_for=None, days_remaining=None
        )
    scheduled_for = utc(request.scheduled_for)
    assert scheduled_for is not None
    remaining = (scheduled_for - datetime.now(UTC)).total_seconds()
    return DeletionStatusOut(
        pending=request.is_pending,
        deletion_type=request.deletion_type,
        reason=request.reason,
        requested_at=utc(request.requested_at),
        scheduled_for=scheduled_for,
        days_remaining=max(0, math.ceil(remaining / 86400)),
    )


def consent_out(consent: Consent) -> ConsentOut:
    assert consent.id is not None
    given_at = utc(consent.given_at)
    assert given_at is not None
    return ConsentOut(
        id=consent.id,
        user_id=consent.user_id,
        consent_type=consent.consent_type,
        consent_version=consent.consent_version,
        ip_address=consent.ip_address,
        given_at=given_at,
        withdrawn_at=utc(consent.withdrawn_at),
        is_active=consent.is_active,
    )


def maintenance_out(state: MaintenanceState) -> MaintenanceOut:
    return MaintenanceOut(enabled=state.enabled, message=state.message)
