"""Argon2 with the real parameters, and the key and secret files on disk."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import argon2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sono.adapters.security.passwords import Argon2PasswordHasher
from sono.adapters.security.rsa_keys import (
    RsaPasswordDecryptor,
    encrypt_password,
    load_or_create_private_key,
    load_private_key,
)
from sono.adapters.security.secrets import load_or_create_secret
from sono.config import ConfigError

PASSWORD = "Str0ng!Passw0rd"

# --------------------------------------------------------------------------- Argon2


@pytest.fixture(scope="module")
def hasher():
    h = Argon2PasswordHasher()
    yield h
    h.close()


@pytest.fixture(scope="module")
def stored_hash(hasher: Argon2PasswordHasher) -> str:
    return asyncio.run(hasher.hash(PASSWORD))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_hash_uses_argon2id_with_the_default_parameters(stored_hash: str) -> None:
    assert stored_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_verify(hasher: Argon2PasswordHasher, stored_hash: str) -> None:
    assert await hasher.verify(stored_hash, PASSWORD) is True
    assert await hasher.verify(stored_hash, PASSWORD + "x") is False
    assert await hasher.verify(stored_hash, "") is False
    assert await hasher.verify("not a hash", PASSWORD) is False
    assert await hasher.verify("", PASSWORD) is False
    assert await hasher.verify(stored_hash[:-4], PASSWORD) is False
    assert hasher.needs_rehash(stored_hash) is False
    assert hasher.needs_rehash("not a hash") is True


async def test_hashes_are_salted(hasher: Argon2PasswordHasher) -> None:
    first, second = await asyncio.gather(hasher.hash(PASSWORD), hasher.hash(PASSWORD))
    assert first != second


async def test_unusual_passwords(hasher: Argon2PasswordHasher) -> None:
    for password in ("", "ünïcødé 密码 🎵", "\ud800 lone surrogate", "x" * 1000):
        hashed = await hasher.hash(password)
        assert await hasher.verify(hashed, password)


async def test_hash_with_older_parameters_verifies_and_needs_rehash(hasher: Argon2PasswordHasher) -> None:
    old = argon2.PasswordHasher(memory_cost=8192, time_cost=1, parallelism=1).hash(PASSWORD)
    assert old.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert await hasher.verify(old, PASSWORD) is True
    assert hasher.needs_rehash(old) is True
    argon2i = argon2.PasswordHasher(type=argon2.Type.I).hash(PASSWORD)
    assert await hasher.verify(argon2i, PASSWORD) is True
    assert hasher.needs_rehash(argon2i) is True


class _InstrumentedHasher(Argon2PasswordHasher):
    """Records the hashes verified and how many verifications run at once; with ``gate`` set,
    each verification waits for it to open before it computes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verified: list[str] = []
        self.active = 0
        self.max_active = 0
        self.entered = threading.Semaphore(0)
        self.gate: threading.Event | None = None
        self._count_lock = threading.Lock()

    def _verify_sync(self, password_hash: str, password: bytes) -> bool:
        with self._count_lock:
            self.verified.append(password_hash)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.entered.release()
        try:
            if self.gate is not None and not self.gate.wait(GUARD_SECONDS):
                raise AssertionError("the gate never opened")
            return super()._verify_sync(password_hash, password)
        finally:
            with self._count_lock:
                self.active -= 1


GUARD_SECONDS = 60.0  # turns a deadlock into a failure; no test waits for time to pass


async def test_verify_dummy_is_one_real_verification_with_the_same_parameters() -> None:
    """What makes an unknown login cost what a wrong password costs: the dummy is one Argon2
    verification, against a hash made with the hasher's own parameters (no timing compared)."""
    hasher = _InstrumentedHasher()
    try:
        stored = await hasher.hash(PASSWORD)
        assert await hasher.verify(stored, "wrong password") is False
        await hasher.verify_dummy("wrong password")
        await hasher.verify_dummy("another wrong password")
        real, dummy, dummy_again = hasher.verified
        assert real == stored
        assert dummy == dummy_again == hasher._dummy_hash
        assert dummy.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert dummy.split("$")[:4] == stored.split("$")[:4]  # same algorithm, version and costs
        assert not hasher.needs_rehash(dummy)
    finally:
        hasher.close()


async def test_concurrency_is_bounded_and_the_loop_keeps_running() -> None:
    hasher = _InstrumentedHasher(memory_kib=1024, time_cost=1, concurrency=2)
    try:
        hashed = await hasher.hash(PASSWORD)
        hasher.gate = threading.Event()
        verifications = asyncio.gather(*(hasher.verify(hashed, PASSWORD) for _ in range(8)))
        # Both workers are now inside a verification, held there until the loop opens the gate:
        # the loop must keep running (it waits for them, then opens the gate) or this deadlocks.
        for _ in range(2):
            assert await asyncio.to_thread(hasher.entered.acquire, timeout=GUARD_SECONDS)
        assert hasher.active == 2
        assert not hasher.entered.acquire(blocking=False), "a third verification ran beside the two"
        hasher.gate.set()
        assert await asyncio.wait_for(verifications, GUARD_SECONDS) == [True] * 8
        assert hasher.max_active == 2
        assert len(hasher.verified) == 8
    finally:
        hasher.close()


def test_works_across_event_loops() -> None:
    hasher = Argon2PasswordHasher(memory_kib=1024, time_cost=1, concurrency=1)
    try:
        hashed = asyncio.run(hasher.hash(PASSWORD))

        async def many() -> list[bool]:
            return await asyncio.gather(*(hasher.verify(hashed, PASSWORD) for _ in range(3)))

        assert asyncio.run(many()) == [True] * 3
        assert asyncio.run(many()) == [True] * 3  # a new loop gets its own semaphore
    finally:
        hasher.close()


def test_close_stops_the_workers() -> None:
    hasher = Argon2PasswordHasher(memory_kib=1024, time_cost=1, concurrency=1)
    hasher.close()
    with pytest.raises(RuntimeError):
        asyncio.run(hasher.hash(PASSWORD))


# --------------------------------------------------------------------------- key and secret files


def test_private_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "rsa_private_key.pem"
    key = load_or_create_private_key(path, key_size=2048)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    again = load_or_create_private_key(path, key_size=2048)
    assert again.private_numbers() == key.private_numbers()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_default_key_size_is_4096_and_carries_a_128_character_password(tmp_path: Path) -> None:
    key = load_or_create_private_key(tmp_path / "key.pem")
    assert key.key_size == 4096
    decryptor = RsaPasswordDecryptor(key)
    assert decryptor.max_plaintext_bytes == 446
    for password in ("Жёлдь1!Ж" * 16, "密码Aa1!" * 16 + "码" * 32, "語" * 128):  # 128 characters, up to 384 bytes
        assert len(password) == 128
        assert decryptor.decrypt(encrypt_password(decryptor.public_key_pem, password)) == password


def test_an_existing_3072_bit_key_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "rsa_private_key.pem"
    old = load_or_create_private_key(path, key_size=3072)
    again = load_or_create_private_key(path)  # the default is larger now: the file is still used
    assert again.private_numbers() == old.private_numbers()
    decryptor = RsaPasswordDecryptor(again)
    assert decryptor.max_plaintext_bytes == 318
    assert decryptor.decrypt(encrypt_password(decryptor.public_key_pem, "Str0ng!Passw0rd")) == "Str0ng!Passw0rd"


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "rsa_private_key.pem"
    barrier = threading.Barrier(4)

    def create() -> rsa.RSAPrivateKey:
        barrier.wait()
        return load_or_create_private_key(path, key_size=2048)

    with ThreadPoolExecutor(4) as pool:
        keys = list(pool.map(lambda _: create(), range(4)))
    numbers = {k.public_key().public_numbers().n for k in keys}
    assert len(numbers) == 1
    assert load_private_key(path).public_key().public_numbers().n in numbers
    decryptor = RsaPasswordDecryptor(keys[0])
    assert RsaPasswordDecryptor(keys[3]).decrypt(encrypt_password(decryptor.public_key_pem, "pw")) == "pw"


def test_operator_key_file(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = tmp_path / "pkcs1.pem"
    pkcs1.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    assert load_private_key(pkcs1).private_numbers() == key.private_numbers()


def test_invalid_key_files_give_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    not_rsa = tmp_path / "ec.pem"
    not_rsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    small = tmp_path / "small.pem"
    small.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    expectations = {
        missing: "cannot read",
        garbage: "does not hold a valid private key",
        encrypted: "is encrypted",
        not_rsa: "not an RSA key",
        small: "at least 2048",
    }
    for path, message in expectations.items():
        with pytest.raises(ConfigError, match=message) as info:
            load_private_key(path)
        assert str(path) in str(info.value)


def test_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "secret_key"
    secret = load_or_create_secret(path)
    assert len(secret) == 64  # 48 bytes, URL-safe base64
    assert all(c.isalnum() or c in "-_" for c in secret)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert load_or_create_secret(path) == secret
    assert load_or_create_secret(tmp_path / "secrets" / "other") != secret


def test_concurrent_secret_creators_agree(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "refresh_secret_key"
    barrier = threading.Barrier(8)

    def create(_: int) -> str:
        barrier.wait()
        return load_or_create_secret(path)

    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(create, range(8)))
    assert len(values) == 1
    assert path.read_text() == values.pop()


def test_secret_file_checks(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("too short\n")
    with pytest.raises(ConfigError, match="at least 32"):
        load_or_create_secret(short)
    provided = tmp_path / "provided"
    provided.write_text("  " + "s" * 40 + "\n")
    assert load_or_create_secret(provided) == "s" * 40
    unreadable = tmp_path / "dir"
    unreadable.mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        load_or_create_secret(unreadable)


def test_uncreatable_files_give_clear_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot create"):
        load_or_create_secret(blocker / "secret_key")
    with pytest.raises(ConfigError, match="cannot create"):
        load_or_create_private_key(blocker / "rsa_private_key.pem", key_size=2048)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_key_file(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    load_or_create_private_key(path, key_size=2048)
    path.chmod(0)
    with pytest.raises(ConfigError, match="cannot read"):
        load_private_key(path)
