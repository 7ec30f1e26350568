"""Accounts: registration, the caller's profile and profile picture, finding users, admins from the
command line."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Any, BinaryIO

from sono.application import context
from sono.application.accounts.messages import CreateAdmin, PromoteUser, Register, SearchUsers, UpdateProfile
from sono.application.accounts.ports import PasswordDecryptor, PasswordHasher
from sono.application.common import UNSET, Page, PasswordInput, Principal, Send
from sono.application.media.service import MediaService
from sono.application.messages import ANONYMOUS, Actor
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import NotFound
from sono.domain.media import AVATARS, object_key
from sono.domain.users import (
    DEFAULT_MAX_AUDIO_UPLOADS,
    User,
)

USER_NOT_FOUND = "User not found"


class AccountService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        clock: Clock,
        media: MediaService,
        *,
        default_upload_limit: int = DEFAULT_MAX_AUDIO_UPLOADS,
        send: Send,
    ) -> None:
        """``send``: the bus, to which the entry points already converted hand their messages."""
        self._send = send
        self._default_upload_limit = default_upload_limit  # new accounts' max_audio_uploads
        self._uow = uow
        self._hasher = hasher
        self._decryptor = decryptor
        self._clock = clock
        self._media = media

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
        """Decode and re-encode the image, store it under a new key (so its URL changes), point the
        profile at it and remove the old picture. A failure leaves neither a new object nor a
        changed profile behind."""
        processed = await self._media.process_image(image)
        key = object_key(AVATARS, principal.user_id, uuid.uuid4().hex, processed.extension)
        await self._media.stage([key])
        try:
            await self._media.put_image(key, processed)
            async with self._uow() as uow:
                user = await self._own_account(uow, principal, lock=True)
                old_key, user.profile_picture_key = user.profile_picture_key, key
                user.updated_at = self._clock.now()
                await self._media.settle(uow, [key])
                if old_key:
                    await self._media.release(uow, [old_key])
                await uow.commit()
        except BaseException:
            await self._media.discard([key])
            raise
        return user

    async def search(self, query: str, *, skip: int, limit: int) -> Page[User]:
        """Active users whose username or display name contains ``query`` (at least two
        characters), case-insensitively."""
        return await self._send(SearchUsers(query, skip, limit), Actor.operator())

    async def _own_account(self, uow: UnitOfWork, principal: Principal, *, lock: bool = False) -> User:
        held = await uow.users.hold([principal.user_id])  # a deletion meanwhile: 404, not a lost update
        user = await uow.users.get(principal.user_id, for_update=lock) if held else None
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        return user
