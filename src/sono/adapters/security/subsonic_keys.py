"""The keys of Subsonic app passwords (the ``SecretSealer`` port), kept outside the database.

- ``lookup``: HMAC-SHA256 of the secret under a key derived from the deployment's secret key
  (``SONO_SECRET_KEY`` or its generated file), so that ``apiKey`` and ``p`` are answered by one
  indexed read and a database dump cannot be checked against guesses.
- ``seal``/``open``: AES-256-GCM under the Subsonic key (``SONO_SUBSONIC_KEY``, 32 bytes as hex or
  base64, shared by every instance; or generated into ``$SONO_DATA_DIR/secrets/subsonic_key``).
  A sealed secret is ``version (1 byte) || nonce (12 bytes) || ciphertext+tag``.

``sono subsonic rotate-key`` re-encrypts every sealed secret under a new key. It writes the new key
to ``subsonic_key.next`` first; while that file exists (a rotation that was interrupted), secrets
open under either key, and running the command again completes the rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sono.adapters.security.secrets import create_private_file, warn_if_exposed
from sono.config import ConfigError

log = logging.getLogger(__name__)

KEY_BYTES = 32
KEY_FILE = "subsonic_key"
NEXT_KEY_FILE = "subsonic_key.next"
_VERSION = b"\x01"
_NONCE_BYTES = 12
_AAD = b"sono/subsonic-app-password/v1"
_LOOKUP_CONTEXT = b"sono/subsonic-lookup/v1"


class AesGcmSecretSealer:
    """The ``SecretSealer`` port. Seals under the first key; opens under any of them."""

    def __init__(self, lookup_key: bytes, keys: Sequence[bytes]) -> None:
        if not keys or any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"a Subsonic key is {KEY_BYTES} bytes")
        if len(lookup_key) < 16:
            raise ValueError("the lookup key is too short")
        self._lookup_key = lookup_key
        self._ciphers = [AESGCM(key) for key in keys]

    @classmethod
    def from_server_secret(cls, server_secret: str, keys: Sequence[bytes]) -> AesGcmSecretSealer:
        """The lookup key derived from the deployment's secret key (a stable, shared value)."""
        lookup_key = hmac.new(server_secret.encode("utf-8"), _LOOKUP_CONTEXT, hashlib.sha256).digest()
        return cls(lookup_key, keys)

    def with_keys(self, keys: Sequence[bytes]) -> AesGcmSecretSealer:
        """The same lookup, other encryption keys (rotation)."""
        return AesGcmSecretSealer(self._lookup_key, keys)

    def lookup(self, secret: str) -> str:
        return hmac.new(self._lookup_key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def seal(self, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._ciphers[0].encrypt(nonce, secret.encode("utf-8"), _AAD)

    def open(self, sealed: bytes) -> str | None:
        sealed = bytes(sealed)
        if len(sealed) <= 1 + _NONCE_BYTES or sealed[:1] != _VERSION:
            return None
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, ciphertext, _AAD).decode("utf-8")
            except (InvalidTag, UnicodeDecodeError):
                continue
        return None

    def __repr__(self) -> str:
        return "AesGcmSecretSealer(***)"


def parse_key(text: str, name: str = "SONO_SUBSONIC_KEY") -> bytes:
    """32 bytes given as 64 hex digits or base64 (standard or URL-safe). ``ConfigError`` otherwise."""
    text = text.strip()
    try:
        if len(text) == 2 * KEY_BYTES and all(c in "0123456789abcdefABCDEF" for c in text):
            key = bytes.fromhex(text)
        else:
            key = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise ConfigError(f"{name} must be {KEY_BYTES} bytes as hex or base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{name} must be {KEY_BYTES} bytes as hex or base64 (got {len(key)} bytes)")
    return key


def format_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the Subsonic key file {path}: {exc}") from None
    warn_if_exposed(path)
    return parse_key(text, str(path))


def load_or_create_keys(secrets_dir: Path) -> list[bytes]:
    """The keys in ``secrets_dir``: ``subsonic_key`` (generated, mode 0600, when missing), then
    the key of an interrupted rotation, if any."""
    path = secrets_dir / KEY_FILE
    if not path.exists() and create_private_file(path, format_key(new_key()).encode("ascii")):
        log.info("generated a new Subsonic key in %s", path)
    keys = [read_key_file(path)]
    pending = secrets_dir / NEXT_KEY_FILE
    if pending.exists():
        log.warning("%s exists: a key rotation was interrupted; run `sono subsonic rotate-key` again", pending)
        keys.append(read_key_file(pending))
    return keys
