"""HS256 JWTs for access and refresh tokens (PyJWT).

Access and refresh tokens are signed with different secrets and carry ``typ``, so neither is ever
accepted as the other. Decoding runs on every request: the keys are validated once here and a
single ``PyJWS`` instance verifies signatures; the claims are checked by hand (which also lets a
test inject a clock).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from sono.application.ports import AccessClaims, Clock, RefreshClaims
from sono.domain.errors import NotAuthenticated

_ALGORITHM = "HS256"
_ALGORITHMS = [_ALGORITHM]
_DETAIL = "Could not validate credentials"
_LEEWAY_SECONDS = 5
_MIN_KEY_BYTES = 32  # RFC 7518 3.2: at least the hash size


class _PreparedHS256(HMACAlgorithm):
    """HS256 that skips PyJWT's per-call key vetting for the keys this issuer prepared itself."""

    def __init__(self, prepared: tuple[bytes, ...]) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._prepared = prepared

    def prepare_key(self, key: str | bytes) -> bytes:
        if isinstance(key, bytes) and any(key is k for k in self._prepared):
            return key
        return super().prepare_key(key)


class JwtTokenIssuer:
    """The ``TokenIssuer`` port."""

    def __init__(
        self,
        secret_key: str,
        refresh_secret_key: str,
        access_ttl_seconds: int,
        refresh_ttl_seconds: int,
        issuer: str = "sono",
        *,
        clock: Clock | None = None,
        leeway_seconds: int = _LEEWAY_SECONDS,
    ) -> None:
        if not secret_key or not refresh_secret_key:
            raise ValueError("JWT secrets must not be empty")
        if secret_key == refresh_secret_key:
            raise ValueError("the access and refresh secrets must differ")
        vetting = HMACAlgorithm(HMACAlgorithm.SHA256)
        self._access_key: bytes = vetting.prepare_key(secret_key)
        self._refresh_key: bytes = vetting.prepare_key(refresh_secret_key)
        if min(len(self._access_key), len(self._refresh_key)) < _MIN_KEY_BYTES:
            raise ValueError(f"JWT secrets must be at least {_MIN_KEY_BYTES} bytes")
        self.access_ttl_seconds = access_ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds
        self._issuer = issuer
        self._clock = clock
        self._leeway = leeway_seconds
        self._jws = jwt.PyJWS(algorithms=[])
        self._jws.register_algorithm(_ALGORITHM, _PreparedHS256((self._access_key, self._refresh_key)))

    # ------------------------------------------------------------------ issue

    def issue_access(self, claims: AccessClaims) -> str:
        payload = {
            "sub": str(claims.user_id),
            "jti": claims.jti,
            "fam": claims.family_id,
            "ver": claims.token_version,
            "adm": bool(claims.is_superuser),
            "typ": "access",
            "iat": int(self._now()),
            "exp": int(claims.expires_at.timestamp()),
            "iss": self._issuer,
        }
        return self._encode(payload, self._access_key)

    def issue_refresh(self, claims: RefreshClaims) -> str:
        payload = {
            "sub": str(claims.user_id),
            "jti": claims.jti,
            "fam": claims.family_id,
            "ver": claims.token_version,
            "typ": "refresh",
            "iat": int(self._now()),
            "exp": int(claims.expires_at.timestamp()),
            "iss": self._issuer,
        }
        return self._encode(payload, self._refresh_key)

    # ------------------------------------------------------------------ decode

    def decode_access(self, token: str) -> AccessClaims:
        """Raises ``NotAuthenticated`` when the token is malformed, forged, expired or not an access token."""
        payload = self._decode(token, self._access_key, "access")
        adm = payload.get("adm")
        if not isinstance(adm, bool):
            raise NotAuthenticated(_DETAIL)
        user_id, jti, family_id, version, expires_at = self._common(payload)
        return AccessClaims(
            user_id=user_id,
            jti=jti,
            family_id=family_id,
            token_version=version,
            is_superuser=adm,
            expires_at=expires_at,
        )

    def decode_refresh(self, token: str) -> RefreshClaims:
        """Raises ``NotAuthenticated`` likewise."""
        payload = self._decode(token, self._refresh_key, "refresh")
        user_id, jti, family_id, version, expires_at = self._common(payload)
        return RefreshClaims(
            user_id=user_id, jti=jti, family_id=family_id, token_version=version, expires_at=expires_at
        )

    # ------------------------------------------------------------------ internals

    def _now(self) -> float:
        return self._clock.now().timestamp() if self._clock is not None else time.time()

    def _encode(self, payload: dict[str, Any], key: bytes) -> str:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self._jws.encode(body, key, algorithm=_ALGORITHM)

    def _decode(self, token: str, key: bytes, typ: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise NotAuthenticated(_DETAIL)
        try:
            decoded = self._jws.decode_complete(token, key, algorithms=_ALGORITHMS)
            payload = json.loads(decoded["payload"])
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
            raise NotAuthenticated(_DETAIL) from None
        if not isinstance(payload, dict) or payload.get("typ") != typ or payload.get("iss") != self._issuer:
            raise NotAuthenticated(_DETAIL)
        exp, iat = payload.get("exp"), payload.get("iat")
        if not _is_int(exp) or not _is_int(iat):
            raise NotAuthenticated(_DETAIL)
        now = self._now()
        if exp <= now - self._leeway or iat > now + self._leeway:
            raise NotAuthenticated(_DETAIL)
        return payload

    @staticmethod
    def _common(payload: dict[str, Any]) -> tuple[int, str, str, int, datetime]:
        sub, jti, fam, ver = payload.get("sub"), payload.get("jti"), payload.get("fam"), payload.get("ver")
        if not isinstance(sub, str) or not isinstance(jti, str) or not jti or not isinstance(fam, str) or not fam:
            raise NotAuthenticated(_DETAIL)
        if not _is_int(ver):
            raise NotAuthenticated(_DETAIL)
        try:
            user_id = int(sub)
        except ValueError:
            raise NotAuthenticated(_DETAIL) from None
        if str(user_id) != sub:
            raise NotAuthenticated(_DETAIL)
        try:
            expires_at = datetime.fromtimestamp(payload["exp"], UTC)
        except (OverflowError, OSError, ValueError):
            raise NotAuthenticated(_DETAIL) from None
        return user_id, jti, fam, ver, expires_at


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
