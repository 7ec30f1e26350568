"""The registries that keep a feature's wiring in one place, and the rule that access is declared."""

from __future__ import annotations

import typing

import pytest
from litestar import Litestar, get

from sono.adapters.sqlalchemy.repositories import REPOSITORIES as SQL_REPOSITORIES
from sono.application.uow import Repositories
from sono.entrypoints.http.app import check_access_declared
from sono.entrypoints.http.security import DEPENDENCIES, Caller, signed_in
from tests.fakes.repositories import REPOSITORIES as FAKE_REPOSITORIES
from tests.fakes.uow import FakeUnitOfWorkFactory


def test_every_repository_of_the_unit_of_work_has_one_implementation_per_backend() -> None:
    declared = set(typing.get_type_hints(Repositories))
    assert declared == set(SQL_REPOSITORIES) == set(FAKE_REPOSITORIES)


def test_the_units_of_work_hand_out_one_repository_each_per_unit() -> None:
    uow = FakeUnitOfWorkFactory()()
    assert uow.users is uow.users
    assert type(uow.users) is FAKE_REPOSITORIES["users"]
    with pytest.raises(AttributeError):
        uow.nothing_of_that_name  # noqa: B018


def test_a_route_that_takes_the_caller_must_declare_a_guard() -> None:
    @get("/open")
    async def open_route(principal: Caller) -> str:
        return "x"

    @get("/guarded", guards=[signed_in])
    async def guarded(principal: Caller) -> str:
        return "x"

    check_access_declared(Litestar([guarded], dependencies=DEPENDENCIES, logging_config=None))
    with pytest.raises(RuntimeError, match="declares no guard"):
        check_access_declared(Litestar([open_route], dependencies=DEPENDENCIES, logging_config=None))
