"""Administration of users: statistics, the user list, upload quotas, disabling and enabling
accounts, erasing them, and running due deletions now. Every change is audited with the acting
admin, in the unit of work that makes it (the bus holds the admin's row first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sono.application.admin.messages import (
    UPLOAD_LIMIT_RANGE,
    USER_NOT_FOUND,
    USER_QUERY_MAX,
    DeleteUser,
    DisableUser,
    EnableUser,
    FindUser,
    GetCatalogueStats,
    GetUploadStats,
    GetUser,
    ListUsers,
    ProcessPendingDeletions,
    SetUploadLimit,
    UserSummary,
)
from sono.application.admin.ports import CatalogueStats, Usage
from sono.application.bus import Context, handles
from sono.application.common import Send, audit
from sono.application.gdpr.erasure import AccountEraser
from sono.application.gdpr.messages import RunDueDeletions
from sono.application.media.service import MediaService
from sono.application.messages import Actor
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.application.values import Page, Problems
from sono.domain.errors import BadRequest, NotFound
from sono.domain.events import ObjectsReleased
from sono.domain.gdpr import AuditEvent, DeletionType
from sono.domain.users import MAX_AUDIO_UPLOADS_LIMIT, UploadQuota, User


def not_on_admins(action: str, actor: Actor, user: User) -> None:
    """Admins act on other users' accounts only: never on their own, never on another admin's."""
    if user.id is not None and user.id == actor.user_id:
        raise BadRequest(f"You cannot {action} your own account")
    if user.is_superuser:
        raise BadRequest(f"You cannot {action} another administrator")


class AdminHandlers:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, send: Send, media: MediaService) -> None:
        self._media = media  # the URLs of profile pictures in the summaries
        self._uow = uow  # only for ProcessPendingDeletions, whose work commits batch by batch
        self._clock = clock
        self._send = send  # the bus: ProcessPendingDeletions runs the due deletions as the periodic job does
        self._eraser = AccountEraser(clock)

    async def _summary(self, uow: UnitOfWork, user: User) -> UserSummary:
        return UserSummary(user, await _usage_of(uow, user.id or 0), await self._media.url(user.profile_picture_key))

    # ------------------------------------------------------------------ reads

    @handles(GetCatalogueStats)
    async def stats(self, query: GetCatalogueStats, ctx: Context) -> CatalogueStats:
        return await ctx.uow.admin_queries.stats()

    @handles(ListUsers)
    async def users(self, query: ListUsers, ctx: Context) -> Page[UserSummary]:
        text = (query.query or "").strip()
        problems = Problems()
        if len(text) > USER_QUERY_MAX:
            problems.check("q", [f"Query must be at most {USER_QUERY_MAX} characters"])
        problems.raise_if_any()
        page = await ctx.uow.admin_queries.users(query=text or None, skip=query.skip, limit=query.limit)
        usage = await _usage(ctx.uow, [user.id for user in page.items if user.id is not None])
        summaries = [
            UserSummary(user, usage.get(user.id or 0, Usage()), await self._media.url(user.profile_picture_key))
            for user in page.items
        ]
        return page.with_items(summaries)

    @handles(GetUser)
    async def user(self, query: GetUser, ctx: Context) -> UserSummary:
        return await self._summary(ctx.uow, await _existing(ctx.uow, query.user_id))

    @handles(FindUser)
    async def find_user(self, query: FindUser, ctx: Context) -> UserSummary:
        user = await ctx.uow.users.get_by_username(query.username.strip())
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        return await self._summary(ctx.uow, user)

    @handles(GetUploadStats)
    async def upload_stats(self, query: GetUploadStats, ctx: Context) -> UploadQuota:
        user = await _existing(ctx.uow, query.user_id)
        usage = await _usage_of(ctx.uow, query.user_id)
        return user.upload_quota(usage.audio_files, usage.storage_bytes)

    # ------------------------------------------------------------------ changes

    @handles(SetUploadLimit)
    async def set_upload_limit(self, command: SetUploadLimit, ctx: Context) -> UserSummary:
        problems = Problems()
        if not 0 <= command.max_audio_uploads <= MAX_AUDIO_UPLOADS_LIMIT:
            problems.check("max_audio_uploads", [UPLOAD_LIMIT_RANGE])
        problems.raise_if_any()
        user = await _existing(ctx.uow, command.user_id, for_update=True)
        previous = user.max_audio_uploads
        user.max_audio_uploads = command.max_audio_uploads
        user.updated_at = self._clock.now()
        await self._audit(ctx, "set_upload_limit", user, previous=previous, max_audio_uploads=command.max_audio_uploads)
        return await self._summary(ctx.uow, user)

    @handles(DisableUser)
    async def disable(self, command: DisableUser, ctx: Context) -> User:
        user = await _existing(ctx.uow, command.user_id, for_update=True)
        not_on_admins("disable", ctx.actor, user)
        now = self._clock.now()
        user.disable(now)
        await ctx.uow.families.revoke_all_for_user(command.user_id, now, "disabled by an administrator")
        await ctx.uow.app_passwords.delete_for_user(command.user_id)
        await self._audit(ctx, "disable", user, was_active=True)
        return user

    @handles(EnableUser)
    async def enable(self, command: EnableUser, ctx: Context) -> User:
        user = await _existing(ctx.uow, command.user_id, for_update=True)
        not_on_admins("enable", ctx.actor, user)
        user.enable(self._clock.now())
        await self._audit(ctx, "enable", user, was_active=False)
        return user

    @handles(DeleteUser)
    async def delete_user(self, command: DeleteUser, ctx: Context) -> Usage:
        user = await _existing(ctx.uow, command.user_id, for_update=True)
        not_on_admins("delete", ctx.actor, user)
        usage = await _usage_of(ctx.uow, command.user_id)
        keys = await self._eraser.erase(ctx.uow, user, DeletionType.HARD, actor_id=ctx.actor.user_id)
        # After the erasure, which anonymises the user's audit entries: this one names no one.
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            actor_id=ctx.actor.user_id,
            action="delete_user",
            target_user_id=command.user_id,
            deleted_audio_files=usage.audio_files,
        )
        ctx.publish(ObjectsReleased(tuple(dict.fromkeys(keys))))  # removed by the worker once committed
        return usage

    @handles(ProcessPendingDeletions)
    async def process_pending_deletions(self, query: ProcessPendingDeletions, ctx: Context) -> int:
        processed = await self._send(RunDueDeletions(), Actor.worker())
        async with self._uow() as uow:
            actor_id = ctx.actor.user_id
            if actor_id is not None and actor_id not in await uow.users.hold([actor_id]):
                actor_id = None  # the admin's own deletion was among the due ones: the entry names no one
            await audit(
                uow,
                self._clock,
                AuditEvent.ADMIN_ACTION,
                actor_id=actor_id,
                action="process_pending_deletions",
                processed_count=processed,
            )
            await uow.commit()
        return processed

    # ------------------------------------------------------------------ helpers

    async def _audit(self, ctx: Context, action: str, user: User, **details: Any) -> None:
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            user_id=user.id,
            actor_id=ctx.actor.user_id,
            action=action,
            **details,
        )


async def _usage(uow: UnitOfWork, user_ids: Sequence[int]) -> dict[int, Usage]:
    return await uow.admin_queries.usage(user_ids) if user_ids else {}


async def _usage_of(uow: UnitOfWork, user_id: int) -> Usage:
    return (await uow.admin_queries.usage([user_id])).get(user_id, Usage())


async def _existing(uow: UnitOfWork, user_id: int, *, for_update: bool = False) -> User:
    user = await uow.users.get(user_id, for_update=for_update)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user
