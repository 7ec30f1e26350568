"""Sessions: login, token refresh with rotation and reuse detection, logout, and authenticating
an access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sono.application.common import PasswordInput, Principal, audit
from sono.application.ports import (
    AccessClaims,
    Clock,
    MaintenanceStore,
    PasswordDecryptor,
    PasswordHasher,
    RefreshClaims,
    SessionLookup,
    TokenIssuer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from sono.domain.errors import MaintenanceActive, NotAuthenticated, PermissionDenied
from sono.domain.gdpr import AuditEvent
from sono.domain.sessions import RefreshFamily, RevokedToken
from sono.domain.users import User

INCORRECT_CREDENTIALS = "Incorrect username or password"
INVALID_CREDENTIALS = "Could not validate credentials"
INVALID_REFRESH = "Invalid refresh token"
ACCOUNT_DISABLED = "Account is disabled"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


def _new_id() -> str:
    return uuid.uuid4().hex


class AuthService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        decryptor: PasswordDecryptor,
        clock: Clock,
        maintenance: MaintenanceStore,
        sessions: SessionLookup,
    ) -> None:
        self._uow = uow
        self._sessions = sessions
        self._hasher = hasher
        self._tokens = tokens
        self._decryptor = decryptor
        self._clock = clock
        self._maintenance = maintenance

    async def login(self, login: str, password: PasswordInput, *, ip: str | None = None) -> TokenPair:
        """By username or email. Unknown accounts cost one (dummy) verification too, so the answer
        takes about as long whether or not the account exists. Hashing happens outside any
        transaction; the only write is the new session (and the upgraded hash, if any)."""
        plain = password.reveal(self._decryptor)
        user = await self._sessions.user_by_login(login.strip())
        if user is None:
            await self._hasher.verify_dummy(plain)
        if user is None or not await self._hasher.verify(user.password_hash, plain):
            await self._record_failure(user.id if user else None, ip, "bad_credentials")
            raise NotAuthenticated(INCORRECT_CREDENTIALS)
        if not user.is_active:
            await self._record_failure(user.id, ip, "disabled")
            raise PermissionDenied(ACCOUNT_DISABLED)
        if not user.is_superuser:
            state = await self._maintenance.get()
            if state.enabled:
                raise MaintenanceActive(state.message)
        new_hash = await self._hasher.hash(plain) if self._hasher.needs_rehash(user.password_hash) else None
        async with self._uow() as uow:
            if new_hash is not None:
                stored = await uow.users.get_for_update(user.id)  # type: ignore[arg-type]
                if stored is not None and stored.password_hash == user.password_hash:
                    stored.password_hash = new_hash
            pair = await self._start_session(uow, user)
            await audit(uow, self._clock, AuditEvent.LOGIN_SUCCESS, user_id=user.id, ip=ip)
            await uow.commit()
        return pair

    async def _record_failure(self, user_id: int | None, ip: str | None, reason: str) -> None:
        async with self._uow() as uow:
            await audit(uow, self._clock, AuditEvent.LOGIN_FAILURE, user_id=user_id, ip=ip, reason=reason)
            await uow.commit()

    async def issue_session(self, user_id: int) -> TokenPair:
        """Start a session for an existing user without a password (operator tooling, tests)."""
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None or not user.is_active:
                raise NotAuthenticated(INVALID_CREDENTIALS)
            pair = await self._start_session(uow, user)
            await uow.commit()
        return pair

    async def refresh(self, refresh_token: str, *, ip: str | None = None) -> TokenPair:
        """Rotate: the presented token stops working and a new pair is issued. A token that was
        already rotated is a stolen or replayed one: the whole family is revoked."""
        claims = self._decode_refresh(refresh_token)
        now = self._clock.now()
        async with self._uow() as uow:
            family = await uow.families.get(claims.family_id)
            if family is None or family.user_id != claims.user_id or family.is_revoked:
                raise NotAuthenticated(INVALID_REFRESH)
            user = await uow.users.get(claims.user_id)
            if user is None or not user.is_active or user.token_version != claims.token_version:
                raise NotAuthenticated(INVALID_REFRESH)
            new_jti = _new_id()
            rotated = family.current_jti == claims.jti and await uow.families.rotate(
                family.id, claims.jti, new_jti, now
            )
            if not rotated:
                family.revoke(now, "reuse")
                await audit(uow, self._clock, AuditEvent.TOKEN_REUSE, user_id=user.id, ip=ip, family=family.id)
                await uow.commit()
                raise NotAuthenticated(INVALID_REFRESH)
            family.expires_at = now + timedelta(seconds=self._tokens.refresh_ttl_seconds)
            pair = self._pair(user, family.id, new_jti)
            await audit(uow, self._clock, AuditEvent.TOKEN_REFRESH, user_id=user.id, ip=ip)
            await uow.commit()
        return pair

    async def logout(self, principal: Principal, refresh_token: str | None, *, ip: str | None = None) -> None:
        """End this session: its access token and its refresh-token family stop working. Logging
        out is idempotent; a refresh token of another session of the same user ends that too."""
        now = self._clock.now()
        families = {principal.claims.family_id}
        if refresh_token:
            try:
                claims = self._tokens.decode_refresh(refresh_token)
            except NotAuthenticated:
                claims = None
            if claims is not None and claims.user_id == principal.user_id:
                families.add(claims.family_id)
        async with self._uow() as uow:
            await uow.revoked_tokens.add(
                RevokedToken(principal.claims.jti, principal.claims.expires_at, principal.user_id)
            )
            for family_id in sorted(families):
                family = await uow.families.get(family_id)
                if family is not None and family.user_id == principal.user_id:
                    family.revoke(now, "logout")
            await audit(uow, self._clock, AuditEvent.LOGOUT, user_id=principal.user_id, ip=ip)
            await uow.commit()

    async def authenticate(self, access_token: str) -> Principal:
        """The caller behind a bearer token, or ``NotAuthenticated``. Checks signature and expiry,
        logout (revoked jti), and that the account is still active with the same session version
        (a password reset, disable or deletion bumps it)."""
        claims = self._tokens.decode_access(access_token)
        user, revoked = await self._sessions.principal(claims.user_id, claims.jti)
        if revoked or user is None or not user.is_active or user.token_version != claims.token_version:
            raise NotAuthenticated(INVALID_CREDENTIALS)
        return Principal(user=user, claims=claims)

    # ------------------------------------------------------------------ helpers

    def _decode_refresh(self, token: str) -> RefreshClaims:
        try:
            return self._tokens.decode_refresh(token)
        except NotAuthenticated:
            raise NotAuthenticated(INVALID_REFRESH) from None

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
