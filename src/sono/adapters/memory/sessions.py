"""``SessionLookup`` over the fake database."""

from __future__ import annotations

from sono.adapters.memory.repositories import FakeDatabase
from sono.domain.users import User, normalize_email


class FakeSessionLookup:
    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def user_by_login(self, login: str) -> User | None:
        by_email = None
        for user in self._database.users.values():
            if user.username == login:
                return user
            if by_email is None and user.email.lower() == normalize_email(login):
                by_email = user
        return by_email

    async def principal(self, user_id: int, jti: str) -> tuple[User | None, bool]:
        return self._database.users.get(user_id), jti in self._database.revoked_tokens
