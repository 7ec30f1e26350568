"""What entrypoints may ask of the GDPR features (the caller's own account: its deletion, its data,
its consents), and what they get back. The request's address, where one is recorded, comes from
``sono.application.context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from sono.application.accounts.views import UserView
from sono.application.common import PasswordInput
from sono.application.messages import Audience, Command, Process, Query
from sono.domain.annotations import PlayCount, Star
from sono.domain.app_passwords import ExportedAppPassword
from sono.domain.audio import AudioFile
from sono.domain.collections import Collaborator, Collection
from sono.domain.gdpr import AuditEntry, Consent, DeletionRequest, DeletionType

DELETION_PENDING = "A deletion request is already pending"
NO_PENDING_DELETION = "No pending deletion request found"
USER_NOT_FOUND = "User not found"
INCORRECT_PASSWORD = "Incorrect password"


@dataclass(frozen=True, slots=True)
class DeletionStatusView:
    """The pending deletion as of ``now`` (None: nothing pending)."""

    request: DeletionRequest | None
    days_remaining: float | None


@dataclass(frozen=True, slots=True)
class DataExport:
    """Everything stored about a user (``user``: the account, with its picture's URL). The edge
    renders it field by field (an allow-list)."""

    exported_at: datetime
    user: UserView
    audio_files: list[AudioFile]
    collections: list[Collection]
    collaborations: list[tuple[Collection, Collaborator]]
    consents: list[Consent]
    deletion_requests: list[DeletionRequest]
    audit_log: list[AuditEntry]
    app_passwords: list[ExportedAppPassword] = field(default_factory=list)
    stars: list[Star] = field(default_factory=list)
    play_counts: list[PlayCount] = field(default_factory=list)


# ---------------------------------------------------------------------- deletion


@dataclass(frozen=True, slots=True)
class RequestDeletion(Command[DeletionRequest]):
    """Schedule the caller's account's deletion after the grace period; 409 if one is pending."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    deletion_type: DeletionType = DeletionType.SOFT
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CancelDeletion(Command[DeletionRequest]):
    """Cancel the caller's pending deletion (404 when none is pending)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class DeleteAccount(Command[None]):
    """Delete the caller's account at once, after checking its password (401 when wrong): a soft
    deletion deactivates it, a hard one erases it and everything it owns."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    password: PasswordInput
    deletion_type: DeletionType = DeletionType.SOFT


@dataclass(frozen=True, slots=True)
class GetDeletionStatus(Query[DeletionStatusView]):
    """The caller's pending deletion, if any."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


@dataclass(frozen=True, slots=True)
class ExecuteDueDeletions(Command[int]):
    """Carry out up to ``batch`` scheduled deletions whose grace period is over, each exactly once:
    claimed under a row lock (skipped by concurrent runners) and completed in this command's
    transaction. How many were carried out (0: none is due any more)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    batch: int = 1


@dataclass(frozen=True, slots=True)
class RunDueDeletions(Process[int]):
    """Carry out every scheduled deletion whose grace period is over, each exactly once: one
    ``ExecuteDueDeletions`` of ``batch`` after the other (each its own unit of work), until none is
    due. How many were carried out (the periodic job's, and an admin's ``ProcessPendingDeletions``)."""

    audience: ClassVar[Audience] = Audience.ADMIN
    batch: int = 1


# ---------------------------------------------------------------------- export


@dataclass(frozen=True, slots=True)
class ExportData(Command[DataExport]):
    """Everything stored about the caller (a command: the export itself is audited)."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN


# ---------------------------------------------------------------------- consents


@dataclass(frozen=True, slots=True)
class GiveConsent(Command[Consent]):
    """Record a consent of the caller. A newer consent of the same type supersedes the active one,
    so exactly one per type is active. ``ip_address`` is the one the client states; without it,
    the request's address is recorded."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
    consent_type: str
    consent_version: str
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class ListConsents(Query[list[Consent]]):
    """The caller's consents, newest first."""

    audience: ClassVar[Audience] = Audience.SIGNED_IN
