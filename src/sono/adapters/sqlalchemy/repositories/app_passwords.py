"""Subsonic app passwords."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select, update

from sono.adapters.sqlalchemy.repositories.base import _ID_MAX, SqlRepository, newest, repository
from sono.adapters.sqlalchemy.tables.accounts import users
from sono.adapters.sqlalchemy.tables.app_passwords import subsonic_credentials as credentials
from sono.domain.app_passwords import AppPassword, UseDue, client_name
from sono.domain.users import User, normalize_username


@repository("app_passwords")
class SqlAppPasswordRepository(SqlRepository):
    async def add(self, credential: AppPassword) -> AppPassword:
        return await self._insert(credential, may_conflict=True)

    async def lock_owner(self, user_id: int) -> bool:
        statement = select(users.c.id).where(users.c.id == user_id).with_for_update(key_share=True)
        return await self.session.scalar(statement) is not None

    async def get(self, user_id: int, credential_id: int) -> AppPassword | None:
        if not 1 <= credential_id <= _ID_MAX:
            return None
        statement = select(AppPassword).where(credentials.c.id == credential_id, credentials.c.user_id == user_id)
        return await self._first(statement)

    async def list_for_user(self, user_id: int) -> list[AppPassword]:
        statement = select(AppPassword).where(credentials.c.user_id == user_id)
        return await self._all(statement.order_by(*newest(credentials.c.created_at, credentials.c.id)))

    async def by_lookup(self, lookup: str) -> tuple[AppPassword, User] | None:
        statement = (
            select(AppPassword, User)
            .join(users, users.c.id == credentials.c.user_id)
            .where(credentials.c.lookup == lookup)
            .limit(1)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])

    async def for_username(self, username: str) -> tuple[User, list[AppPassword]] | None:
        statement = (
            select(User, AppPassword)
            .outerjoin(credentials, credentials.c.user_id == users.c.id)
            .where(func.lower(users.c.username) == normalize_username(username))
            .order_by(credentials.c.id)
        )
        rows = (await self.session.execute(statement)).all()
        if not rows:
            return None
        return rows[0][0], [row[1] for row in rows if row[1] is not None]

    async def record_use(self, credential_id: int, due: UseDue, client: str | None) -> bool:
        values: dict[str, object] = {"last_used_at": due.now}
        client = client_name(client)
        if client is not None:
            values["last_client"] = client
        statement = (
            update(AppPassword)
            .where(
                credentials.c.id == credential_id,
                or_(credentials.c.last_used_at.is_(None), credentials.c.last_used_at <= due.cutoff),
            )
            .values(**values)
        )
        return await self._bulk(statement) > 0

    async def delete(self, credential: AppPassword) -> None:
        await self._delete(credential)

    async def delete_for_user(self, user_id: int) -> int:
        return await self._bulk(delete(AppPassword).where(credentials.c.user_id == user_id))

    async def sealed(self) -> list[AppPassword]:
        statement = select(AppPassword).where(credentials.c.sealed_secret.is_not(None)).order_by(credentials.c.id)
        return await self._all(statement)
