"""Who is asking: the caller as the domain's access rules see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller of a use case: a signed-in user (possibly an admin) or anonymous."""

    user_id: int | None = None
    is_admin: bool = False

    def is_user(self, user_id: int | None) -> bool:
        return self.user_id is not None and self.user_id == user_id


ANONYMOUS = Viewer()
