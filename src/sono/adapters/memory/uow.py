"""The in-memory unit of work: repositories over one shared ``FakeDatabase``."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from sono.adapters.memory import repositories as repos
from sono.adapters.memory.repositories import FakeDatabase, FakeSession
from sono.application.ports import (
    AnnouncementRepository,
    AudioFileRepository,
    AuditLogRepository,
    CollectionRepository,
    ConsentRepository,
    DeletionRequestRepository,
    MaintenanceRepository,
    RefreshFamilyRepository,
    ResetTokenRepository,
    RevokedTokenRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    UserRepository,
)
from sono.domain.errors import Conflict


class FakeUnitOfWork:
    """Changes are visible at once (there is no isolation); ``rollback``, or leaving without
    ``commit``, undoes the changes this unit of work made since it last committed.
    ``commit`` checks every unique constraint, as the database would."""

    users: UserRepository
    families: RefreshFamilyRepository
    revoked_tokens: RevokedTokenRepository
    reset_tokens: ResetTokenRepository
    consents: ConsentRepository
    deletions: DeletionRequestRepository
    audit: AuditLogRepository
    audio_files: AudioFileRepository
    collections: CollectionRepository
    announcements: AnnouncementRepository
    maintenance: MaintenanceRepository

    def __init__(self, database: FakeDatabase | None = None) -> None:
        self.database = database if database is not None else FakeDatabase()
        self.committed = False
        self._session = session = FakeSession(self.database)
        self.users = repos.FakeUserRepository(session)
        self.families = repos.FakeRefreshFamilyRepository(session)
        self.revoked_tokens = repos.FakeRevokedTokenRepository(session)
        self.reset_tokens = repos.FakeResetTokenRepository(session)
        self.consents = repos.FakeConsentRepository(session)
        self.deletions = repos.FakeDeletionRequestRepository(session)
        self.audit = repos.FakeAuditLogRepository(session)
        self.audio_files = repos.FakeAudioFileRepository(session)
        self.collections = repos.FakeCollectionRepository(session)
        self.announcements = repos.FakeAnnouncementRepository(session)
        self.maintenance = repos.FakeMaintenanceRepository(session)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        try:
            self.database.check_unique()
        except Conflict:
            await self.rollback()
            raise
        self._session.checkpoint()
        self.committed = True

    async def rollback(self) -> None:
        self._session.undo()


class FakeUnitOfWorkFactory:
    """Units of work over one ``database``; ``units`` lists every one made, oldest first."""

    def __init__(self, database: FakeDatabase | None = None) -> None:
        self.database = database if database is not None else FakeDatabase()
        self.units: list[FakeUnitOfWork] = []

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        unit = FakeUnitOfWork(self.database)
        self.units.append(unit)
        return unit


if TYPE_CHECKING:  # the fakes implement the ports

    def _implements(uow: FakeUnitOfWork, factory: FakeUnitOfWorkFactory) -> tuple[UnitOfWork, UnitOfWorkFactory]:
        return uow, factory
