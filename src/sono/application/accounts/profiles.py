"""Accounts: registration, the caller's profile and profile picture, finding users, admins from the
command line."""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

from sono.application.accounts.ports import PasswordDecryptor, PasswordHasher
from sono.application.common import UNSET, Page, PasswordInput, Principal, Problems, audit
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import Conflict, NotFound
from sono.domain.gdpr import AuditEvent
from sono.domain.media import AVATARS, object_key
from sono.domain.users import (
    DEFAULT_MAX_AUDIO_UPLOADS,
    User,
    bio_problems,
    display_name_problems,
    email_problems,
    password_problems,
    username_problems,
)

EMAIL_TAKEN = "Email already registered"
USERNAME_TAKEN = "Username already taken"
USER_NOT_FOUND = "User not found"
SEARCH_QUERY_MIN = 2
SEARCH_QUERY_MAX = 100
_CONSTRAINT_MESSAGES = {"uq_users_email_lower": EMAIL_TAKEN, "uq_users_username_lower": USERNAME_TAKEN}


def check_new_account(username: str, email: str, password: str, display_name: str | None) -> None:
    """Every rule a new account breaks, as one 422."""
    problems = Problems()
    problems.check("username", username_problems(username))
    problems.check("email", email_problems(email))
    problems.check("password", password_problems(password))
    problems.check("display_name", display_name_problems(display_name))
    problems.raise_if_any()


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
    ) -> None:
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
        plain = password.reveal(self._decryptor)
        username, email = username.strip(), email.strip()
        check_new_account(username, email, plain, display_name)
        async with self._uow(read_only=True) as uow:
            if await uow.users.get_by_email(email) is not None:
                raise Conflict(EMAIL_TAKEN)
            if await uow.users.get_by_username(username) is not None:
                raise Conflict(USERNAME_TAKEN)
        password_hash = await self._hasher.hash(plain)
        now = self._clock.now()
        user = User(
            username=username,
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            is_superuser=superuser,
            max_audio_uploads=self._default_upload_limit,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._uow() as uow:
                await uow.users.add(user)
                await audit(uow, self._clock, AuditEvent.REGISTER, user_id=user.id, ip=ip)
                await uow.commit()
        except Conflict as exc:  # lost a race with a concurrent registration
            raise Conflict(_CONSTRAINT_MESSAGES.get(exc.constraint or "", EMAIL_TAKEN)) from None
        return user

    async def promote(self, username: str) -> User:
        """Make an existing user an admin (command line only)."""
        async with self._uow() as uow:
            user = await uow.users.get_by_username(username)
            if user is None:
                raise NotFound(USER_NOT_FOUND)
            user.is_superuser = True
            user.updated_at = self._clock.now()
            await audit(uow, self._clock, AuditEvent.ADMIN_ACTION, user_id=user.id, action="promote", via="cli")
            await uow.commit()
        return user

    async def update_profile(self, principal: Principal, *, display_name: Any = UNSET, bio: Any = UNSET) -> User:
        """Change the fields that were sent; ``None`` clears a field, a left-out field stays."""
        problems = Problems()
        if display_name is not UNSET:
            problems.check("display_name", display_name_problems(display_name))
        if bio is not UNSET:
            problems.check("bio", bio_problems(bio))
        problems.raise_if_any()
        async with self._uow() as uow:
            user = await self._own_account(uow, principal)
            changed = []
            if display_name is not UNSET:
                user.display_name = display_name
                changed.append("display_name")
            if bio is not UNSET:
                user.bio = bio
                changed.append("bio")
            if changed:
                user.updated_at = self._clock.now()
                await audit(uow, self._clock, AuditEvent.PROFILE_UPDATED, user_id=user.id, fields=changed)
            await uow.commit()
        return user

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
        text = query.strip()
        problems = Problems()
        if not SEARCH_QUERY_MIN <= len(text) <= SEARCH_QUERY_MAX:
            problems.check("query", [f"Query must be {SEARCH_QUERY_MIN} to {SEARCH_QUERY_MAX} characters"])
        problems.raise_if_any()
        async with self._uow(read_only=True) as uow:
            return await uow.users.search(text, skip=skip, limit=limit)

    async def _own_account(self, uow: UnitOfWork, principal: Principal, *, lock: bool = False) -> User:
        held = await uow.users.hold([principal.user_id])  # a deletion meanwhile: 404, not a lost update
        user = await uow.users.get(principal.user_id, for_update=lock) if held else None
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        return user
