"""``SessionLookup`` over the fake database."""

from __future__ import annotations

from sono.adapters.memory.repositories import FakeDatabase
from sono.domain.users import User


class FakeSessionLookup:
    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def principal(self, user_id: int, jti: str) -> tuple[User | None, bool]:
        return self._database.users.get(user_id), jti in self._database.revoked_tokens
