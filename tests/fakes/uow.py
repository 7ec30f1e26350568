"""The in-memory unit of work: repositories over one shared ``FakeDatabase``."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sono.application.uow import Repositories, UnitOfWork, UnitOfWorkFactory
from sono.domain.errors import Conflict
from tests.fakes.repositories import REPOSITORIES, FakeDatabase, FakeSession


class FakeUnitOfWork(Repositories):
    """Changes are visible at once (there is no isolation); ``rollback``, or leaving without
    ``commit``, undoes the changes this unit of work made since it last committed.
    ``commit`` checks every unique constraint, as the database would."""

    def __init__(self, database: FakeDatabase | None = None) -> None:
        self.database = database if database is not None else FakeDatabase()
        self.committed = False
        self._session = FakeSession(self.database)

    def __getattr__(self, name: str) -> Any:
        """A repository of the registry, made once per unit of work."""
        make = REPOSITORIES.get(name)
        if make is None or "_session" not in self.__dict__:
            raise AttributeError(name)
        repository = make(self._session)
        setattr(self, name, repository)
        return repository

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
        unit = FakeUnitOfWork(self.database)  # type: ignore[abstract]  # __getattr__ makes the repositories
        self.units.append(unit)
        return unit


if TYPE_CHECKING:  # the fakes implement the ports

    def _implements(uow: FakeUnitOfWork, factory: FakeUnitOfWorkFactory) -> tuple[UnitOfWork, UnitOfWorkFactory]:
        return uow, factory
