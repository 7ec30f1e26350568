"""Security adapters: Argon2id password hashing, JWTs, the RSA key pair, generated secrets."""

from sono.adapters.security.passwords import Argon2PasswordHasher
from sono.adapters.security.rsa_keys import (
    RsaPasswordDecryptor,
    encrypt_password,
    load_or_create_private_key,
    load_private_key,
)
from sono.adapters.security.secrets import load_or_create_secret
from sono.adapters.security.tokens import JwtTokenIssuer

__all__ = [
    "Argon2PasswordHasher",
    "JwtTokenIssuer",
    "RsaPasswordDecryptor",
    "encrypt_password",
    "load_or_create_private_key",
    "load_or_create_secret",
    "load_private_key",
]
