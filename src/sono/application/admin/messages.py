"""What entrypoints may ask of the administration of users, and what they get back. Admins only
(the command line and workers act as admins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.messages import Audience, Command, Query
from sono.application.values import Page
from sono.domain.users import MAX_AUDIO_UPLOADS_LIMIT, UploadQuota, User

USER_NOT_FOUND = "User not found"
UPLOAD_LIMIT_RANGE = f"Upload limit must be between 0 and {MAX_AUDIO_UPLOADS_LIMIT:,}"
USER_QUERY_MAX = 254


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user as the admin screens show it: the account, what it stores, and where its profile
    picture is fetched (resolved through the media port; None: no picture)."""

    user: User
    usage: Usage
    picture_url: str | None

    @property
    def pending_deletion(self) -> bool:
        return self.user.deletion_requested_at is not None

    @property
    def quota(self) -> UploadQuota:
        return self.user.upload_quota(self.usage.audio_files, self.usage.storage_bytes)


# ---------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class GetCatalogueStats(Query[CatalogueStats]):
    audience: ClassVar[Audience] = Audience.ADMIN


@dataclass(frozen=True, slots=True)
class ListUsers(Query[Page[UserSummary]]):
    """Newest first; ``query`` matches username, email or display name (blank: everyone)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    query: str | None = None
    skip: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True)
class GetUser(Query[UserSummary]):
    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class FindUser(Query[UserSummary]):
    """A user by username (case-insensitively, as usernames are unique): what the command line
    names users by. 404 when there is none."""

    audience: ClassVar[Audience] = Audience.ADMIN
    username: str


@dataclass(frozen=True, slots=True)
class GetUploadStats(Query[UploadQuota]):
    """A user's uploads against their limit."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


# ---------------------------------------------------------------------- changes (audited)


@dataclass(frozen=True, slots=True)
class SetUploadLimit(Command[UserSummary]):
    """Set how many audio files the user may keep (0..1,000,000). Files already above a lowered limit
    stay; the user uploads again once below it."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int
    max_audio_uploads: int


@dataclass(frozen=True, slots=True)
class DisableUser(Command[User]):
    """Disable the account: it can no longer log in, and its sessions end at once (access tokens
    through the token version, refresh tokens through their revoked families). Not one's own
    account, not another admin's."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class EnableUser(Command[User]):
    """Enable a disabled account (not one's own, not another admin's)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class DeleteUser(Command[Usage]):
    """Erase the account now, as a hard GDPR deletion: its rows go in one transaction (its tracks
    leave other people's collections, whose orders close up), its stored objects once that has
    committed. Answers what it stored. Not one's own account, not another admin's."""

    audience: ClassVar[Audience] = Audience.ADMIN
    user_id: int


@dataclass(frozen=True, slots=True)
class ProcessPendingDeletions(Query[int]):
    """Run every deletion whose grace period is over now, as the periodic job does; answers how
    many ran. Audited.

    Sent as a query on purpose: the deletions commit batch by batch in units of work of their own
    (each claimed under a row lock, as the periodic job runs them), and the audit entry in another
    once they are done. A command's writing unit of work, held by the bus around the handler, would
    keep the admin's row locked and (on SQLite, one writer at a time) the write lock with it."""

    audience: ClassVar[Audience] = Audience.ADMIN
