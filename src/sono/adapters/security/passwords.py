"""Argon2id password hashing off the event loop, with bounded concurrency.

Each Argon2 computation holds ``memory_kib`` of memory (19 MiB by default) and a CPU core for tens
of milliseconds. Hashes run in a dedicated thread pool (argon2-cffi releases the GIL) of
``concurrency`` workers, so at most that many hashes hold memory at once. Callers first wait on a
per-event-loop semaphore admitting one more job per worker: a worker that finishes finds the next
job already queued instead of idling until the (busy) event loop hands it one, and a flood of
logins waits there (cancellably) instead of piling up in the pool.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_T = TypeVar("_T")


def _encode(password: str) -> bytes:
    # ``surrogatepass`` so that no input makes hashing raise; the same bytes on hash and verify.
    return password.encode("utf-8", "surrogatepass")


class Argon2PasswordHasher:
    """The ``PasswordHasher`` port with Argon2id (RFC 9106), parameters from the settings."""

    def __init__(
        self,
        memory_kib: int = 19456,
        time_cost: int = 2,
        parallelism: int = 1,
        concurrency: int | None = None,
    ) -> None:
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sono-argon2")
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    # ------------------------------------------------------------------ port

    async def hash(self, password: str) -> str:
        return await self._run(self._hash_sync, _encode(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """False on mismatch or a malformed hash."""
        return await self._run(self._verify_sync, password_hash, _encode(password))

    async def verify_dummy(self, password: str) -> None:
        """Spend one verification against a dummy hash made with the same parameters."""
        await self._run(self._verify_dummy_sync, _encode(password))

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (or cannot be parsed)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def close(self) -> None:
        """Stop the worker threads (queued work is cancelled, running hashes finish)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ internals

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(2 * self.concurrency)
        return semaphore

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        async with self._semaphore():
            return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    def _hash_sync(self, password: bytes) -> str:
        return self._hasher.hash(password)

    def _verify_sync(self, password_hash: str, password: bytes) -> bool:
        """Runs in a worker thread; the instrumentation point for tests."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError, TypeError):
            return False

    def _verify_dummy_sync(self, password: bytes) -> None:
        self._verify_sync(self._get_dummy_hash(), password)

    def _get_dummy_hash(self) -> str:
        if self._dummy_hash is None:
            with self._dummy_lock:
                if self._dummy_hash is None:
                    self._dummy_hash = self._hasher.hash(secrets.token_bytes(32))
        return self._dummy_hash
