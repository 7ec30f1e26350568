"""``GET /api/v1/admin/audit-log``: what admins did and what happened to accounts, paged and
filtered. Admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller
from litestar.params import QueryParameter

from sono.application.audit.messages import ReadAuditLog
from sono.domain.gdpr import AUDIT_ACTION_MAX, AuditEntry, AuditFilter
from sono.entrypoints.http.errors import field_locations
from sono.entrypoints.http.openapi import BEARER, errors
from sono.entrypoints.http.routes import get
from sono.entrypoints.http.schemas import ID_MAX, NO_NUL, Limit, Skip, page_fields, utc
from sono.entrypoints.http.security import Acting, Bus, admin_only


class AuditEntryOut(msgspec.Struct):
    id: int
    event: str
    created_at: datetime
    actor_id: int | None  # who acted (None: the user themselves before sign-in, or an erased account)
    user_id: int | None  # whom the entry is about
    ip_address: str | None
    success: bool
    details: dict[str, Any]


class AuditPageOut(msgspec.Struct):
    items: list[AuditEntryOut]
    total: int
    has_more: bool


def audit_entry_out(entry: AuditEntry) -> AuditEntryOut:
    assert entry.id is not None
    return AuditEntryOut(
        id=entry.id,
        event=entry.event,
        created_at=utc(entry.created_at),  # type: ignore[arg-type]
        actor_id=entry.actor_id,
        user_id=entry.user_id,
        ip_address=entry.ip_address,
        success=entry.success,
        details=entry.details,
    )


UserFilter = Annotated[int | None, QueryParameter(ge=1, le=ID_MAX)]
Moment = Annotated[datetime | None, QueryParameter(description="ISO 8601; without an offset, UTC")]


class AuditLogController(Controller):
    path = "/api/v1/admin/audit-log"
    tags = ["Admin"]
    guards = [admin_only]
    security = BEARER

    @get(
        "/",
        summary="The audit log, newest first",
        description=(
            "`actor_id`: the user who acted; `user_id`: the user an entry is about; `action`: an event "
            "(`auth.login.failure`), a prefix ending with `*` (`auth.*`) or an admin action "
            "(`disable`); `since` (inclusive) and `until` (exclusive)."
        ),
        opt=field_locations(action="query", until="query"),
        responses=errors(401, 403, 422),
    )
    async def read(
        self,
        bus: Bus,
        actor: Acting,
        actor_id: UserFilter = None,
        user_id: UserFilter = None,
        action: Annotated[str | None, QueryParameter(min_length=1, max_length=AUDIT_ACTION_MAX, pattern=NO_NUL)] = None,
        since: Moment = None,
        until: Moment = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> AuditPageOut:
        spec = AuditFilter(actor_id, user_id, action, _aware(since), _aware(until))
        page = await bus(ReadAuditLog(spec, skip, limit), actor)
        return AuditPageOut(**page_fields([audit_entry_out(e) for e in page.items], page.total, page.skip))


def _aware(moment: datetime | None) -> datetime | None:
    return utc(moment) if moment is not None else None
