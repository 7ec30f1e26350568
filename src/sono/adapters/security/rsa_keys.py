"""The deployment's RSA key pair for client-side password encryption (RSA-OAEP-256).

Clients encrypt the UTF-8 password with RSA-OAEP, MGF1(SHA-256), SHA-256, no label, and send it
base64. OAEP limits the plaintext to ``key_bytes - 66`` bytes: 446 UTF-8 bytes with the default
4096-bit key, enough for any password of the maximum 128 characters taken from the Basic
Multilingual Plane (at most 3 UTF-8 bytes each: Latin, Cyrillic, Greek, CJK...); 128 emoji (4 bytes
each) do not fit. Keys generated before (3072 bits: 318 bytes) keep working as they are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sono.adapters.security.secrets import create_private_file, warn_if_exposed
from sono.config import ConfigError
from sono.domain.errors import BadRequest

log = logging.getLogger(__name__)

DEFAULT_KEY_SIZE = 4096
MIN_KEY_SIZE = 2048
_INVALID = "Invalid encrypted password"
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_URLSAFE = str.maketrans("-_", "+/")


class RsaPasswordDecryptor:
    """The ``PasswordDecryptor`` port."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        if private_key.key_size < MIN_KEY_SIZE:
            raise ValueError(f"the RSA key must have at least {MIN_KEY_SIZE} bits")
        self._key = private_key
        self._ciphertext_bytes = (private_key.key_size + 7) // 8
        self._max_b64_chars = 2 * ((self._ciphertext_bytes + 2) // 3 * 4)  # generous: whitespace
        public = private_key.public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.key_id: str = hashlib.sha256(der).hexdigest()[:16]
        self.public_key_pem: str = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        self.max_plaintext_bytes = self._ciphertext_bytes - 2 * hashes.SHA256.digest_size - 2

    def decrypt(self, ciphertext_b64: str) -> str:
        """Raises ``BadRequest("Invalid encrypted password")`` when it does not decrypt."""
        if not isinstance(ciphertext_b64, str) or len(ciphertext_b64) > self._max_b64_chars:
            raise BadRequest(_INVALID)
        try:
            text = "".join(ciphertext_b64.split()).translate(_URLSAFE).rstrip("=")
            ciphertext = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
            if len(ciphertext) != self._ciphertext_bytes:
                raise ValueError("wrong length")
            return self._key.decrypt(ciphertext, _OAEP).decode("utf-8")
        except (ValueError, TypeError, binascii.Error):
            raise BadRequest(_INVALID) from None


def encrypt_password(public_key_pem: str, password: str) -> str:
    """Encrypt like a client does (RSA-OAEP-256, standard base64). For tests and tools."""
    public = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    plaintext = password.encode("utf-8")
    limit = (public.key_size + 7) // 8 - 2 * hashes.SHA256.digest_size - 2
    if len(plaintext) > limit:
        raise ValueError(f"the password is too long for this key: {len(plaintext)} UTF-8 bytes, at most {limit}")
    return base64.b64encode(public.encrypt(plaintext, _OAEP)).decode("ascii")


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """Load an unencrypted RSA private key (PEM PKCS#8 or PKCS#1, or DER).

    Raises ``ConfigError`` naming the file when it is unreadable or not a usable RSA key.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the RSA private key file {path}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except TypeError:
        raise ConfigError(f"the RSA private key file {path} is encrypted; provide an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"the RSA private key file {path} does not hold a valid private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"the private key in {path} is not an RSA key")
    if key.key_size < MIN_KEY_SIZE:
        raise ConfigError(f"the RSA key in {path} has {key.key_size} bits; at least {MIN_KEY_SIZE} are required")
    warn_if_exposed(path)
    return key


def load_or_create_private_key(path: Path, key_size: int = DEFAULT_KEY_SIZE) -> rsa.RSAPrivateKey:
    """Load the key in ``path``, generating and saving one (PEM PKCS#8, mode 0600) when missing.

    Concurrent first starts agree on one key: whoever publishes the file first wins and the
    others load it.
    """
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        if create_private_file(path, pem):
            log.info("generated a new %d-bit RSA key pair in %s", key_size, path)
            return key
    return load_private_key(path)
