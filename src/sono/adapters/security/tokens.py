"""HS256 JWTs for access and refresh tokens.

Access and refresh tokens are signed with different secrets and carry ``typ``, so neither is ever
accepted as the other. Decoding runs on every request, so it is kept lean: the keys are vetted
once (PyJWT's ``HMACAlgorithm.prepare_key``), signatures are made and checked with PyJWT's
``HMACAlgorithm`` (constant-time comparison), and the compact serialization is parsed strictly
here, with a compiled pattern instead of PyJWT's per-character checks (under half the time of
``jwt.decode``; the tokens are standard JWTs that ``jwt.decode`` accepts and vice versa). The claims
are checked by hand, which also lets a test inject a clock. Verified access tokens are remembered
(a bounded LRU keyed by the token text): a client sends the same token with every request for its
whole life, and only the expiry needs checking again.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from jwt.algorithms import HMACAlgorithm

from sono.application.accounts.ports import AccessClaims, RefreshClaims
from sono.application.ports import Clock
from sono.domain.errors import InvalidToken

_DETAIL = "Could not validate credentials"
_LEEWAY_SECONDS = 5
_MIN_KEY_BYTES = 32  # RFC 7518 3.2: at least the hash size
_MAX_TOKEN_CHARS = 4096
_VERIFIED_CACHE_SIZE = 8192
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_HEADER_B64 = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode("ascii")


class _Invalid(Exception):
    pass


def _b64url_decode(segment: str) -> bytes:
    """Strict unpadded base64url (RFC 7515 2): the alphabet only, canonical trailing bits."""
    if _SEGMENT.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise _Invalid
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment.encode("ascii"):
        raise _Invalid
    return data


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
        self._hs256 = vetting
        self._verified_access = functools.lru_cache(maxsize=_VERIFIED_CACHE_SIZE)(self._verify_access)

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
        """Raises ``InvalidToken`` when the token is malformed, forged, expired or not an access token."""
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
            raise InvalidToken(_DETAIL)
        claims, issued_at, expires = self._verified_access(token)
        self._check_times(issued_at, expires)
        return claims

    def decode_refresh(self, token: str) -> RefreshClaims:
        """Raises ``InvalidToken`` likewise."""
        payload = self._verified_payload(token, self._refresh_key, "refresh")
        self._check_times(payload["iat"], payload["exp"])
        user_id, jti, family_id, version, expires_at = self._common(payload)
        return RefreshClaims(
            user_id=user_id, jti=jti, family_id=family_id, token_version=version, expires_at=expires_at
        )

    # ------------------------------------------------------------------ internals

    def _verify_access(self, token: str) -> tuple[AccessClaims, int, int]:
        """Everything about an access token but the time checks (cached: it is pure)."""
        payload = self._verified_payload(token, self._access_key, "access")
        adm = payload.get("adm")
        if not isinstance(adm, bool):
            raise InvalidToken(_DETAIL)
        user_id, jti, family_id, version, expires_at = self._common(payload)
        claims = AccessClaims(
            user_id=user_id,
            jti=jti,
            family_id=family_id,
            token_version=version,
            is_superuser=adm,
            expires_at=expires_at,
        )
        return claims, payload["iat"], payload["exp"]

    def _now(self) -> float:
        return self._clock.now().timestamp() if self._clock is not None else time.time()

    def _encode(self, payload: dict[str, Any], key: bytes) -> str:
        body = _b64url_encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        signing_input = f"{_HEADER_B64}.{body}"
        signature = self._hs256.sign(signing_input.encode("ascii"), key)
        return f"{signing_input}.{_b64url_encode(signature)}"

    def _verified_payload(self, token: str, key: bytes, typ: str) -> dict[str, Any]:
        """The claims of a well-formed token with a valid signature, of the given type and issuer,
        with integer ``iat``/``exp`` (not yet compared with the clock)."""
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
            raise InvalidToken(_DETAIL)
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            signature = _b64url_decode(signature_b64)
            header = json.loads(_b64url_decode(header_b64))
            if not isinstance(header, dict) or header.get("alg") != "HS256" or "crit" in header:
                raise _Invalid
            if not self._hs256.verify(f"{header_b64}.{payload_b64}".encode("ascii"), key, signature):
                raise _Invalid
            payload = json.loads(_b64url_decode(payload_b64))
        except (_Invalid, ValueError, TypeError, binascii.Error, RecursionError):
            raise InvalidToken(_DETAIL) from None
        if not isinstance(payload, dict) or payload.get("typ") != typ or payload.get("iss") != self._issuer:
            raise InvalidToken(_DETAIL)
        exp, iat = payload.get("exp"), payload.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp, bool) or isinstance(iat, bool):
            raise InvalidToken(_DETAIL)
        return payload

    def _check_times(self, issued_at: int, expires: int) -> None:
        now = self._now()
        if expires <= now - self._leeway or issued_at > now + self._leeway:
            raise InvalidToken(_DETAIL)

    @staticmethod
    def _common(payload: dict[str, Any]) -> tuple[int, str, str, int, datetime]:
        sub, jti, fam, ver = payload.get("sub"), payload.get("jti"), payload.get("fam"), payload.get("ver")
        if not isinstance(sub, str) or not isinstance(jti, str) or not jti or not isinstance(fam, str) or not fam:
            raise InvalidToken(_DETAIL)
        if not isinstance(ver, int) or isinstance(ver, bool):
            raise InvalidToken(_DETAIL)
        try:
            user_id = int(sub)
        except ValueError:
            raise InvalidToken(_DETAIL) from None
        if str(user_id) != sub:
            raise InvalidToken(_DETAIL)
        try:
            expires_at = datetime.fromtimestamp(payload["exp"], UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidToken(_DETAIL) from None
        return user_id, jti, fam, ver, expires_at
