"""The old entry points of accounts (registration, the caller's profile and picture, finding users,
admins from the command line): each hands its message to the bus (``send``); the use cases are
``sono.application.accounts.handlers``."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, BinaryIO

from sono.application import context
from sono.application.accounts.messages import (
    CreateAdmin,
    PromoteUser,
    Register,
    SearchUsers,
    SetProfilePicture,
    UpdateProfile,
)
from sono.application.common import UNSET, Page, PasswordInput, Principal, Send
from sono.application.messages import ANONYMOUS, Actor
from sono.domain.users import User


class AccountService:
    def __init__(self, send: Send) -> None:
        self._send = send

    async def register(
        self,
        username: str,
        email: str,
        password: PasswordInput,
        display_name: str | None = None,
        *,
        ip: str | None = None,
        superuser: bool = False,
    ) -> User:
        """``Register``, or ``CreateAdmin`` as the operator when ``superuser``."""
        with context.bind(ip=ip) if ip is not None else nullcontext():
            if superuser:
                return await self._send(CreateAdmin(username, email, password, display_name), Actor.operator())
            return await self._send(Register(username, email, password, display_name), ANONYMOUS)

    async def promote(self, username: str) -> User:
        """Make an existing user an admin (command line only)."""
        return await self._send(PromoteUser(username), Actor.operator())

    async def update_profile(self, principal: Principal, *, display_name: Any = UNSET, bio: Any = UNSET) -> User:
        """Change the fields that were sent; ``None`` clears a field, a left-out field stays."""
        return await self._send(UpdateProfile(display_name, bio), principal.actor)

    async def set_profile_picture(self, principal: Principal, image: BinaryIO) -> User:
        return await self._send(SetProfilePicture(image), principal.actor)

    async def search(self, query: str, *, skip: int, limit: int) -> Page[User]:
        """Active users whose username or display name contains ``query`` (at least two
        characters), case-insensitively."""
        return await self._send(SearchUsers(query, skip, limit), Actor.operator())
