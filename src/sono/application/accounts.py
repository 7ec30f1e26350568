"""Accounts: registration, the caller's profile and profile picture, admins from the command line."""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

from sono.application.common import UNSET, PasswordInput, Principal, Problems, audit, delete_objects
from sono.application.ports import (
    Clock,
    MediaInspector,
    ObjectStorage,
    PasswordDecryptor,
    PasswordHasher,
    UnitOfWorkFactory,
)
from sono.domain.errors import Conflict, NotFound
from sono.domain.gdpr import AuditEvent
from sono.domain.users import (
    User,
    bio_problems,
    display_name_problems,
    email_problems,
    password_problems,
    username_problems,
)

EMAIL_TAKEN = "Email already registered"
USERNAME_TAKEN = "Username already taken"
_CONSTRAINT_MESSAGES = {"uq_users_email_lower": EMAIL_TAKEN, "uq_users_username": USERNAME_TAKEN}


def check_new_account(username: str, email: str, password: str, display_name: str | None) -> None:
    """Every rule a new account breaks, as one 422."""
    problems = Problems()
    problems.check(("body", "username"), username_problems(username))
    problems.check(("body", "email"), email_problems(email))
    problems.check(("body", "password"), password_problems(password))
    problems.check(("body", "display_name"), display_name_problems(display_name))
    problems.raise_if_any()


class AccountService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        clock: Clock,
        storage: ObjectStorage,
        media: MediaInspector,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._decryptor = decryptor
        self._clock = clock
        self._storage = storage
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
                raise NotFound("User not found")
            user.is_superuser = True
            user.updated_at = self._clock.now()
            await audit(uow, self._clock, AuditEvent.ADMIN_ACTION, user_id=user.id, action="promote", via="cli")
            await uow.commit()
        return user

    async def update_profile(self, principal: Principal, *, display_name: Any = UNSET, bio: Any = UNSET) -> User:
        """Change the fields that were sent; ``None`` clears a field, a left-out field stays."""
        problems = Problems()
        if display_name is not UNSET:
            problems.check(("body", "display_name"), display_name_problems(display_name))
        if bio is not UNSET:
            problems.check(("body", "bio"), bio_problems(bio))
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
        """Decode and re-encode the image, store it, point the profile at it and remove the old
        picture. A failure leaves neither a new object nor a changed profile behind."""
        processed = await self._media.process_image(image)
        key = f"avatars/{principal.user_id}/{uuid.uuid4().hex}.{processed.extension}"
        await self._storage.put_bytes(key, processed.data, processed.content_type)
        try:
            async with self._uow() as uow:
                user = await self._own_account(uow, principal, lock=True)
                old_key, user.profile_picture_key = user.profile_picture_key, key
                user.updated_at = self._clock.now()
                await uow.commit()
        except BaseException:
            await delete_objects(self._storage, [key])
            raise
        if old_key:
            await delete_objects(self._storage, [old_key])
        return user

    async def picture_url(self, user: User) -> str | None:
        if not user.profile_picture_key:
            return None
        return await self._storage.url(user.profile_picture_key, public=True)

    async def _own_account(self, uow: Any, principal: Principal, *, lock: bool = False) -> User:
        getter = uow.users.get_for_update if lock else uow.users.get
        user = await getter(principal.user_id)
        if user is None:
            raise NotFound("User not found")
        return user
