"""Administration of users: ``/api/v1/admin`` (statistics, users, quotas, disabling, erasing, due
deletions) and ``GET /api/v1/users/``, the admin user list on the users path. Admins only."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response
from litestar.datastructures import ResponseHeader
from litestar.params import JSONBody, QueryParameter

from sono.application.admin.messages import (
    USER_QUERY_MAX,
    DeleteUser,
    DisableUser,
    EnableUser,
    GetCatalogueStats,
    GetUploadStats,
    GetUser,
    ListUsers,
    ProcessPendingDeletions,
    SetUploadLimit,
)
from sono.entrypoints.http.admin.schemas import (
    AdminStatsOut,
    AdminUserOut,
    PendingDeletionsOut,
    UploadLimitIn,
    UploadLimitOut,
    UserDeletedOut,
    UserId,
    UserStatusOut,
    admin_user_out,
    stats_out,
)
from sono.entrypoints.http.audio.schemas import UploadStatsOut, upload_stats_out
from sono.entrypoints.http.errors import field_locations
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.routes import delete, get, post, put
from sono.entrypoints.http.schemas import NO_NUL, QUERY_TEXT_MAX, Limit, Skip
from sono.entrypoints.http.security import Acting, Bus, admin_only

UPLOAD_LIMIT_UPDATED = "Upload limit updated"
TOTAL_COUNT = "X-Total-Count"
_TOTAL_HEADER = [
    ResponseHeader(name=TOTAL_COUNT, description="How many users match, over every page", documentation_only=True)
]
SearchText = Annotated[
    str | None,
    QueryParameter(
        max_length=QUERY_TEXT_MAX,
        pattern=NO_NUL,
        description=f"Part of a username, email or display name (at most {USER_QUERY_MAX} characters)",
    ),
]


async def user_list(bus: Bus, actor: Acting, q: str | None, skip: int, limit: int) -> Response[list[AdminUserOut]]:
    """The plain array the web admin panel reads, with the total in ``X-Total-Count``."""
    page = await bus(ListUsers(q, skip, limit), actor)
    items = [admin_user_out(summary) for summary in page.items]
    return Response(items, headers={TOTAL_COUNT: str(page.total)})


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["Admin"]
    guards = [admin_only]
    security = BEARER

    @get("/stats", summary="Counts over the whole catalogue", responses=errors(401, 403))
    async def stats(self, bus: Bus, actor: Acting) -> AdminStatsOut:
        return stats_out(await bus(GetCatalogueStats(), actor))

    @get(
        "/users",
        summary="Users, newest first (a plain array; the total in X-Total-Count)",
        response_headers=_TOTAL_HEADER,
        opt=field_locations(q="query"),
        responses=errors(401, 403, 422),
    )
    async def list_users(
        self,
        bus: Bus,
        actor: Acting,
        q: SearchText = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> Response[list[AdminUserOut]]:
        return await user_list(bus, actor, q, skip, limit)

    @get("/users/{user_id:int}", summary="A user, with what they store", responses=errors(401, 403, 404, 422))
    async def get_user(self, bus: Bus, actor: Acting, user_id: UserId) -> AdminUserOut:
        return admin_user_out(await bus(GetUser(user_id), actor))

    @put(
        "/users/{user_id:int}/upload-limit",
        summary="Set how many audio files a user may keep (0..1000)",
        responses=errors(401, 403, 404, 422),
    )
    async def set_upload_limit(
        self, data: JSONBody[UploadLimitIn], bus: Bus, actor: Acting, user_id: UserId
    ) -> UploadLimitOut:
        summary = await bus(SetUploadLimit(user_id, data.max_audio_uploads), actor)
        quota = summary.quota
        return UploadLimitOut(
            message=UPLOAD_LIMIT_UPDATED,
            user_id=user_id,
            max_audio_uploads=quota.max_uploads,
            used_uploads=quota.used_uploads,
            remaining_uploads=quota.remaining_uploads,
        )

    @get(
        "/users/{user_id:int}/upload-stats",
        summary="A user's uploads against their limit",
        responses=errors(401, 403, 404, 422),
    )
    async def upload_stats(self, bus: Bus, actor: Acting, user_id: UserId) -> UploadStatsOut:
        return upload_stats_out(await bus(GetUploadStats(user_id), actor))

    @post(
        "/users/{user_id:int}/disable",
        summary="Disable an account and end its sessions (not one's own, not an admin's)",
        status_code=200,
        responses=errors(400, 401, 403, 404, 422),
    )
    async def disable_user(self, bus: Bus, actor: Acting, user_id: UserId) -> UserStatusOut:
        user = await bus(DisableUser(user_id), actor)
        return UserStatusOut(message=f"User {user.username} has been disabled", user_id=user_id, is_active=False)

    @post(
        "/users/{user_id:int}/enable",
        summary="Enable a disabled account (not one's own, not an admin's)",
        status_code=200,
        responses=errors(400, 401, 403, 404, 422),
    )
    async def enable_user(self, bus: Bus, actor: Acting, user_id: UserId) -> UserStatusOut:
        user = await bus(EnableUser(user_id), actor)
        return UserStatusOut(message=f"User {user.username} has been enabled", user_id=user_id, is_active=True)

    @delete(
        "/users/{user_id:int}",
        summary="Erase an account now, with everything it stores (not one's own, not an admin's)",
        status_code=200,
        responses=errors(400, 401, 403, 404, 422),
    )
    async def delete_user(self, bus: Bus, actor: Acting, user_id: UserId) -> UserDeletedOut:
        usage = await bus(DeleteUser(user_id), actor)
        return UserDeletedOut(
            message="User permanently deleted", user_id=user_id, deleted_audio_files=usage.audio_files
        )

    @post(
        "/process-pending-deletions",
        summary="Run the deletions whose grace period is over, now",
        status_code=200,
        responses=errors(401, 403),
    )
    async def process_pending_deletions(self, bus: Bus, actor: Acting) -> PendingDeletionsOut:
        processed = await bus(ProcessPendingDeletions(), actor)
        return PendingDeletionsOut(message=f"Processed {processed} pending deletions", processed_count=processed)


@get(
    "/api/v1/users/",
    summary="Users, newest first (admins; the same list as GET /admin/users)",
    tags=["Admin"],
    guards=[admin_only],
    security=BEARER,
    response_headers=_TOTAL_HEADER,
    opt=field_locations(q="query"),
    responses=errors(401, 403, 422),
)
async def list_users_alias(
    bus: Bus, actor: Acting, q: SearchText = None, skip: Skip = 0, limit: Limit = 100
) -> Response[list[AdminUserOut]]:
    """``GET /api/v1/users/``: the admin user list on the users path, as the original server had it.
    A route of its own, not a controller: Litestar 2 merges a handler into the accounts
    controller's ``/api/v1/users`` route (its ``POST`` registers) only when the handler comes after
    that controller in the app's handlers, and refuses a second controller on the same path."""
    return await user_list(bus, actor, q, skip, limit)
