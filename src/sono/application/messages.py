"""What every entrypoint sends into the core: a message (a command that changes something or a
query that reads) on behalf of an actor.

The actor is who asks, however they authenticated (a bearer token of the JSON API, an app password
of a player, the command line, a worker); use cases never see a JWT claim or an HTTP detail. Each
message type declares its audience once, and the bus enforces it before any handler runs, so an
entrypoint cannot forget a check and two entrypoints cannot disagree on one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from sono.domain.access import Viewer
from sono.domain.errors import NotAuthenticated, PermissionDenied

R = TypeVar("R", covariant=True)  # a message answering a subtype answers its supertype too

NOT_AUTHENTICATED = "Not authenticated"
NOT_ADMIN = "Not enough permissions"


class Via(StrEnum):
    """How the actor authenticated."""

    ANONYMOUS = "anonymous"
    TOKEN = "token"  # a bearer access token (the JSON API)
    APP_PASSWORD = "app-password"  # a player's credentials (the Subsonic API)
    CLI = "cli"  # an operator at the command line
    WORKER = "worker"  # background work on the system's behalf


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends a message: a user (possibly an admin), an anonymous caller, or the system."""

    user_id: int | None = None
    is_admin: bool = False
    via: Via = Via.ANONYMOUS

    @classmethod
    def user(cls, user_id: int, *, is_admin: bool = False, via: Via = Via.TOKEN) -> Actor:
        return cls(user_id, is_admin, via)

    @classmethod
    def operator(cls) -> Actor:
        """The command line: an operator of the machine may do what an admin may."""
        return cls(None, True, Via.CLI)

    @classmethod
    def worker(cls) -> Actor:
        """Background work on the system's behalf (periodic jobs)."""
        return cls(None, True, Via.WORKER)

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None or self.via in (Via.CLI, Via.WORKER)

    @property
    def viewer(self) -> Viewer:
        """The actor as the domain's access rules see it."""
        return Viewer(self.user_id, self.is_admin)

    @property
    def id(self) -> int:
        """The signed-in user's id (only for messages whose audience guarantees one)."""
        if self.user_id is None:
            raise NotAuthenticated(NOT_AUTHENTICATED)
        return self.user_id


ANONYMOUS = Actor()


class Audience(Enum):
    """Who may send a message at all (finer rules, such as owning a collection, are the domain's)."""

    ANYONE = "anyone"
    SIGNED_IN = "signed-in"
    ADMIN = "admin"

    def check(self, actor: Actor) -> None:
        """Raises ``NotAuthenticated`` (401) or ``PermissionDenied`` (403)."""
        if self is Audience.ANYONE:
            return
        if not actor.signed_in:
            raise NotAuthenticated(NOT_AUTHENTICATED)
        if self is Audience.ADMIN and not actor.is_admin:
            raise PermissionDenied(NOT_ADMIN)


class Message(Generic[R]):
    """A request to the core whose handler answers an ``R``. Subclasses are frozen dataclasses and
    declare ``audience``; ``writes`` says whether the bus opens a writing unit of work and commits."""

    audience: ClassVar[Audience] = Audience.ANYONE
    writes: ClassVar[bool] = False
    unit_of_work: ClassVar[bool] = True
    """False: the bus opens no unit of work for it (a read answered by a fast port alone)."""
    locks_caller: ClassVar[bool] = False
    """True (a command): the bus locks the caller's row for update, not only holds it, so that the
    caller's commands that lock it run one at a time (the upload quota's check and insert)."""

    _name: ClassVar[str] = "Message"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        feature = cls.__module__.removeprefix("sono.application.").split(".")[0]
        cls._name = f"{feature}.{cls.__name__}"

    @classmethod
    def name(cls) -> str:
        """A stable name for logs and metrics: ``<feature>.<MessageType>`` (made once per class)."""
        return cls._name


class Query(Message[R]):
    """Reads; its unit of work is read-only."""


class Command(Message[R]):
    """Changes something; the bus commits its unit of work when the handler returns."""

    writes: ClassVar[bool] = True


class Process(Message[R]):
    """Several steps, some of them outside any transaction (storing an object of up to 50 MB): the
    bus opens no unit of work for it. Its handler gets a ``ProcessContext`` and sends each step
    through the bus as the same actor (``ctx.send``: a command is its own unit of work, committed
    when the step returns, its audience checked, the middleware around it), and says what undoes
    the work of the steps done if a later one fails (``ctx.on_failure``)."""

    writes: ClassVar[bool] = True
    unit_of_work: ClassVar[bool] = False
