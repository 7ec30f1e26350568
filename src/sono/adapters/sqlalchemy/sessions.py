"""``SessionLookup``: each read is one indexed query without the ORM (see
``sono.adapters.sqlalchemy.reads``), as they run on every authenticated request and every login.
A session's user and state are kept while the users and sessions tables are unchanged
(``reads.Kept``, ``sessions`` in the metrics): a request of a known session reads nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import configure_mappers

from sono.adapters.sqlalchemy.reads import Kept, Reads, Shape, reads_for, timestamp
from sono.adapters.sqlalchemy.tables import start_mappers
from sono.adapters.sqlalchemy.tables.accounts import refresh_families, users
from sono.adapters.sqlalchemy.versions import TableVersions, versions_for
from sono.application.metrics import Metrics
from sono.domain.users import User, normalize_email, normalize_username

_FAMILY, _REVOKED_AT, _EXPIRES_AT = "sono_family", "sono_family_revoked_at", "sono_family_expires_at"
_PRINCIPAL = (
    select(
        users,
        refresh_families.c.id.label(_FAMILY),
        refresh_families.c.revoked_at.label(_REVOKED_AT),
        refresh_families.c.expires_at.label(_EXPIRES_AT),
    )
    .select_from(
        users.outerjoin(
            refresh_families,
            and_(refresh_families.c.id == bindparam("family_id"), refresh_families.c.user_id == users.c.id),
        )
    )
    .where(users.c.id == bindparam("user_id"))
)
_BY_USERNAME = func.lower(users.c.username) == bindparam("login")
_BY_LOGIN = (
    select(users)
    .where(or_(_BY_USERNAME, func.lower(users.c.email) == bindparam("email")))
    .order_by(case((_BY_USERNAME, 0), else_=1))
    .limit(1)
)


_MISSING = (None, None, None, None)


class SqlSessionLookup:
    """The ``SessionLookup`` port on ``reads`` (which it closes with itself when it owns them)."""

    SESSIONS_KEPT = 4096  # sessions whose user and state are kept (0: none, every request reads)

    def __init__(
        self, reads: Reads, versions: TableVersions, *, metrics: Metrics | None = None, owns_reads: bool = False
    ) -> None:
        start_mappers()
        configure_mappers()  # the shape builds instances through the mapper before any session does
        self._reads = reads
        self._owns_reads = owns_reads
        self._principal = reads.query(_PRINCIPAL)
        self._by_login = reads.query(_BY_LOGIN)
        self._user = Shape(User, users.c, 0, reads.dialect)  # both statements start with the user's columns
        self._kept: Kept[tuple[User | None, object, object, datetime | None]] = Kept(
            versions.watch(self._principal.tables), "sessions", metrics=metrics
        )

    async def principal(self, user_id: int, family_id: str, now: datetime) -> tuple[User | None, bool]:
        """The user, and whether the session is live: the family exists, is not revoked, not expired."""
        user, family, revoked_at, expires_at = await self._kept.get(
            (user_id, family_id), lambda: self._read_principal(user_id, family_id), most=self.SESSIONS_KEPT
        )
        live = family is not None and revoked_at is None and expires_at is not None and now < expires_at
        return user, live

    async def _read_principal(
        self, user_id: int, family_id: str
    ) -> tuple[User | None, object, object, datetime | None]:
        row = await self._reads.fetch_one(self._principal, user_id=user_id, family_id=family_id)
        if row is None:
            return _MISSING
        values = tuple(row)
        family, revoked_at, expires = values[self._user.end : self._user.end + 3]  # after the user's columns
        return self._user.build(values), family, revoked_at, timestamp(expires)

    async def user_by_login(self, login: str) -> User | None:
        row = await self._reads.fetch_one(self._by_login, login=normalize_username(login), email=normalize_email(login))
        return None if row is None else self._user.build(tuple(row))

    async def close(self) -> None:
        if self._owns_reads:
            await self._reads.close()


def session_lookup_for(
    url: str, *, connect_timeout: float = 5.0, statement_timeout: float | None = None
) -> SqlSessionLookup:
    """A lookup with reads of its own for a ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URL."""
    reads = reads_for(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
    return SqlSessionLookup(reads, versions_for(url, listen=False), owns_reads=True)
