"""Users as their read model (edge-neutral): the account and the URL of its profile picture,
resolved through the media port, so that an entrypoint only maps them to its own shapes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sono.domain.users import User


class MediaUrls(Protocol):
    """Where a stored object is fetched (``MediaService.url``; None for no key). Named here so
    that the read models import no service (they sit below the ports and messages naming them)."""

    async def url(self, key: str | None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class UserView:
    """A user and where their profile picture is fetched (None: no picture). What an entrypoint
    shows of the user (all of it to its owner and admins, the public fields to everyone) is its
    choice."""

    user: User
    picture_url: str | None


async def user_view(media: MediaUrls, user: User) -> UserView:
    return UserView(user, await media.url(user.profile_picture_key))


async def user_views(media: MediaUrls, users: Iterable[User]) -> list[UserView]:
    """Views of ``users`` in their order, each user's picture resolved once."""
    seen: dict[int | None, UserView] = {}
    views = []
    for user in users:
        view = seen.get(user.id) if user.id is not None else None
        if view is None:
            view = await user_view(media, user)
            if user.id is not None:
                seen[user.id] = view
        views.append(view)
    return views
