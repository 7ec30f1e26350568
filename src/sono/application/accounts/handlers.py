"""Accounts and sessions through the bus: the caller's profile, finding users, promoting an admin,
logging out, checking a reset token. For a user's command the bus has held the caller's row
already (an account deleted meanwhile answers ``SessionEnded``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sono.application.accounts.messages import (
    CheckNewAccount,
    CreateAdmin,
    FileProfilePicture,
    GetMe,
    GetOwnAccount,
    Logout,
    PromoteUser,
    Register,
    SearchUsers,
    SetProfilePicture,
    StageProfilePicture,
    UpdateProfile,
)
from sono.application.accounts.ports import PasswordDecryptor, PasswordHasher, TokenIssuer
from sono.application.accounts.views import UserView, user_view, user_views
from sono.application.bus import Context, Preparation, ProcessContext, handles, prepares
from sono.application.common import audit
from sono.application.media.messages import ForgetPendingObjects
from sono.application.media.service import MediaService
from sono.application.ports import Clock
from sono.application.values import UNSET, Page, Problems
from sono.domain.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied
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
NOT_A_PICTURE = "Not a profile picture of yours"
NOT_YOURS = "Not your account"
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


@dataclass(frozen=True, slots=True)
class _NewAccount:
    """A registration's preparation: the names as kept, and the password's hash."""

    username: str
    email: str
    password_hash: str


class AccountHandlers:
    def __init__(
        self,
        clock: Clock,
        tokens: TokenIssuer,
        hasher: PasswordHasher,
        decryptor: PasswordDecryptor,
        media: MediaService,
        *,
        default_upload_limit: int = DEFAULT_MAX_AUDIO_UPLOADS,
    ) -> None:
        self._media = media
        self._clock = clock
        self._tokens = tokens
        self._hasher = hasher
        self._decryptor = decryptor
        self._default_upload_limit = default_upload_limit  # new accounts' max_audio_uploads

    # ------------------------------------------------------------------ registration

    @prepares(Register)
    async def prepare_registration(self, command: Register, prep: Preparation) -> _NewAccount:
        return await self._new_account(command, prep)

    @prepares(CreateAdmin)
    async def prepare_admin(self, command: CreateAdmin, prep: Preparation) -> _NewAccount:
        return await self._new_account(command, prep)

    async def _new_account(self, command: Register | CreateAdmin, prep: Preparation) -> _NewAccount:
        """The rules, then the names' availability, then the hash (outside any transaction)."""
        plain = command.password.reveal(self._decryptor)
        username, email = command.username.strip(), command.email.strip()
        check_new_account(username, email, plain, command.display_name)
        await prep.ask(CheckNewAccount(username, email))
        return _NewAccount(username, email, await self._hasher.hash(plain))

    @handles(CheckNewAccount)
    async def check_names(self, query: CheckNewAccount, ctx: Context) -> None:
        if await ctx.uow.users.get_by_email(query.email) is not None:
            raise Conflict(EMAIL_TAKEN)
        if await ctx.uow.users.get_by_username(query.username) is not None:
            raise Conflict(USERNAME_TAKEN)

    @handles(Register)
    async def register(self, command: Register, ctx: Context) -> UserView:
        return await user_view(self._media, await self._create(ctx, command.display_name, superuser=False))

    @handles(CreateAdmin)
    async def create_admin(self, command: CreateAdmin, ctx: Context) -> User:
        return await self._create(ctx, command.display_name, superuser=True)

    async def _create(self, ctx: Context, display_name: str | None, *, superuser: bool) -> User:
        new: _NewAccount = ctx.prepared
        now = self._clock.now()
        user = User(
            username=new.username,
            email=new.email,
            password_hash=new.password_hash,
            display_name=display_name,
            is_superuser=superuser,
            max_audio_uploads=self._default_upload_limit,
            created_at=now,
            updated_at=now,
        )
        try:
            await ctx.uow.users.add(user)
        except Conflict as exc:  # lost a race with a concurrent registration
            raise Conflict(_CONSTRAINT_MESSAGES.get(exc.constraint or "", EMAIL_TAKEN)) from None
        await audit(ctx.uow, self._clock, AuditEvent.REGISTER, user_id=user.id)
        return user

    # ------------------------------------------------------------------ the caller's account

    @handles(GetOwnAccount)
    async def own_account(self, query: GetOwnAccount, ctx: Context) -> User:
        user = await ctx.uow.users.get(ctx.actor.id)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        return user

    @handles(GetMe)
    async def me(self, query: GetMe, ctx: Context) -> UserView:
        if query.user.id is None or query.user.id != ctx.actor.user_id:
            raise PermissionDenied(NOT_YOURS)
        return await user_view(self._media, query.user)

    @handles(UpdateProfile)
    async def update_profile(self, command: UpdateProfile, ctx: Context) -> UserView:
        problems = Problems()
        if command.display_name is not UNSET:
            problems.check("display_name", display_name_problems(command.display_name))
        if command.bio is not UNSET:
            problems.check("bio", bio_problems(command.bio))
        problems.raise_if_any()
        user = await ctx.uow.users.get(ctx.actor.id)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        changed = []
        if command.display_name is not UNSET:
            user.display_name = command.display_name
            changed.append("display_name")
        if command.bio is not UNSET:
            user.bio = command.bio
            changed.append("bio")
        if changed:
            user.updated_at = self._clock.now()
            await audit(ctx.uow, self._clock, AuditEvent.PROFILE_UPDATED, user_id=user.id, fields=changed)
        return await user_view(self._media, user)

    @handles(SetProfilePicture)
    async def set_profile_picture(self, process: SetProfilePicture, ctx: ProcessContext) -> UserView:
        """The image processed, its key recorded as pending, the object stored outside any
        transaction, then filed (removed again, and its record forgotten, if it is not)."""
        processed = await self._media.process_image(process.image)
        key = await ctx.send(StageProfilePicture(processed.extension))

        async def discard() -> None:
            await self._media.delete([key])
            await ctx.send(ForgetPendingObjects((key,)))

        ctx.on_failure(discard)
        await self._media.put_image(key, processed)
        return await user_view(self._media, await ctx.send(FileProfilePicture(key)))

    @handles(StageProfilePicture)
    async def stage_picture(self, command: StageProfilePicture, ctx: Context) -> str:
        key = object_key(AVATARS, ctx.actor.id, uuid.uuid4().hex, command.extension)
        await self._media.record_pending(ctx.uow, [key])
        return key

    @handles(FileProfilePicture)
    async def file_picture(self, command: FileProfilePicture, ctx: Context) -> User:
        if not command.key.startswith(object_key(AVATARS, ctx.actor.id, "", "").removesuffix(".")):
            raise PermissionDenied(NOT_A_PICTURE)
        user = await ctx.uow.users.lock_for_change(ctx.actor.id)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        old_key, user.profile_picture_key = user.profile_picture_key, command.key
        user.updated_at = self._clock.now()
        await self._media.settle(ctx.uow, [command.key])
        if old_key:
            await self._media.release(ctx.uow, [old_key])
        return user

    @handles(SearchUsers)
    async def search(self, query: SearchUsers, ctx: Context) -> Page[UserView]:
        text = query.query.strip()
        problems = Problems()
        if not SEARCH_QUERY_MIN <= len(text) <= SEARCH_QUERY_MAX:
            problems.check("query", [f"Query must be {SEARCH_QUERY_MIN} to {SEARCH_QUERY_MAX} characters"])
        problems.raise_if_any()
        page = await ctx.uow.users.search(text, skip=query.skip, limit=query.limit)
        return page.with_items(await user_views(self._media, page.items))

    @handles(PromoteUser)
    async def promote(self, command: PromoteUser, ctx: Context) -> User:
        user = await ctx.uow.users.get_by_username(command.username)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        user.is_superuser = True
        user.updated_at = self._clock.now()
        via = "cli" if ctx.actor.user_id is None else "api"
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            user_id=user.id,
            actor_id=ctx.actor.user_id,
            action="promote",
            via=via,
        )
        return user

    # ------------------------------------------------------------------ sessions

    @handles(Logout)
    async def logout(self, command: Logout, ctx: Context) -> None:
        user_id = ctx.actor.id
        now = self._clock.now()
        families = {command.session_id}
        if command.refresh_token:
            try:
                claims = self._tokens.decode_refresh(command.refresh_token)
            except NotAuthenticated:
                claims = None
            if claims is not None and claims.user_id == user_id:
                families.add(claims.family_id)
        for family_id in sorted(families):
            family = await ctx.uow.families.get(family_id)
            if family is not None and family.user_id == user_id:
                family.revoke(now, "logout")
        await audit(ctx.uow, self._clock, AuditEvent.LOGOUT, user_id=user_id)
