"""The GDPR tables: consents, deletion requests and the audit log."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB

from sono.adapters.sqlalchemy.tables.accounts import user_id
from sono.adapters.sqlalchemy.tables.base import enum_type, id_column, mapped, metadata, timestamp
from sono.domain.gdpr import (
    CONSENT_TYPE_MAX,
    CONSENT_VERSION_MAX,
    IP_ADDRESS_MAX,
    AuditEntry,
    Consent,
    DeletionRequest,
    DeletionStatus,
    DeletionType,
)

consents = Table(
    "consents",
    metadata,
    id_column(),
    user_id("user_id", on_delete="CASCADE", nullable=False),
    Column("consent_type", String(CONSENT_TYPE_MAX), nullable=False),
    Column("consent_version", String(CONSENT_VERSION_MAX), nullable=False),
    timestamp("given_at", nullable=False),
    Column("ip_address", String(IP_ADDRESS_MAX)),
    timestamp("withdrawn_at"),
    Index("ix_consents_user_id_given_at", "user_id", "given_at"),
)

deletion_requests = Table(
    "deletion_requests",
    metadata,
    id_column(),
    user_id("user_id", on_delete="CASCADE", nullable=False, index=True),
    Column("deletion_type", enum_type(DeletionType, "deletion_type"), nullable=False),
    timestamp("requested_at", nullable=False),
    timestamp("scheduled_for", nullable=False),
    Column("reason", String(1000)),
    Column("status", enum_type(DeletionStatus, "status"), nullable=False),
    timestamp("cancelled_at"),
    timestamp("executed_at"),
    Index("ix_deletion_requests_status_scheduled_for", "status", "scheduled_for"),
)
_PENDING = text("status = 'pending'")
Index(
    "uq_deletion_requests_pending",
    deletion_requests.c.user_id,
    unique=True,
    postgresql_where=_PENDING,
    sqlite_where=_PENDING,
)

audit_log = Table(
    "audit_log",
    metadata,
    id_column(),
    Column("event", String(64), nullable=False),
    timestamp("created_at", nullable=False, index=True),
    user_id("user_id", on_delete="SET NULL", nullable=True, index=True),
    user_id("actor_id", on_delete="SET NULL", nullable=True, index=True),
    Column("ip_address", String(45)),
    Column("details", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
)

mapped(Consent, consents)
mapped(DeletionRequest, deletion_requests)
mapped(AuditEntry, audit_log)
