"""Users, sessions and password-reset tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import case, delete, func, or_, select, update

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, like_pattern, repository
from sono.adapters.sqlalchemy.tables.accounts import password_reset_tokens, refresh_families, users
from sono.application.values import Page
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import User, normalize_email, normalize_username


@repository("users")
class SqlUserRepository(SqlRepository):
    async def add(self, user: User) -> User:
        return await self._insert(user, may_conflict=True)

    async def get(self, user_id: int, *, for_update: bool = False) -> User | None:
        if for_update:
            return await self.session.get(User, user_id, with_for_update=True, populate_existing=True)
        return await self.session.get(User, user_id)

    async def lock_for_change(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id, with_for_update={"key_share": True}, populate_existing=True)

    async def hold(self, user_ids: Iterable[int], *, exclusive: bool = False) -> set[int]:
        return await self._hold(users, user_ids, exclusive=exclusive)

    async def get_by_username(self, username: str) -> User | None:
        return await self._first(select(User).where(func.lower(users.c.username) == normalize_username(username)))

    async def get_by_email(self, email: str) -> User | None:
        return await self._first(select(User).where(func.lower(users.c.email) == normalize_email(email)))

    async def get_by_login(self, login: str) -> User | None:
        by_username = func.lower(users.c.username) == normalize_username(login)
        by_email = func.lower(users.c.email) == normalize_email(login)
        username_first = case((by_username, 0), else_=1)
        return await self._first(select(User).where(or_(by_username, by_email)).order_by(username_first))

    async def search(self, query: str, *, skip: int, limit: int) -> Page[User]:
        pattern = like_pattern(query.lower())
        matches = or_(
            func.lower(users.c.username).like(pattern, escape="\\"),
            func.lower(users.c.display_name).like(pattern, escape="\\"),
        )
        statement = select(User).where(users.c.is_active, matches)
        return await self._page(statement, (func.lower(users.c.username), users.c.id), skip, limit)

    async def delete(self, user: User) -> None:
        await self._delete(user)


@repository("families")
class SqlRefreshFamilyRepository(SqlRepository):
    async def add(self, family: RefreshFamily) -> None:
        self.session.add(family)

    async def get(self, family_id: str) -> RefreshFamily | None:
        return await self.session.get(RefreshFamily, family_id)

    async def rotate(self, family_id: str, old_jti: str, new_jti: str, now: datetime) -> bool:
        current = (
            refresh_families.c.id == family_id,
            refresh_families.c.current_jti == old_jti,
            refresh_families.c.revoked_at.is_(None),
        )
        statement = (
            update(RefreshFamily).where(*current).values(current_jti=new_jti, previous_jti=old_jti, last_rotated_at=now)
        )
        if await self._bulk(statement) == 1:
            return True
        family = await self.session.get(RefreshFamily, family_id)
        if family is not None:
            await self.session.refresh(family)  # show what the winner stored
        return False

    async def revoke_all_for_user(self, user_id: int, now: datetime, reason: str) -> int:
        live = (refresh_families.c.user_id == user_id, refresh_families.c.revoked_at.is_(None))
        return await self._bulk(update(RefreshFamily).where(*live).values(revoked_at=now, revoked_reason=reason))

    async def delete_expired(self, now: datetime) -> int:
        return await self._bulk(delete(RefreshFamily).where(refresh_families.c.expires_at < now))


@repository("reset_tokens")
class SqlResetTokenRepository(SqlRepository):
    async def add(self, token: PasswordResetToken) -> PasswordResetToken:
        return await self._insert(token, may_conflict=True)

    async def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        return await self._first(select(PasswordResetToken).where(password_reset_tokens.c.token_hash == token_hash))

    async def consume(self, token_id: int, now: datetime) -> bool:
        unused = (password_reset_tokens.c.id == token_id, password_reset_tokens.c.used_at.is_(None))
        return await self._bulk(update(PasswordResetToken).where(*unused).values(used_at=now)) == 1

    async def invalidate_for_user(self, user_id: int, now: datetime) -> int:
        unused = (password_reset_tokens.c.user_id == user_id, password_reset_tokens.c.used_at.is_(None))
        return await self._bulk(update(PasswordResetToken).where(*unused).values(used_at=now))

    async def delete_expired(self, now: datetime) -> int:
        spent = or_(password_reset_tokens.c.expires_at < now, password_reset_tokens.c.used_at < now)
        return await self._bulk(delete(PasswordResetToken).where(spent))
