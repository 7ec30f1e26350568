"""Shapes of the admin screens, and their presenters."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter
from msgspec import Meta

from sono.application.admin.messages import UserSummary
from sono.application.admin.ports import CatalogueStats
from sono.domain.users import MAX_AUDIO_UPLOADS_LIMIT
from sono.entrypoints.http.accounts.schemas import UserOut, user_fields
from sono.entrypoints.http.schemas import ID_MAX, Input, documented

UserId = Annotated[int, PathParameter(ge=1, le=ID_MAX, description="A user's id")]


# --------------------------------------------------------------------------- requests


class UploadLimitIn(Input):
    max_audio_uploads: Annotated[
        int,
        Meta(
            description=f"How many audio files the user may keep, 0 to {MAX_AUDIO_UPLOADS_LIMIT}",
            examples=[50],
            extra_json_schema=documented(minimum=0, maximum=MAX_AUDIO_UPLOADS_LIMIT),
        ),
    ]


# --------------------------------------------------------------------------- responses


class AdminUserOut(UserOut):
    """A user as admins see it: the owner's shape plus what the user stores."""

    total_audio_files: int
    total_storage_bytes: int
    pending_deletion: Annotated[bool, Meta(description="A deletion request is waiting for its grace period")]


class AdminStatsOut(msgspec.Struct):
    total_users: int
    active_users: int
    inactive_users: int
    superusers: int
    total_audio_files: int
    total_storage_bytes: int
    total_collections: int
    total_albums: int
    total_playlists: int
    total_compilations: int
    public_collections: int
    collaborative_collections: int


class UploadLimitOut(msgspec.Struct):
    message: str
    user_id: int
    max_audio_uploads: int
    used_uploads: int
    remaining_uploads: int


class UserStatusOut(msgspec.Struct):
    message: str
    user_id: int
    is_active: bool


class UserDeletedOut(msgspec.Struct):
    message: str
    user_id: int
    deleted_audio_files: int


class PendingDeletionsOut(msgspec.Struct):
    message: str
    processed_count: int


# --------------------------------------------------------------------------- presenters


def admin_user_out(summary: UserSummary) -> AdminUserOut:
    return AdminUserOut(
        **user_fields(summary.user, summary.picture_url),
        total_audio_files=summary.usage.audio_files,
        total_storage_bytes=summary.usage.storage_bytes,
        pending_deletion=summary.pending_deletion,
    )


def stats_out(stats: CatalogueStats) -> AdminStatsOut:
    return AdminStatsOut(
        total_users=stats.total_users,
        active_users=stats.active_users,
        inactive_users=stats.inactive_users,
        superusers=stats.superusers,
        total_audio_files=stats.total_audio_files,
        total_storage_bytes=stats.total_storage_bytes,
        total_collections=stats.total_collections,
        total_albums=stats.total_albums,
        total_playlists=stats.total_playlists,
        total_compilations=stats.total_compilations,
        public_collections=stats.public_collections,
        collaborative_collections=stats.collaborative_collections,
    )
