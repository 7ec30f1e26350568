"""Fast fakes of the password hasher and the clock for unit tests."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()


class FakePasswordHasher:
    """``PasswordHasher`` without the cost: ``fake$<sha256>``.

    Hashes with the ``old$`` prefix (make them with ``legacy_hash``) verify too but need a rehash,
    so upgrade-on-login can be tested. Calls are counted.
    """

    PREFIX = "fake$"
    LEGACY_PREFIX = "old$"

    def __init__(self) -> None:
        self.hash_calls = 0
        self.verify_calls = 0
        self.dummy_calls = 0

    async def hash(self, password: str) -> str:
        self.hash_calls += 1
        return self.PREFIX + _digest(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verify_calls += 1
        for prefix in (self.PREFIX, self.LEGACY_PREFIX):
            if password_hash.startswith(prefix):
                return password_hash[len(prefix) :] == _digest(password)
        return False

    async def verify_dummy(self, password: str) -> None:
        self.dummy_calls += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(self.PREFIX)

    @classmethod
    def legacy_hash(cls, password: str) -> str:
        """A hash "made with older parameters"."""
        return cls.LEGACY_PREFIX + _digest(password)


class FakeClock:
    """``Clock`` under the test's control: ``advance`` moves wall and monotonic time together, and
    ``sleep`` advances instead of waiting (recording each duration in ``slept``)."""

    def __init__(self, now: datetime | None = None, monotonic: float = 1000.0) -> None:
        now = now if now is not None else datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = now.astimezone(UTC).replace(microsecond=0)
        self._monotonic = monotonic
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._now = (self._now + timedelta(seconds=seconds)).replace(microsecond=0)

    def set(self, now: datetime) -> None:
        """Jump the wall clock (the monotonic clock moves by the same amount if forward)."""
        delta = (now - self._now).total_seconds()
        self._now = now.astimezone(UTC).replace(microsecond=0)
        self._monotonic += max(0.0, delta)
