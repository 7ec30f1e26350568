"""Accounts as players see them. The rules (who may read which account) are here, in the core; the
Subsonic entrypoint only maps the answers (``PermissionDenied`` is its error 50, ``NotFound`` 70)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sono.application.messages import Audience, Query
from sono.domain.users import User

ACCOUNT_NOT_FOUND = "User not found"
OTHER_ACCOUNT = "Only administrators may read another user's account"


@dataclass(frozen=True, slots=True)
class GetOwnAccount(Query[User]):
    """The caller's own account (``SessionEnded`` when it is gone or disabled meanwhile)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class GetAccount(Query[User]):
    """A user's account by username: the caller's own, or, for an admin, anyone's (an unknown
    name: not found). Another user's for a non-admin is ``PermissionDenied`` whether or not the
    name exists, so the answer does not tell which names do."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    username: str


@dataclass(frozen=True, slots=True)
class GetProfilePicture(Query[str | None]):
    """The stored key of an active user's profile picture (None without one). Profile pictures
    are public in the JSON API (user search shows them), so any signed-in caller may have one;
    an unknown or inactive user is not found."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    username: str
