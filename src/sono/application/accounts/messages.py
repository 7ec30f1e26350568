"""What entrypoints may ask of accounts and sessions, and what they get back. A message that needs
the caller's token carries it (or what of it the use case needs) as a field; the request's address
comes from ``sono.application.context``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from sono.application.accounts.views import UserView
from sono.application.common import PasswordInput, Principal
from sono.application.messages import Audience, Command, Process, Query
from sono.application.values import UNSET, Page
from sono.domain.users import User

# ---------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class Register(Command[UserView]):
    """Create an account (422 for every rule broken, 409 when the username or email is taken)."""

    username: str
    email: str
    password: PasswordInput
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class CreateAdmin(Command[User]):
    """Create an admin's account, as ``Register`` does (the command line's operator)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    username: str
    email: str
    password: PasswordInput
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class CheckNewAccount(Query[None]):
    """Raises what registering these would answer now: 409 when the email, else the username, is
    taken (whatever their case)."""

    username: str
    email: str


@dataclass(frozen=True, slots=True)
class GetOwnAccount(Query[User]):
    """The caller's account as stored."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


# ---------------------------------------------------------------------- the caller's account


@dataclass(frozen=True, slots=True)
class GetMe(Query[UserView]):
    """The caller's account as ``Authenticate`` answered it (``user``: the caller's own, else
    ``PermissionDenied``), with its picture's URL. Answered from what it is given, without a unit
    of work: ``/users/me`` costs no statement beyond the authentication's."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    unit_of_work: ClassVar[bool] = False
    user: User

    def __repr__(self) -> str:
        return f"GetMe(user_id={self.user.id!r})"


@dataclass(frozen=True, slots=True)
class UpdateProfile(Command[UserView]):
    """Change the fields that were sent; ``None`` clears a field, a left-out one (``UNSET``) stays."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    display_name: Any = UNSET
    bio: Any = UNSET


@dataclass(frozen=True, slots=True)
class SetProfilePicture(Process[UserView]):
    """Decode and re-encode the image, store it under a new key (so its URL changes), point the
    caller's profile at it and remove the old picture. A process: the new object is recorded as
    pending (``StageProfilePicture``), stored outside any transaction, and filed
    (``FileProfilePicture``); a failure leaves neither a new object nor a changed profile behind."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    image: BinaryIO


@dataclass(frozen=True, slots=True)
class StageProfilePicture(Command[str]):
    """A new picture's first step: the object named (its image's ``extension``) and recorded as
    pending before it is written. Answers its key."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    extension: str


@dataclass(frozen=True, slots=True)
class FileProfilePicture(Command[User]):
    """A new picture's last step, its object stored under ``key`` (one of the caller's picture
    keys, else ``PermissionDenied``): point the profile at it, forget its pending record, release
    the old picture."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    key: str


@dataclass(frozen=True, slots=True)
class SearchUsers(Query[Page[UserView]]):
    """Active users whose username or display name contains ``query`` (2 to 100 characters once
    stripped), case-insensitively."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    query: str
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class PromoteUser(Command[User]):
    """Make an existing user an admin (the command line's operator)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    username: str


# ---------------------------------------------------------------------- sessions


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True, slots=True)
class Login(Command[TokenPair]):
    """Start a session by username or email and password. Refused: 401 (wrong credentials, the
    same whether or not the account exists), 403 (a disabled account, told only after its
    password was verified), 503 during maintenance for all but admins. Audited either way."""

    login: str
    password: PasswordInput


@dataclass(frozen=True, slots=True)
class Refresh(Command[TokenPair]):
    """Rotate the session of ``refresh_token`` (grace window, reuse detection)."""

    refresh_token: str


@dataclass(frozen=True, slots=True)
class StartSession(Command[TokenPair]):
    """Start a session for an existing, active user without a password (the operator's tooling)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class PurgeExpiredSessions(Command[tuple[int, int]]):
    """Delete the expired reset tokens and sessions (periodic work): how many of each."""

    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class Authenticate(Query[Principal]):
    """The caller behind a bearer access token (every request's): answered by the session lookup
    alone, without a unit of work."""

    unit_of_work: ClassVar[bool] = False
    access_token: str


@dataclass(frozen=True, slots=True)
class Logout(Command[None]):
    """End the caller's session ``session_id`` (the session of the access token the request came
    with), and the session of ``refresh_token`` too if it is a valid one of the same user.
    Idempotent."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    session_id: str
    refresh_token: str | None = None


# ---------------------------------------------------------------------- password reset


@dataclass(frozen=True, slots=True)
class ForgotPassword(Command[None]):
    """Mail a reset link if an active account has this email. The answer, and the time it takes,
    are the same whether or not one has (500 when the mail cannot be sent)."""

    email: str


@dataclass(frozen=True, slots=True)
class VerifyResetToken(Query[None]):
    """Raises ``BadRequest`` (unknown, used or expired) unless the token can reset a password."""

    token: str


@dataclass(frozen=True, slots=True)
class ResetPassword(Command[None]):
    """Set a new password with a reset token: the token (and every other one of the user) is used
    up and every session of the user ends. 400 for a bad token first, then 422 for the password."""

    token: str
    new_password: PasswordInput
