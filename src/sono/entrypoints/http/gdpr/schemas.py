"""Shapes of the GDPR endpoints. The data export is rendered through these Structs field by field:
an allow-list, so a new column never leaks into it by accident."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from sono.application.gdpr.messages import DataExport, DeletionStatusView
from sono.domain.gdpr import (
    CONSENT_TYPE_MAX,
    CONSENT_VERSION_MAX,
    DELETION_GRACE_PERIOD,
    DELETION_REASON_MAX,
    IP_ADDRESS_MAX,
    Consent,
    DeletionRequest,
    DeletionType,
)
from sono.entrypoints.http.accounts.schemas import UserOut, me_out
from sono.entrypoints.http.schemas import EDGE_TEXT_MAX, Input, documented, text, utc

GRACE_PERIOD_DAYS = DELETION_GRACE_PERIOD.days


# --------------------------------------------------------------------------- requests


class DeletionRequestIn(Input):
    deletion_type: DeletionType = DeletionType.SOFT
    reason: (
        Annotated[
            str,
            text(
                EDGE_TEXT_MAX,
                description=f"At most {DELETION_REASON_MAX} characters",
                extra_json_schema=documented(max_length=DELETION_REASON_MAX),
            ),
        ]
        | None
    ) = None


class ConsentIn(Input):
    consent_type: Annotated[
        str,
        text(
            EDGE_TEXT_MAX,
            description=f"1 to {CONSENT_TYPE_MAX} characters (leading and trailing spaces are dropped)",
            examples=["privacy_policy"],
            extra_json_schema=documented(min_length=1, max_length=CONSENT_TYPE_MAX, pattern=r"\S"),
        ),
    ]
    consent_version: Annotated[
        str,
        text(
            EDGE_TEXT_MAX,
            description=f"1 to {CONSENT_VERSION_MAX} characters, returned exactly as sent (e.g. `2.0`)",
            examples=["2.0"],
            extra_json_schema=documented(min_length=1, max_length=CONSENT_VERSION_MAX, pattern=r"\S"),
        ),
    ]
    ip_address: (
        Annotated[
            str,
            text(1000, description="An IPv4 or IPv6 address", extra_json_schema=documented(max_length=IP_ADDRESS_MAX)),
        ]
        | None
    ) = None


# --------------------------------------------------------------------------- responses


class DeletionScheduledOut(msgspec.Struct):
    message: str
    scheduled_deletion_at: datetime
    grace_period_days: int
    deletion_type: DeletionType
    can_cancel_until: datetime


class DeletionStatusOut(msgspec.Struct, omit_defaults=True):
    """``{"has_pending_deletion": false}``, or the pending deletion's details."""

    has_pending_deletion: bool
    deletion_type: DeletionType | UnsetType = UNSET
    scheduled_deletion_at: datetime | UnsetType = UNSET
    days_remaining: Annotated[float, Meta(description="Two decimals")] | UnsetType = UNSET
    can_cancel: bool | UnsetType = UNSET
    reason: str | UnsetType | None = UNSET
    requested_at: datetime | UnsetType = UNSET


class ConsentOut(msgspec.Struct):
    id: int
    user_id: int
    consent_type: str
    consent_version: str
    ip_address: str | None
    given_at: datetime
    withdrawn_at: datetime | None
    is_active: bool


class ConsentRecordedOut(ConsentOut):
    message: str
    consent_id: int


# the export


class ExportAudioFile(msgspec.Struct):
    id: int
    title: str
    description: str | None
    original_filename: str
    content_type: str
    file_size: int
    duration: float | None
    bitrate: int | None
    sample_rate: int | None
    channels: int | None
    format: str
    is_public: bool
    artist: str | None
    album: str | None
    track_number: int | None
    year: int | None
    genre: str | None
    upload_date: datetime | None
    updated_at: datetime | None


class ExportTrack(msgspec.Struct):
    id: int | None
    audio_file_id: int
    track_order: int
    added_date: datetime | None


class ExportCollaborator(msgspec.Struct):
    user_id: int
    permission_level: str
    added_date: datetime | None


class ExportCollection(msgspec.Struct):
    id: int
    title: str
    description: str | None
    collection_type: str
    artist: str | None
    curator_note: str | None
    is_public: bool
    is_collaborative: bool
    created_date: datetime | None
    updated_date: datetime | None
    tracks: list[ExportTrack]
    collaborators: list[ExportCollaborator]


class ExportCollaboration(msgspec.Struct):
    collection_id: int
    collection_title: str
    permission_level: str
    added_date: datetime | None


class ExportDeletionRequest(msgspec.Struct):
    id: int | None
    deletion_type: str
    status: str
    reason: str | None
    requested_at: datetime | None
    scheduled_for: datetime | None
    cancelled_at: datetime | None
    executed_at: datetime | None


class ExportAuditEntry(msgspec.Struct):
    timestamp: datetime | None
    action: str
    resource_type: str
    success: bool
    ip_address: str | None


class ExportAppPassword(msgspec.Struct):
    """A Subsonic app password: its name and dates, nothing of the secret."""

    name: str
    created_at: datetime | None
    last_used_at: datetime | None
    last_client: str | None


class ExportStar(msgspec.Struct):
    item_type: Annotated[str, Meta(description="`song` (an audio file), `album` or `artist`")]
    item_id: int
    starred_at: datetime | None


class ExportPlays(msgspec.Struct):
    audio_file_id: int
    play_count: int
    last_played: datetime | None


class DataExportOut(msgspec.Struct):
    """Everything stored about the caller."""

    exported_at: datetime
    user_profile: UserOut
    audio_files: list[ExportAudioFile]
    collections: list[ExportCollection]
    collaborations: list[ExportCollaboration]
    consents: list[ConsentOut]
    deletion_requests: list[ExportDeletionRequest]
    audit_logs: list[ExportAuditEntry]
    subsonic_credentials: list[ExportAppPassword]
    stars: list[ExportStar]
    plays: list[ExportPlays]


# --------------------------------------------------------------------------- presenters


def deletion_scheduled_out(message: str, request: DeletionRequest) -> DeletionScheduledOut:
    scheduled = utc(request.scheduled_for)
    assert scheduled is not None
    return DeletionScheduledOut(
        message=message,
        scheduled_deletion_at=scheduled,
        grace_period_days=GRACE_PERIOD_DAYS,
        deletion_type=request.deletion_type,
        can_cancel_until=scheduled,
    )


def deletion_status_out(status: DeletionStatusView) -> DeletionStatusOut:
    request = status.request
    if request is None or status.days_remaining is None:
        return DeletionStatusOut(has_pending_deletion=False)
    return DeletionStatusOut(
        has_pending_deletion=True,
        deletion_type=request.deletion_type,
        scheduled_deletion_at=utc(request.scheduled_for) or UNSET,
        days_remaining=status.days_remaining,
        can_cancel=True,
        reason=request.reason,
        requested_at=utc(request.requested_at) or UNSET,
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


def consent_recorded_out(consent: Consent, message: str) -> ConsentRecordedOut:
    fields = msgspec.structs.asdict(consent_out(consent))
    return ConsentRecordedOut(**fields, message=message, consent_id=fields["id"])


def export_out(export: DataExport) -> DataExportOut:
    exported_at = utc(export.exported_at)
    assert exported_at is not None
    return DataExportOut(
        exported_at=exported_at,
        user_profile=me_out(export.user),
        audio_files=[
            ExportAudioFile(
                id=audio.id or 0,
                title=audio.title,
                description=audio.description,
                original_filename=audio.original_filename,
                content_type=audio.content_type,
                file_size=audio.file_size,
                duration=audio.duration,
                bitrate=audio.bitrate,
                sample_rate=audio.sample_rate,
                channels=audio.channels,
                format=audio.format,
                is_public=audio.is_public,
                artist=audio.artist,
                album=audio.album,
                track_number=audio.track_number,
                year=audio.year,
                genre=audio.genre,
                upload_date=utc(audio.upload_date),
                updated_at=utc(audio.updated_at),
            )
            for audio in export.audio_files
        ],
        collections=[
            ExportCollection(
                id=collection.id or 0,
                title=collection.title,
                description=collection.description,
                collection_type=str(collection.collection_type),
                artist=collection.artist,
                curator_note=collection.curator_note,
                is_public=collection.is_public,
                is_collaborative=collection.is_collaborative,
                created_date=utc(collection.created_date),
                updated_date=utc(collection.updated_date),
                tracks=[
                    ExportTrack(track.id, track.audio_file_id, track.track_order, utc(track.added_date))
                    for track in collection.tracks
                ],
                collaborators=[
                    ExportCollaborator(c.user_id, str(c.permission_level), utc(c.added_date))
                    for c in collection.collaborators
                ],
            )
            for collection in export.collections
        ],
        collaborations=[
            ExportCollaboration(
                collection_id=collection.id or 0,
                collection_title=collection.title,
                permission_level=str(membership.permission_level),
                added_date=utc(membership.added_date),
            )
            for collection, membership in export.collaborations
        ],
        consents=[consent_out(consent) for consent in export.consents],
        deletion_requests=[
            ExportDeletionRequest(
                id=request.id,
                deletion_type=str(request.deletion_type),
                status=str(request.status),
                reason=request.reason,
                requested_at=utc(request.requested_at),
                scheduled_for=utc(request.scheduled_for),
                cancelled_at=utc(request.cancelled_at),
                executed_at=utc(request.executed_at),
            )
            for request in export.deletion_requests
        ],
        audit_logs=[
            ExportAuditEntry(
                timestamp=utc(entry.created_at),
                action=entry.event,
                resource_type=entry.resource_type,
                success=entry.success,
                ip_address=entry.ip_address,
            )
            for entry in export.audit_log
        ],
        subsonic_credentials=[
            ExportAppPassword(item.name, utc(item.created_at), utc(item.last_used_at), item.last_client)
            for item in export.app_passwords
        ],
        stars=[ExportStar(str(star.kind), star.item_id, utc(star.starred_at)) for star in export.stars],
        plays=[ExportPlays(p.audio_file_id, p.count, utc(p.last_played)) for p in export.play_counts],
    )
