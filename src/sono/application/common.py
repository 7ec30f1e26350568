"""What the use cases share that knows the ports and the unit of work: a bearer token's caller
(``Principal``: what ``Authenticate`` answers the JSON API's edge; use cases see an ``Actor``),
auditing, deleting stored objects. Plain shared values (``Page``, ``UNSET``,
``Problems``) are in ``sono.application.values``, below every port."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sono.application import context
from sono.application.messages import Actor, Message, Via
from sono.domain.access import Viewer
from sono.domain.gdpr import AuditEntry
from sono.domain.users import User

if TYPE_CHECKING:
    from sono.application.accounts.ports import AccessClaims, PasswordDecryptor
    from sono.application.media.ports import ObjectStorage
    from sono.application.ports import Clock
    from sono.application.uow import UnitOfWork

Send = Callable[[Message[Any], Actor], Awaitable[Any]]
"""The bus, for a handler that sends a message as another actor (``ProcessPendingDeletions``
runs the due deletions as the system does)."""
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user: User
    claims: AccessClaims
    actor: Actor = field(init=False, compare=False)
    """The caller as the message bus sees it: a user who authenticated with a bearer token (made
    once: a request sends several messages)."""

    def __post_init__(self) -> None:
        assert self.user.id is not None
        object.__setattr__(self, "actor", Actor.user(self.user.id, is_admin=self.user.is_superuser, via=Via.TOKEN))

    @property
    def user_id(self) -> int:
        user_id = self.actor.user_id
        assert user_id is not None  # a user's actor has one (made in __post_init__)
        return user_id

    @property
    def is_admin(self) -> bool:
        return self.actor.is_admin

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.user_id, self.is_admin)


@dataclass(frozen=True, slots=True)
class PasswordInput:
    """A password as the client sent it: plain text, or RSA-OAEP encrypted and base64 encoded
    (``X-Password-Encrypted: true``)."""

    value: str = field(repr=False)
    encrypted: bool = False

    def reveal(self, decryptor: PasswordDecryptor) -> str:
        return decryptor.decrypt(self.value) if self.encrypted else self.value


async def audit(
    uow: UnitOfWork,
    clock: Clock,
    event: str,
    *,
    user_id: int | None = None,
    actor_id: int | None = None,
    ip: str | None = None,
    **details: Any,
) -> None:
    """Add an event to the audit log of the current unit of work (saved at commit). ``ip`` defaults
    to the address of the request being served (``sono.application.context``)."""
    if ip is None:
        ip = context.current().ip
    entry = AuditEntry(event, clock.now(), user_id=user_id, actor_id=actor_id, ip_address=ip, details=details)
    await uow.audit.add(entry)


async def delete_objects(storage: ObjectStorage, keys: Sequence[str]) -> None:
    """Remove stored objects after the rows pointing at them are gone; a failure only leaves an
    orphan behind, so it is logged rather than raised."""
    if not keys:
        return
    try:
        await storage.delete_many(list(keys))
    except Exception:
        log.warning("could not delete %d stored objects", len(keys), exc_info=True)
