"""The keys of Subsonic app passwords: the AES-GCM sealer and HMAC lookup, the key file, and
``sono subsonic rotate-key`` (key in secrets/ and key in ``SONO_SUBSONIC_KEY``), on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from pathlib import Path

import pytest

from sono.adapters.security.subsonic_keys import (
    KEY_FILE,
    NEXT_KEY_FILE,
    AesGcmSecretSealer,
    load_or_create_keys,
    new_key,
    parse_key,
    read_key_file,
)
from sono.application.accounts.messages import Register
from sono.application.app_passwords.messages import (
    AppPasswordRefused,
    AuthenticateAppPassword,
    CreateAppPassword,
    TokenCredential,
)
from sono.application.common import PasswordInput
from sono.application.messages import ANONYMOUS, Actor
from sono.config import ConfigError, load_settings
from sono.domain.app_passwords import token_for
from tests.integration.test_cli import Sono, database_url, migrated, sono  # noqa: F401

SERVER_SECRET = "s" * 48


def _sealer(*keys: bytes) -> AesGcmSecretSealer:
    return AesGcmSecretSealer.from_server_secret(SERVER_SECRET, list(keys))


def test_a_sealed_secret_opens_under_its_key_only() -> None:
    key, other = new_key(), new_key()
    sealed = _sealer(key).seal("Abc123")
    assert b"Abc123" not in sealed
    assert _sealer(key).seal("Abc123") != sealed  # a fresh nonce each time
    assert _sealer(key).open(sealed) == "Abc123"
    assert _sealer(other).open(sealed) is None
    assert _sealer(other, key).open(sealed) == "Abc123"  # a rotation in progress opens either
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    assert _sealer(key).open(tampered) is None
    assert _sealer(key).open(b"") is None and _sealer(key).open(b"\x02" + sealed[1:]) is None
    assert "***" in repr(_sealer(key))


def test_the_lookup_is_keyed_and_independent_of_the_encryption_key() -> None:
    assert _sealer(new_key()).lookup("secret") == _sealer(new_key()).lookup("secret")
    assert len(_sealer(new_key()).lookup("secret")) == 64
    other_server = AesGcmSecretSealer.from_server_secret("t" * 48, [new_key()])
    assert other_server.lookup("secret") != _sealer(new_key()).lookup("secret")
    assert _sealer(new_key()).lookup("secret") != _sealer(new_key()).lookup("secreT")


def test_keys_are_32_bytes_as_hex_or_base64() -> None:
    key = new_key()
    assert parse_key(key.hex()) == key
    assert parse_key(base64.b64encode(key).decode()) == key
    assert parse_key(base64.urlsafe_b64encode(key).decode().rstrip("=")) == key
    for bad in ("", "short", base64.b64encode(b"x" * 16).decode(), "zz" * 32, "é" * 44):
        with pytest.raises(ConfigError, match="32 bytes"):
            parse_key(bad)


def test_the_key_file_is_created_private_and_kept(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    first = load_or_create_keys(secrets_dir)
    path = secrets_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert load_or_create_keys(secrets_dir) == first and len(first) == 1
    (secrets_dir / NEXT_KEY_FILE).write_text(new_key().hex())
    assert load_or_create_keys(secrets_dir)[0] == first[0] and len(load_or_create_keys(secrets_dir)) == 2
    path.write_text("garbage")
    with pytest.raises(ConfigError):
        read_key_file(path)


# --------------------------------------------------------------------------- rotate-key


async def _with_app_password() -> tuple[int, str]:
    from sono.bootstrap import build_container

    container = await build_container(load_settings())
    try:
        register = Register("alice", "alice@example.com", PasswordInput("Str0ng!Passw0rd"))
        registered = await container.bus(register, ANONYMOUS)
        user = registered.user
        assert user.id is not None
        created = await container.bus(CreateAppPassword("Phone"), Actor.user(user.id))
        return user.id, created.secret
    finally:
        await container.aclose()


async def _token_user(secret: str) -> int | None:
    from sono.bootstrap import build_container

    container = await build_container(load_settings())
    try:
        credential = TokenCredential("alice", token_for(secret, "salt"), "salt")
        actor = await container.bus(AuthenticateAppPassword(credential, "test"), ANONYMOUS)
        return actor.user_id
    except AppPasswordRefused:
        return None
    finally:
        await container.aclose()


def test_rotate_key_reseals_under_a_new_key_file(migrated: str, sono: Sono, cli_env: Path) -> None:  # noqa: F811
    user_id, secret = asyncio.run(_with_app_password())
    key_file = cli_env / "secrets" / KEY_FILE
    before = key_file.read_bytes()
    assert asyncio.run(_token_user(secret)) == user_id

    result = sono("subsonic", "rotate-key")
    assert result.code == 0, result.err
    assert (result.field("resealed"), result.field("unreadable")) == ("1", "0")
    assert key_file.read_bytes() != before
    assert not (cli_env / "secrets" / NEXT_KEY_FILE).exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert asyncio.run(_token_user(secret)) == user_id

    key_file.write_bytes(before)  # the old key no longer opens what is stored
    assert asyncio.run(_token_user(secret)) is None


def test_rotate_key_with_the_key_in_the_environment(
    migrated: str,  # noqa: F811
    sono: Sono,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = new_key(), new_key()
    monkeypatch.setenv("SONO_SUBSONIC_KEY", old.hex())
    user_id, secret = asyncio.run(_with_app_password())

    result = sono("subsonic", "rotate-key")
    assert result.code == 2 and "--new-key" in result.err

    result = sono("subsonic", "rotate-key", "--new-key", base64.b64encode(new).decode())
    assert result.code == 0, result.err
    assert result.field("resealed") == "1" and "SONO_SUBSONIC_KEY" in result.out
    assert base64.b64encode(new).decode() not in result.out + result.err
    assert asyncio.run(_token_user(secret)) is None  # still the old key here
    monkeypatch.setenv("SONO_SUBSONIC_KEY", new.hex())
    assert asyncio.run(_token_user(secret)) == user_id
    assert not os.path.exists(Path(load_settings().secrets_dir) / KEY_FILE)
