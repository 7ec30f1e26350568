"""Shared stores: rate limiters and the maintenance state."""

from sono.adapters.stores.maintenance import DatabaseMaintenanceStore
from sono.adapters.stores.rate_limit import MemoryRateLimiter, RedisRateLimiter

__all__ = ["DatabaseMaintenanceStore", "MemoryRateLimiter", "RedisRateLimiter"]
