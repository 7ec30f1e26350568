"""Signed, expiring URLs for the API's own media route (local storage).

A private object's URL is ``<base_url><media_path>/<key>?expires=<unix>&signature=<hex>`` where
the signature is HMAC-SHA256 over a version tag, the key and the expiry. The media route checks it
with ``verify_media_signature`` before serving the bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import string
import time
from urllib.parse import quote

_TAG = b"sono-media-url-v1"
_HEX = frozenset(string.hexdigits.lower())
_MAX_EXPIRES_DIGITS = 12


def derive_media_signing_key(secret: str | bytes) -> bytes:
    """A key for media URLs derived from the application secret, so that leaking one kind of
    signature never helps forge another (e.g. derive it from ``Settings.secret_key``)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"sono media url signing key", hashlib.sha256).digest()


def media_signature(key: str, expires: int, *, signing_key: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``key`` valid until the unix time ``expires``."""
    message = b"\n".join((_TAG, key.encode("utf-8", "surrogatepass"), str(int(expires)).encode()))
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def media_url(base: str, key: str) -> str:
    """``base`` (``<base_url><media_path>``) joined with the percent-encoded key."""
    return f"{base}/{quote(key, safe='/')}"


def verify_media_signature(
    key: str, expires: str | int | None, signature: str | None, now: float | None = None, *, signing_key: bytes
) -> bool:
    """True when ``signature`` is the valid signature of ``key`` and ``expires`` (the raw query
    values are accepted as given) and ``now`` (unix time, default the current time) is not past
    ``expires``. Never raises for malformed input; the comparison is constant-time."""
    if expires is None or signature is None:
        return False
    if isinstance(expires, str):
        if not expires.isascii() or not expires.isdigit() or len(expires) > _MAX_EXPIRES_DIGITS:
            return False
        expires = int(expires)
    if isinstance(expires, bool) or not isinstance(expires, int) or expires < 0:
        return False
    signature = signature.lower()
    if len(signature) != 64 or not set(signature) <= _HEX:
        return False
    expected = media_signature(key, expires, signing_key=signing_key)
    if not hmac.compare_digest(expected, signature):
        return False
    return (time.time() if now is None else now) <= expires


class HmacUrlSigner:
    """The ``UrlSigner`` port: HMAC-SHA256 signatures of media URLs with one secret key."""

    def __init__(self, signing_key: bytes) -> None:
        if not signing_key:
            raise ValueError("signing_key must not be empty")
        self._key = signing_key

    def sign(self, key: str, expires_at: int) -> str:
        return media_signature(key, expires_at, signing_key=self._key)

    def verify(self, key: str, expires_at: str | None, signature: str | None, now: float) -> bool:
        return verify_media_signature(key, expires_at, signature, now, signing_key=self._key)
