"""Subsonic app passwords, in memory."""

from __future__ import annotations

from operator import attrgetter

from sono.domain.app_passwords import AppPassword, UseDue
from sono.domain.users import User, normalize_username
from tests.fakes.repositories.base import FakeRepository, Unique, fake_table, foreign_key, newest, repository, single

fake_table(
    "app_passwords",
    "subsonic_credentials",
    unique=[
        Unique("uq_subsonic_credentials_lookup", single(attrgetter("lookup"))),
        Unique("uq_subsonic_credentials_user_id_name", single(lambda c: (c.user_id, c.name))),
    ],
    created="created_at",
)
foreign_key("app_passwords", "user_id", "users")


@repository("app_passwords")
class FakeAppPasswordRepository(FakeRepository):
    async def add(self, credential: AppPassword) -> AppPassword:
        return self.session.insert(self.db.app_passwords, credential)

    async def lock_owner(self, user_id: int) -> bool:
        return user_id in self.db.users

    async def get(self, user_id: int, credential_id: int) -> AppPassword | None:
        credential = self.session.get(self.db.app_passwords, credential_id)
        return credential if credential is not None and credential.user_id == user_id else None

    async def list_for_user(self, user_id: int) -> list[AppPassword]:
        return newest(self.session.select(self.db.app_passwords, lambda c: c.user_id == user_id), "created_at")

    async def by_lookup(self, lookup: str) -> tuple[AppPassword, User] | None:
        credential = self.session.first(self.db.app_passwords, lambda c: c.lookup == lookup)
        if credential is None:
            return None
        user = self.session.get(self.db.users, credential.user_id)
        return None if user is None else (credential, user)

    async def for_username(self, username: str) -> tuple[User, list[AppPassword]] | None:
        wanted = normalize_username(username)
        user = self.session.first(self.db.users, lambda u: u.username.lower() == wanted)
        if user is None:
            return None
        found = self.session.select(self.db.app_passwords, lambda c: c.user_id == user.id)
        return user, sorted(found, key=attrgetter("id"))

    async def record_use(self, credential_id: int, due: UseDue, client: str | None) -> bool:
        credential = self.session.get(self.db.app_passwords, credential_id)
        if credential is None or not due.matches(credential):
            return False
        credential.record_use(due.now, client)
        return True

    async def delete(self, credential: AppPassword) -> None:
        self.session.delete(self.db.app_passwords, credential)

    async def delete_for_user(self, user_id: int) -> int:
        return len(self.session.delete_where(self.db.app_passwords, lambda c: c.user_id == user_id))

    async def sealed(self) -> list[AppPassword]:
        found = self.session.select(self.db.app_passwords, lambda c: c.sealed_secret is not None)
        return sorted(found, key=attrgetter("id"))
