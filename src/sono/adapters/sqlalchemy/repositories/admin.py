"""The read side of the admin screens."""

from __future__ import annotations

from sono.adapters.sqlalchemy.repositories.base import SqlRepository, repository


@repository("admin_queries")
class SqlAdminQueries(SqlRepository):
    """Statistics and lists for admins (built with the admin feature)."""
