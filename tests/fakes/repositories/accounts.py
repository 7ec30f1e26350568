"""Users, sessions and password-reset tokens, in memory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from operator import attrgetter

from sono.application.values import Page
from sono.domain.sessions import PasswordResetToken, RefreshFamily
from sono.domain.users import User, normalize_email, normalize_username
from tests.fakes.repositories.base import (
    FakeDatabase,
    FakeRepository,
    Unique,
    contains,
    fake_table,
    foreign_key,
    page,
    repository,
    single,
)

fake_table(
    "users",
    "users",
    unique=[
        Unique("uq_users_email_lower", single(lambda user: user.email.lower())),
        Unique("uq_users_username_lower", single(lambda user: user.username.lower())),
    ],
    created="created_at",
)
fake_table("families", "refresh_families")
fake_table(
    "reset_tokens",
    "password_reset_tokens",
    unique=[Unique("uq_password_reset_tokens_token_hash", single(attrgetter("token_hash")))],
)
foreign_key("families", "user_id", "users")
foreign_key("reset_tokens", "user_id", "users")


def is_active_user(database: FakeDatabase, user_id: int) -> bool:
    user = database.users.get(user_id)
    return user is not None and bool(user.is_active)


@repository("users")
class FakeUserRepository(FakeRepository):
    async def add(self, user: User) -> User:
        return self.session.insert(self.db.users, user)

    async def get(self, user_id: int, *, for_update: bool = False) -> User | None:
        return self.session.get(self.db.users, user_id)

    async def lock_for_change(self, user_id: int) -> User | None:
        return self.session.get(self.db.users, user_id)

    async def hold(self, user_ids: Iterable[int], *, exclusive: bool = False) -> set[int]:
        return {i for i in set(user_ids) if self.session.get(self.db.users, i) is not None}

    async def get_by_username(self, username: str) -> User | None:
        wanted = normalize_username(username)
        return self.session.first(self.db.users, lambda user: user.username.lower() == wanted)

    async def get_by_email(self, email: str) -> User | None:
        wanted = normalize_email(email)
        return self.session.first(self.db.users, lambda user: user.email.lower() == wanted)

    async def get_by_login(self, login: str) -> User | None:
        return await self.get_by_username(login) or await self.get_by_email(login)

    async def search(self, query: str, *, skip: int, limit: int) -> Page[User]:
        def matches(user: User) -> bool:
            return user.is_active and (contains(user.username, query) or contains(user.display_name, query))

        found = sorted(self.session.select(self.db.users, matches), key=lambda u: (u.username.lower(), u.id))
        return page(found, skip, limit)

    async def delete(self, user: User) -> None:
        self.session.delete(self.db.users, user)


@repository("families")
class FakeRefreshFamilyRepository(FakeRepository):
    async def add(self, family: RefreshFamily) -> None:
        self.session.insert(self.db.families, family)

    async def get(self, family_id: str) -> RefreshFamily | None:
        return self.session.get(self.db.families, family_id)

    async def rotate(self, family_id: str, old_jti: str, new_jti: str, now: datetime) -> bool:
        def current(family: RefreshFamily) -> bool:
            return family.id == family_id and family.current_jti == old_jti and family.revoked_at is None

        changed = self.session.update(
            self.db.families, current, current_jti=new_jti, previous_jti=old_jti, last_rotated_at=now
        )
        return changed == 1

    async def revoke_all_for_user(self, user_id: int, now: datetime, reason: str) -> int:
        def live(family: RefreshFamily) -> bool:
            return family.user_id == user_id and family.revoked_at is None

        return self.session.update(self.db.families, live, revoked_at=now, revoked_reason=reason)

    async def delete_expired(self, now: datetime) -> int:
        return len(self.session.delete_where(self.db.families, lambda family: family.expires_at < now))


@repository("reset_tokens")
class FakeResetTokenRepository(FakeRepository):
    async def add(self, token: PasswordResetToken) -> PasswordResetToken:
        return self.session.insert(self.db.reset_tokens, token)

    async def get_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        return self.session.first(self.db.reset_tokens, lambda token: token.token_hash == token_hash)

    async def consume(self, token_id: int, now: datetime) -> bool:
        def unused(token: PasswordResetToken) -> bool:
            return token.id == token_id and token.used_at is None

        return self.session.update(self.db.reset_tokens, unused, used_at=now) == 1

    async def invalidate_for_user(self, user_id: int, now: datetime) -> int:
        def unused(token: PasswordResetToken) -> bool:
            return token.user_id == user_id and token.used_at is None

        return self.session.update(self.db.reset_tokens, unused, used_at=now)

    async def delete_expired(self, now: datetime) -> int:
        def spent(token: PasswordResetToken) -> bool:
            return token.expires_at < now or (token.used_at is not None and token.used_at < now)

        return len(self.session.delete_where(self.db.reset_tokens, spent))
