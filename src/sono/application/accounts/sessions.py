"""Sessions: login, token refresh with rotation, a grace window and reuse detection, logout, and
authenticating an access token.

A session is a refresh-token family. Access tokens name their family, so whatever ends a session
(logout, reuse detected) ends its access tokens at once, and whatever ends every session of a user
(password reset, disable, deletion) does so through the user's ``token_version``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sono.application.accounts.messages import (
    Authenticate,
    Login,
    PurgeExpiredSessions,
    Refresh,
    StartSession,
    TokenPair,
)
from sono.application.accounts.ports import (
    AccessClaims,
    PasswordDecryptor,
    PasswordHasher,
    RefreshClaims,
    SessionLookup,
    TokenIssuer,
)
from sono.application.bus import Context, Preparation, handles, prepares
from sono.application.common import Principal, audit
from sono.application.maintenance.gate import MaintenanceGate
from sono.application.ports import Clock
from sono.application.uow import UnitOfWork
from sono.domain.errors import InvalidToken, NotAuthenticated, PermissionDenied, SessionEnded
from sono.domain.gdpr import AuditEvent
from sono.domain.sessions import DEFAULT_REFRESH_GRACE, RefreshFamily, RefreshOutcome
from sono.domain.users import User

INCORRECT_CREDENTIALS = "Incorrect username or password"
INVALID_CREDENTIALS = "Could not validate credentials"
INVALID_REFRESH = "Invalid refresh token"
ACCOUNT_DISABLED = "This account has been deactivated. Please contact support to reactivate your account."


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class _Checked:
    """What a login's preparation found, outside any transaction."""

    user: User | None
    verified: bool
    new_hash: str | None = None


class SessionHandlers:
    """Logging in, refreshing, authenticating a request, and sessions started by an operator."""

    def __init__(
        self,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        decryptor: PasswordDecryptor,
        clock: Clock,
        maintenance: MaintenanceGate,
        sessions: SessionLookup,
        *,
        refresh_grace: timedelta = DEFAULT_REFRESH_GRACE,
    ) -> None:
        self._sessions = sessions
        self._hasher = hasher
        self._tokens = tokens
        self._decryptor = decryptor
        self._clock = clock
        self._maintenance = maintenance
        self._grace = refresh_grace

    @prepares(Login)
    async def check_password(self, command: Login, prep: Preparation) -> _Checked:
        """By username or email, outside any transaction. During maintenance only admins get as
        far as the password check (no password oracle while the service is closed). Unknown
        accounts cost one (dummy) verification too, so the answer takes about as long whether or
        not the account exists."""
        user = await self._sessions.user_by_login(command.login.strip())
        await self._maintenance.enforce(is_admin=user is not None and user.is_superuser)
        plain = command.password.reveal(self._decryptor)
        if user is None:
            await self._hasher.verify_dummy(plain)
            return _Checked(None, False)
        if not await self._hasher.verify(user.password_hash, plain):
            return _Checked(user, False)
        rehash = user.is_active and self._hasher.needs_rehash(user.password_hash)
        return _Checked(user, True, await self._hasher.hash(plain) if rehash else None)

    @handles(Login)
    async def login(self, command: Login, ctx: Context) -> TokenPair:
        """A disabled account is told so only after its password was verified. The only writes are
        the new session and the audit entry (and an upgraded hash); a refusal is audited."""
        checked: _Checked = ctx.prepared
        user, uow = checked.user, ctx.uow
        if user is None or not checked.verified:
            await self._record_failure(uow, user.id if user else None, "bad_credentials")
            ctx.refuse(NotAuthenticated(INCORRECT_CREDENTIALS))
        if not user.is_active:
            await self._record_failure(uow, user.id, "disabled")
            ctx.refuse(PermissionDenied(ACCOUNT_DISABLED))
        assert user.id is not None
        if user.id not in await uow.users.hold([user.id]):  # deleted meanwhile
            raise NotAuthenticated(INCORRECT_CREDENTIALS)
        if checked.new_hash is not None:
            stored = await uow.users.get(user.id, for_update=True)
            if stored is not None and stored.password_hash == user.password_hash:
                stored.password_hash = checked.new_hash
        pair = await self._start_session(uow, user)
        await audit(uow, self._clock, AuditEvent.LOGIN_SUCCESS, user_id=user.id)
        return pair

    async def _record_failure(self, uow: UnitOfWork, user_id: int | None, reason: str) -> None:
        if user_id is not None and user_id not in await uow.users.hold([user_id]):
            user_id = None  # deleted meanwhile
        await audit(uow, self._clock, AuditEvent.LOGIN_FAILURE, user_id=user_id, reason=reason)

    @handles(StartSession)
    async def start_session(self, command: StartSession, ctx: Context) -> TokenPair:
        uow = ctx.uow
        held = command.user_id in await uow.users.hold([command.user_id])
        user = await uow.users.get(command.user_id) if held else None
        if user is None or not user.is_active:
            raise NotAuthenticated(INVALID_CREDENTIALS)
        return await self._start_session(uow, user)

    @prepares(Refresh)
    async def decode_refresh(self, command: Refresh, prep: Preparation) -> RefreshClaims:
        """A malformed, forged or expired token is refused before any transaction."""
        try:
            return self._tokens.decode_refresh(command.refresh_token)
        except NotAuthenticated:
            await self._maintenance.enforce(is_admin=False)
            raise InvalidToken(INVALID_REFRESH) from None

    @handles(Refresh)
    async def refresh(self, command: Refresh, ctx: Context) -> TokenPair:
        """Rotate: the presented token stops working and a new pair is issued. The token rotated
        last stays acceptable for the grace window (the answer is a valid pair of the same
        session); any other already-rotated token is a stolen or replayed one and ends the
        session, its access tokens included. During maintenance only admins refresh."""
        claims: RefreshClaims = ctx.prepared
        now = self._clock.now()
        uow = ctx.uow
        held = await uow.users.hold([claims.user_id])  # before the session and audit refer to it
        family = await uow.families.get(claims.family_id)
        user = await uow.users.get(claims.user_id) if claims.user_id in held else None
        await self._maintenance.enforce(is_admin=user is not None and user.is_superuser)
        if family is None or family.user_id != claims.user_id:
            raise InvalidToken(INVALID_REFRESH)
        if user is None or not user.is_active or user.token_version != claims.token_version:
            raise SessionEnded(INVALID_REFRESH)
        outcome = family.outcome(claims.jti, now, self._grace)
        if outcome == RefreshOutcome.ROTATE:
            new_jti = _new_id()
            if await uow.families.rotate(family.id, claims.jti, new_jti, now):
                family.expires_at = now + timedelta(seconds=self._tokens.refresh_ttl_seconds)
                pair = self._pair(user, family.id, new_jti)
                await audit(uow, self._clock, AuditEvent.TOKEN_REFRESH, user_id=user.id)
                return pair
            outcome = family.outcome(claims.jti, now, self._grace)  # another request rotated it first
        if outcome == RefreshOutcome.GRACE:
            return self._pair(user, family.id, family.current_jti)
        if outcome == RefreshOutcome.REUSE:
            family.revoke(now, "reuse")
            await audit(uow, self._clock, AuditEvent.TOKEN_REUSE, user_id=user.id, family=family.id)
            ctx.refuse(SessionEnded(INVALID_REFRESH))
        raise SessionEnded(INVALID_REFRESH)

    @handles(PurgeExpiredSessions)
    async def purge_expired(self, command: PurgeExpiredSessions, ctx: Context) -> tuple[int, int]:
        now = self._clock.now()
        return await ctx.uow.reset_tokens.delete_expired(now), await ctx.uow.families.delete_expired(now)

    @handles(Authenticate)
    async def authenticate(self, query: Authenticate, ctx: Context) -> Principal:
        """The caller behind a bearer token, from the session lookup alone (no unit of work).
        ``InvalidToken`` when it is malformed, forged or expired; ``SessionEnded`` when it is
        genuine but its session is over (logout, reuse, password reset, disable, deletion)."""
        claims = self._tokens.decode_access(query.access_token)
        user, live = await self._sessions.principal(claims.user_id, claims.family_id, self._clock.now())
        if not live or user is None or not user.is_active or user.token_version != claims.token_version:
            raise SessionEnded(INVALID_CREDENTIALS)
        return Principal(user=user, claims=claims)

    # ------------------------------------------------------------------ helpers

    async def _start_session(self, uow: UnitOfWork, user: User) -> TokenPair:
        assert user.id is not None
        now = self._clock.now()
        family = RefreshFamily(
            id=_new_id(),
            user_id=user.id,
            current_jti=_new_id(),
            created_at=now,
            expires_at=now + timedelta(seconds=self._tokens.refresh_ttl_seconds),
        )
        await uow.families.add(family)
        return self._pair(user, family.id, family.current_jti)

    def _pair(self, user: User, family_id: str, refresh_jti: str) -> TokenPair:
        assert user.id is not None
        now = self._clock.now()
        access = AccessClaims(
            user_id=user.id,
            jti=_new_id(),
            family_id=family_id,
            token_version=user.token_version,
            is_superuser=user.is_superuser,
            expires_at=now + timedelta(seconds=self._tokens.access_ttl_seconds),
        )
        refresh = RefreshClaims(
            user_id=user.id,
            jti=refresh_jti,
            family_id=family_id,
            token_version=user.token_version,
            expires_at=now + timedelta(seconds=self._tokens.refresh_ttl_seconds),
        )
        return TokenPair(
            access_token=self._tokens.issue_access(access),
            refresh_token=self._tokens.issue_refresh(refresh),
            expires_in=self._tokens.access_ttl_seconds,
        )
