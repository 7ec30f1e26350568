"""Shared stores: rate limiters and the maintenance state. The Redis-backed ones are imported on
first use, so that a process without Redis never loads a Redis client."""

from typing import Any

from sono.adapters.stores.maintenance import DatabaseMaintenanceStore
from sono.adapters.stores.process_rate_limit import MemoryRateLimiter

__all__ = ["DatabaseMaintenanceStore", "MemoryRateLimiter", "RedisRateLimiter"]


def __getattr__(name: str) -> Any:
    if name == "RedisRateLimiter":
        from sono.adapters.stores.rate_limit import RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
