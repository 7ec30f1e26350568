"""Shapes of Subsonic app passwords. The secret appears in one answer only: the creation's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import PathParameter
from msgspec import Meta

from sono.application.app_passwords.messages import AppPasswordView, CreatedAppPassword
from sono.domain.app_passwords import NAME_MAX_LENGTH, SECRET_LENGTH
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, ID_MAX, Input, documented, text, utc

CredentialId = Annotated[int, PathParameter(ge=1, le=ID_MAX, description="An app password's id")]
UserId = Annotated[int, PathParameter(ge=1, le=ID_MAX, description="A user's id")]


class AppPasswordIn(Input):
    name: Annotated[
        str,
        text(
            EDGE_TEXT_MAX,
            description=f"1 to {NAME_MAX_LENGTH} characters (trimmed), unique among the caller's app passwords",
            examples=["Phone"],
            extra_json_schema=documented(min_length=1, max_length=NAME_MAX_LENGTH),
        ),
    ]


class AppPasswordOut(msgspec.Struct):
    id: int
    name: str
    created_at: datetime | None
    last_used_at: Annotated[datetime | None, Meta(description="Recorded at most once a minute")]
    last_client: Annotated[str | None, Meta(description="The player's `c` parameter at its last use")]
    hint: Annotated[str, Meta(description="The secret's last 4 characters")]


class CreatedAppPasswordOut(msgspec.Struct):
    id: int
    name: str
    created_at: datetime | None
    last_used_at: datetime | None
    last_client: str | None
    hint: str
    secret: Annotated[
        str,
        Meta(
            description=(
                f"{SECRET_LENGTH} characters of [A-Za-z0-9], shown this once: the password (or API key) "
                "to enter in a Subsonic player"
            )
        ),
    ]


def app_password_out(view: AppPasswordView) -> AppPasswordOut:
    return AppPasswordOut(
        id=view.id,
        name=view.name,
        created_at=utc(view.created_at),
        last_used_at=utc(view.last_used_at),
        last_client=view.last_client,
        hint=view.hint,
    )


def created_out(created: CreatedAppPassword) -> CreatedAppPasswordOut:
    """The listed fields, and the secret this once."""
    listed = msgspec.structs.asdict(app_password_out(created.credential))
    return CreatedAppPasswordOut(**listed, secret=created.secret)
