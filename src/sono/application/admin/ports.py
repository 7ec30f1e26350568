"""The read side of the admin screens."""

from __future__ import annotations

from typing import Protocol


class AdminQueries(Protocol):
    """Statistics and lists for admins, computed by aggregate queries (a fixed number of
    statements whatever the size of the catalogue)."""
