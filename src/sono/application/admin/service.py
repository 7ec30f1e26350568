"""Administration of users: statistics, the user list, upload quotas, disabling and enabling
accounts, erasing them, and running due deletions now. Every change is audited with the acting
admin, in the unit of work that makes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.common import Page, Principal, Problems, audit, hold_users
from sono.application.gdpr.service import GdprService
from sono.application.media.service import MediaService
from sono.application.messages import Audience
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import BadRequest, NotFound
from sono.domain.gdpr import AuditEvent, DeletionType
from sono.domain.users import MAX_AUDIO_UPLOADS_LIMIT, UploadQuota, User

USER_NOT_FOUND = "User not found"
UPLOAD_LIMIT_RANGE = f"Upload limit must be between 0 and {MAX_AUDIO_UPLOADS_LIMIT}"
USER_QUERY_MAX = 254


def require_admin(principal: Principal) -> None:
    """The routes declare their admin guard; the use cases refuse anyone else all the same."""
    Audience.ADMIN.check(principal.actor)


def not_on_admins(action: str, admin: Principal, user: User) -> None:
    """Admins act on other users' accounts only: never on their own, never on another admin's."""
    if user.id == admin.user_id:
        raise BadRequest(f"You cannot {action} your own account")
    if user.is_superuser:
        raise BadRequest(f"You cannot {action} another administrator")


@dataclass(frozen=True, slots=True)
class UserSummary:
    """A user as the admin screens show it."""

    user: User
    usage: Usage

    @property
    def pending_deletion(self) -> bool:
        return self.user.deletion_requested_at is not None

    @property
    def quota(self) -> UploadQuota:
        return self.user.upload_quota(self.usage.audio_files, self.usage.storage_bytes)


class AdminService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, media: MediaService, gdpr: GdprService) -> None:
        self._uow = uow
        self._clock = clock
        self._media = media
        self._gdpr = gdpr

    # ------------------------------------------------------------------ reads

    async def stats(self, admin: Principal) -> CatalogueStats:
        require_admin(admin)
        async with self._uow(read_only=True) as uow:
            return await uow.admin_queries.stats()

    async def users(self, admin: Principal, *, query: str | None, skip: int, limit: int) -> Page[UserSummary]:
        """Newest first; ``query`` matches username, email or display name (blank: everyone)."""
        require_admin(admin)
        text = (query or "").strip()
        problems = Problems()
        if len(text) > USER_QUERY_MAX:
            problems.check("q", [f"Query must be at most {USER_QUERY_MAX} characters"])
        problems.raise_if_any()
        async with self._uow(read_only=True) as uow:
            page = await uow.admin_queries.users(query=text or None, skip=skip, limit=limit)
            usage = await self._usage(uow, [user.id for user in page.items if user.id is not None])
        summaries = [UserSummary(user, usage.get(user.id or 0, Usage())) for user in page.items]
        return Page(summaries, page.total, page.skip)

    async def user(self, admin: Principal, user_id: int) -> UserSummary:
        require_admin(admin)
        async with self._uow(read_only=True) as uow:
            user = await _existing(uow, user_id)
            return UserSummary(user, await self._usage_of(uow, user_id))

    async def upload_stats(self, admin: Principal, user_id: int) -> UploadQuota:
        return (await self.user(admin, user_id)).quota

    # ------------------------------------------------------------------ changes

    async def set_upload_limit(
        self, admin: Principal, user_id: int, max_audio_uploads: int, *, ip: str | None = None
    ) -> UserSummary:
        """Set how many audio files the user may keep (0..1000). Files already above a lowered
        limit stay; the user uploads again once below it."""
        require_admin(admin)
        problems = Problems()
        if not 0 <= max_audio_uploads <= MAX_AUDIO_UPLOADS_LIMIT:
            problems.check("max_audio_uploads", [UPLOAD_LIMIT_RANGE])
        problems.raise_if_any()
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the acting admin, whom the audit names
            user = await _existing(uow, user_id, for_update=True)
            previous = user.max_audio_uploads
            user.max_audio_uploads = max_audio_uploads
            user.updated_at = self._clock.now()
            await self._audit(
                uow, admin, "set_upload_limit", user, ip, previous=previous, max_audio_uploads=max_audio_uploads
            )
            summary = UserSummary(user, await self._usage_of(uow, user_id))
            await uow.commit()
        return summary

    async def disable(self, admin: Principal, user_id: int, *, ip: str | None = None) -> User:
        """Disable the account: it can no longer log in, and its sessions end at once (access
        tokens through the token version, refresh tokens through their revoked families)."""
        require_admin(admin)
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the acting admin, whom the audit names
            user = await _existing(uow, user_id, for_update=True)
            not_on_admins("disable", admin, user)
            now = self._clock.now()
            user.disable(now)
            await uow.families.revoke_all_for_user(user_id, now, "disabled by an administrator")
            await self._audit(uow, admin, "disable", user, ip, was_active=True)
            await uow.commit()
        return user

    async def enable(self, admin: Principal, user_id: int, *, ip: str | None = None) -> User:
        require_admin(admin)
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the acting admin, whom the audit names
            user = await _existing(uow, user_id, for_update=True)
            not_on_admins("enable", admin, user)
            user.enable(self._clock.now())
            await self._audit(uow, admin, "enable", user, ip, was_active=False)
            await uow.commit()
        return user

    async def delete_user(self, admin: Principal, user_id: int, *, ip: str | None = None) -> Usage:
        """Erase the account now, as a hard GDPR deletion: its rows go in one transaction (its
        tracks leave other people's collections, whose orders close up), its stored objects once
        that has committed. Returns what it stored."""
        require_admin(admin)
        async with self._uow() as uow:
            await hold_users(uow, admin)  # the acting admin, whom the audit names
            user = await _existing(uow, user_id, for_update=True)
            not_on_admins("delete", admin, user)
            usage = await self._usage_of(uow, user_id)
            keys = await self._gdpr.eraser.erase(uow, user, DeletionType.HARD, actor_id=admin.user_id)
            # After the erasure, which anonymises the user's audit entries: this one names no one.
            await audit(
                uow,
                self._clock,
                AuditEvent.ADMIN_ACTION,
                actor_id=admin.user_id,
                ip=ip,
                action="delete_user",
                target_user_id=user_id,
                deleted_audio_files=usage.audio_files,
            )
            await self._media.release(uow, keys)
            await uow.commit()
        return usage

    async def process_pending_deletions(self, admin: Principal, *, ip: str | None = None) -> int:
        """Run every deletion whose grace period is over now (as the periodic job does)."""
        require_admin(admin)
        processed = await self._gdpr.execute_due()
        async with self._uow() as uow:
            await audit(
                uow,
                self._clock,
                AuditEvent.ADMIN_ACTION,
                actor_id=admin.user_id,
                ip=ip,
                action="process_pending_deletions",
                processed_count=processed,
            )
            await uow.commit()
        return processed

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _usage(uow: UnitOfWork, user_ids: Sequence[int]) -> dict[int, Usage]:
        return await uow.admin_queries.usage(user_ids) if user_ids else {}

    @staticmethod
    async def _usage_of(uow: UnitOfWork, user_id: int) -> Usage:
        return (await uow.admin_queries.usage([user_id])).get(user_id, Usage())

    async def _audit(
        self, uow: UnitOfWork, admin: Principal, action: str, user: User, ip: str | None, **details: Any
    ) -> None:
        await audit(
            uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            user_id=user.id,
            actor_id=admin.user_id,
            ip=ip,
            action=action,
            **details,
        )


async def _existing(uow: UnitOfWork, user_id: int, *, for_update: bool = False) -> User:
    user = await uow.users.get(user_id, for_update=for_update)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user
