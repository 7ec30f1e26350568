"""The read side of the admin screens, in memory."""

from __future__ import annotations

from sono.adapters.memory.repositories.base import FakeRepository, repository


@repository("admin_queries")
class FakeAdminQueries(FakeRepository):
    """Statistics and lists for admins (built with the admin feature)."""
