"""``SessionLookup`` over the fake database."""

from __future__ import annotations

from datetime import datetime

from sono.domain.users import User, normalize_email, normalize_username
from tests.fakes.repositories import FakeDatabase


class FakeSessionLookup:
    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def user_by_login(self, login: str) -> User | None:
        by_email = None
        for user in self._database.users.values():
            if user.username.lower() == normalize_username(login):
                return user
            if by_email is None and user.email.lower() == normalize_email(login):
                by_email = user
        return by_email

    async def principal(self, user_id: int, family_id: str, now: datetime) -> tuple[User | None, bool]:
        family = self._database.families.get(family_id)
        live = family is not None and family.user_id == user_id and family.is_live(now)
        return self._database.users.get(user_id), live
