"""The unit of work: one transaction, and every repository working inside it.

``Repositories`` is the one registry of repositories: a feature adds its repository here (one
line) and implements it once per backend, registering the implementation with that backend's
``@repository("name")`` decorator (``sono.adapters.sqlalchemy.repositories``,
``tests.fakes.repositories``). The units of work build repositories from those registries;
a test checks that every name here has an implementation on every backend.

This is one of the three shared registries a new feature touches (with ``sono.bootstrap`` and
``sono.entrypoints.http.app``). The rest of it is in modules of its own, each found by a package
that imports all its modules: its SQL tables and mappings (``<feature>.py`` in
``sono.adapters.sqlalchemy.tables``, with ``mapped``), its SQL repositories, and its fakes, which
declare their tables (``<feature>.py`` in ``tests.fakes.repositories``, with ``fake_table`` and
``foreign_key``); ``tests/unit/test_registries.py`` checks that those packages' cores name no
feature.

Repositories return domain objects whose attribute changes are saved when the unit of work
commits (the SQL adapter maps the domain dataclasses imperatively, the fakes keep the objects
themselves), so there is no ``update`` method.

Rows that another transaction may delete meanwhile
--------------------------------------------------
A use case that writes a row referring to another (a collection entry to its audio file, a
collaborator or a session to its user, an audit entry to its user and actor...) first *holds* the
row referred to (``users.hold``, ``audio_files.hold``: ``FOR KEY SHARE`` on PostgreSQL), so that a
concurrent deletion either has committed already (the use case finds the row gone and answers its
404, as it would a moment later) or waits until this one has committed (and then removes or closes
up what it wrote, as it would have a moment earlier). A deletion locks what it deletes first
(``for_update``, ``hold(exclusive=True)``) and only then looks for what refers to it. Every use case
takes its locks in this one order, each kind in ascending id, so that two of them never wait for
each other (SQLite serialises writers, where holding costs a plain read):

1. users (the caller, the owners and people the request names);
2. audio files;
3. collections (``collections.get(for_update=True)``, ``containing_audio``);
4. the rows then written or deleted (tracks, collaborators, audit entries, sessions, ...).

A reference that escapes these holds still fails at the database's foreign key: the SQL unit of
work answers it as the ``NotFound`` of the entity referred to, never as a 500 (see
``sono.adapters.sqlalchemy.errors``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from sono.application.accounts.ports import (
    RefreshFamilyRepository,
    ResetTokenRepository,
    UserRepository,
)
from sono.application.admin.ports import AdminQueries
from sono.application.annotations.ports import AnnotationRepository
from sono.application.announcements.ports import AnnouncementRepository
from sono.application.app_passwords.ports import AppPasswordRepository
from sono.application.audio.ports import AudioFileRepository
from sono.application.collections.ports import CollectionQueries, CollectionRepository
from sono.application.events import OutboxRepository
from sono.application.gdpr.ports import AuditLogRepository, ConsentRepository, DeletionRequestRepository
from sono.application.library.ports import LibraryRepository
from sono.application.maintenance.ports import MaintenanceRepository
from sono.application.media.ports import PendingObjectRepository


class Repositories(Protocol):
    users: UserRepository
    families: RefreshFamilyRepository
    reset_tokens: ResetTokenRepository
    consents: ConsentRepository
    deletions: DeletionRequestRepository
    audit: AuditLogRepository
    pending_objects: PendingObjectRepository
    audio_files: AudioFileRepository
    collections: CollectionRepository
    collection_queries: CollectionQueries
    announcements: AnnouncementRepository
    admin_queries: AdminQueries
    maintenance: MaintenanceRepository
    outbox: OutboxRepository
    app_passwords: AppPasswordRepository
    library: LibraryRepository
    annotations: AnnotationRepository


class UnitOfWork(Repositories, Protocol):
    """One use case's transaction. ``async with uow:`` opens it; leaving without ``commit()``
    (or with an exception) rolls back. After ``commit()`` the same object can be reused."""

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None:
        """Raises ``Conflict(constraint=...)`` when a unique constraint is violated."""

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only`` ones must not write; on SQLite they take no write
        lock, so reads never queue behind writers."""
