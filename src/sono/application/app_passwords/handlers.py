"""Subsonic app passwords: users make, list and revoke them (admins too, for any user), and a
player authenticates with one.

Authentication never runs Argon2 and never accepts the account password: it reads the candidate
credentials in one indexed read (by the keyed ``lookup`` for ``apiKey`` and ``p``; the user and
their at most ten credentials for ``t``/``s``), checks in microseconds, and re-checks that the user
is active every time. The last use is written at most once a minute per credential, after the
read, in a short writing unit of work of its own.
"""

from __future__ import annotations

from sono.application.app_passwords.messages import (
    ApiKeyCredential,
    AppPasswordView,
    AuthenticateAppPassword,
    CreateAppPassword,
    CreatedAppPassword,
    ListAppPasswords,
    ListUserAppPasswords,
    PasswordCredential,
    RevokeAppPassword,
    RevokeUserAppPassword,
    TokenCredential,
)
from sono.application.app_passwords.ports import SecretSealer
from sono.application.bus import Context, handles
from sono.application.common import audit
from sono.application.messages import Actor, Via
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork, UnitOfWorkFactory
from sono.domain.app_passwords import (
    APP_PASSWORD_NOT_FOUND,
    LIMIT_REACHED,
    MAX_PER_USER,
    NAME_TAKEN,
    AppPassword,
    AppPasswordRefused,
    Refusal,
    UseDue,
    clean_name,
    could_be_username,
    hint_of,
    matching_token,
    name_problem,
    new_secret,
)
from sono.domain.errors import BadRequest, Conflict, NotFound, ValidationFailed
from sono.domain.gdpr import AuditEvent
from sono.domain.users import User, normalize_username

USER_NOT_FOUND = "User not found"


def view_of(credential: AppPassword) -> AppPasswordView:
    assert credential.id is not None
    return AppPasswordView(
        id=credential.id,
        name=credential.name,
        created_at=credential.created_at,
        last_used_at=credential.last_used_at,
        last_client=credential.last_client,
        hint=credential.hint,
    )


class AppPasswordHandlers:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, sealer: SecretSealer, *, token_auth: bool = True) -> None:
        self._uow = uow  # only to record a use after a read-only authentication
        self._clock = clock
        self._sealer = sealer
        self._token_auth = token_auth

    # ------------------------------------------------------------------ the owner

    @handles(CreateAppPassword)
    async def create(self, command: CreateAppPassword, ctx: Context) -> CreatedAppPassword:
        name = clean_name(command.label)
        problem = name_problem(name)
        if problem is not None:
            raise ValidationFailed.single("name", problem)
        user_id = ctx.actor.id
        if not await ctx.uow.app_passwords.lock_owner(user_id):  # creations for one user queue here
            raise NotFound(USER_NOT_FOUND)
        existing = await ctx.uow.app_passwords.list_for_user(user_id)
        if any(c.name == name for c in existing):
            raise Conflict(NAME_TAKEN)
        if len(existing) >= MAX_PER_USER:
            raise BadRequest(LIMIT_REACHED)
        secret = new_secret()
        credential = AppPassword(
            id=None,
            user_id=user_id,
            name=name,
            lookup=self._sealer.lookup(secret),
            sealed_secret=self._sealer.seal(secret) if self._token_auth else None,
            hint=hint_of(secret),
            created_at=self._clock.now(),
        )
        try:
            await ctx.uow.app_passwords.add(credential)
        except Conflict:
            raise Conflict(NAME_TAKEN) from None
        return CreatedAppPassword(view_of(credential), secret)

    @handles(ListAppPasswords)
    async def list_own(self, query: ListAppPasswords, ctx: Context) -> list[AppPasswordView]:
        return [view_of(c) for c in await ctx.uow.app_passwords.list_for_user(ctx.actor.id)]

    @handles(RevokeAppPassword)
    async def revoke(self, command: RevokeAppPassword, ctx: Context) -> None:
        credential = await _existing(ctx.uow, ctx.actor.id, command.credential_id)
        await ctx.uow.app_passwords.delete(credential)

    # ------------------------------------------------------------------ admins

    @handles(ListUserAppPasswords)
    async def list_for_user(self, query: ListUserAppPasswords, ctx: Context) -> list[AppPasswordView]:
        await _user(ctx.uow, query.user_id)
        return [view_of(c) for c in await ctx.uow.app_passwords.list_for_user(query.user_id)]

    @handles(RevokeUserAppPassword)
    async def revoke_for_user(self, command: RevokeUserAppPassword, ctx: Context) -> None:
        if command.user_id not in await ctx.uow.users.hold([command.user_id]):
            raise NotFound(USER_NOT_FOUND)
        credential = await _existing(ctx.uow, command.user_id, command.credential_id)
        await ctx.uow.app_passwords.delete(credential)
        await audit(
            ctx.uow,
            self._clock,
            AuditEvent.ADMIN_ACTION,
            user_id=command.user_id,
            actor_id=ctx.actor.user_id,
            action="revoke_app_password",
            credential_id=command.credential_id,
            name=credential.name,
        )

    # ------------------------------------------------------------------ players

    @handles(AuthenticateAppPassword)
    async def authenticate(self, query: AuthenticateAppPassword, ctx: Context) -> Actor:
        presented = query.credential
        if isinstance(presented, ApiKeyCredential):
            found = await ctx.uow.app_passwords.by_lookup(self._sealer.lookup(presented.key))
            if found is None or not found[1].is_active:
                raise AppPasswordRefused(Refusal.INVALID_API_KEY)
            credential, user = found
        elif isinstance(presented, PasswordCredential):
            found = await ctx.uow.app_passwords.by_lookup(self._sealer.lookup(presented.password))
            if found is None or not _is(found[1], presented.username) or not found[1].is_active:
                raise AppPasswordRefused(Refusal.WRONG_CREDENTIALS)
            credential, user = found
        elif isinstance(presented, TokenCredential):
            credential, user = await self._by_token(ctx.uow, presented)
        else:  # pragma: no cover - the message's type says which
            raise AppPasswordRefused(Refusal.WRONG_CREDENTIALS)
        assert user.id is not None and credential.id is not None
        due = UseDue(self._clock.now())
        if due.matches(credential):
            credential_id, client = credential.id, query.client

            async def record() -> None:
                async with self._uow() as uow:
                    await uow.app_passwords.record_use(credential_id, due, client)
                    await uow.commit()

            ctx.after_commit(record)
        return Actor.user(user.id, is_admin=user.is_superuser, via=Via.APP_PASSWORD)

    async def _by_token(self, uow: UnitOfWork, presented: TokenCredential) -> tuple[AppPassword, User]:
        if not self._token_auth:
            raise AppPasswordRefused(Refusal.TOKEN_AUTH_DISABLED)
        found = (
            await uow.app_passwords.for_username(presented.username) if could_be_username(presented.username) else None
        )
        user, credentials = found if found is not None else (None, [])
        candidates: list[tuple[AppPassword, str]] = []
        for credential in credentials:
            secret = self._sealer.open(credential.sealed_secret) if credential.sealed_secret is not None else None
            if secret is not None:
                candidates.append((credential, secret))
        index = matching_token(presented.token, presented.salt, [secret for _, secret in candidates])
        if user is None or index is None or not user.is_active:
            raise AppPasswordRefused(Refusal.WRONG_CREDENTIALS)
        return candidates[index][0], user


def _is(user: User, username: str) -> bool:
    return normalize_username(user.username) == normalize_username(username)


async def _user(uow: UnitOfWork, user_id: int) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


async def _existing(uow: UnitOfWork, user_id: int, credential_id: int) -> AppPassword:
    credential = await uow.app_passwords.get(user_id, credential_id)
    if credential is None:
        raise NotFound(APP_PASSWORD_NOT_FOUND)
    return credential
