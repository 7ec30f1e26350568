"""The registries that keep a feature's wiring in one place, and the rule that access is declared.

A new feature adds its folders and touches three shared registries: ``Repositories`` in
``application/uow.py``, ``bootstrap.py`` and ``entrypoints/http/app.py``. Everything else it has
(its SQL tables and mappings, its repositories, its fakes' tables) lives in its own modules, found
by the packages that import all their modules; the cores of those packages name no feature."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest
from litestar import Litestar, get
from sqlalchemy import Index, UniqueConstraint

from sono.adapters.sqlalchemy import tables
from sono.adapters.sqlalchemy.repositories import REPOSITORIES as SQL_REPOSITORIES
from sono.application.uow import Repositories
from sono.entrypoints.http.app import check_access_declared
from sono.entrypoints.http.security import DEPENDENCIES, Caller, signed_in
from tests.fakes.repositories import REPOSITORIES as FAKE_REPOSITORIES
from tests.fakes.repositories import FakeDatabase
from tests.fakes.repositories.base import TABLES as FAKE_TABLES
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


ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "src" / "sono" / "adapters" / "sqlalchemy"
FAKES = ROOT / "tests" / "fakes" / "repositories"

GENERIC = {
    SQL / "tables" / "__init__.py": ("sono.adapters.sqlalchemy.tables.base",),
    SQL / "tables" / "base.py": (),
    SQL / "repositories" / "__init__.py": ("sono.adapters.sqlalchemy.repositories.base",),
    SQL / "repositories" / "base.py": (
        "sono.adapters.sqlalchemy.tables",
        "sono.domain.errors",
        "sono.application.values",
    ),
    FAKES / "__init__.py": ("tests.fakes.repositories.base",),
    FAKES / "base.py": ("sono.domain.errors", "sono.application.values"),
}
"""The cores of the per-feature packages, and the project modules each may import (none a feature's)."""


def feature_names() -> set[str]:
    """What names a feature: its modules, its repositories, its tables (SQL and fake)."""
    modules = {path.stem for folder in (SQL / "tables", SQL / "repositories", FAKES) for path in folder.glob("*.py")}
    fake_tables = {name for spec in FAKE_TABLES.values() for name in (spec.attribute, spec.name)}
    names = modules | set(SQL_REPOSITORIES) | set(FAKE_REPOSITORIES) | set(tables.metadata.tables) | fake_tables
    return names - {"__init__", "base"}


def words_and_imports(path: Path) -> tuple[set[str], set[str]]:
    """The identifiers and the words of the string constants of a module's code (its docstrings'
    examples left out), and the project modules (``sono``, ``tests``) it imports."""
    words: set[str] = set()
    imports: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}  # docstrings
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports.add(node.module)
        elif isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            words.add(node.name)
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            words.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            words.update(re.findall(r"\w+", node.value))
    return words, {name for name in imports if name.split(".")[0] in {"sono", "tests"}}


def named_features(words: set[str], features: set[str]) -> set[str]:
    """The features a word names, whole or as underscore-separated parts (``uq_users_email``)."""
    return {feature for feature in features for word in words if f"_{feature}_" in f"_{word.lower()}_"}


def test_the_feature_finder_sees_a_table_in_a_constraint_name_and_an_import(tmp_path: Path) -> None:
    module = tmp_path / "core.py"
    module.write_text('"""Generic: ``users``."""\nfrom sono.domain.audio import A\nNAME = "uq_users_email_lower"\n')
    words, imports = words_and_imports(module)
    assert named_features(words, {"users", "audio_files", "generic"}) == {"users"}
    assert imports == {"sono.domain.audio"}


@pytest.mark.parametrize("path", list(GENERIC), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_cores_of_the_per_feature_packages_name_no_feature(path: Path) -> None:
    """A new feature adds its own module to ``tables``, ``repositories`` and the fakes; it never
    edits their cores, which name no table, repository or feature module and import none."""
    assert path.exists(), f"{path.relative_to(ROOT)}: the package's core is gone"
    words, imports = words_and_imports(path)
    assert named_features(words, feature_names()) == set()
    assert imports <= {*GENERIC[path], str(path.parent.relative_to(ROOT)).replace("/", ".").removeprefix("src.")}


def test_the_fakes_declare_tables_and_constraints_of_the_sql_schema() -> None:
    """Each fake table is a table of the schema, and its unique constraints are the schema's (by
    name: the fakes raise the same ``Conflict``)."""
    schema = tables.metadata.tables
    names = {str(table.primary_key.name) for table in schema.values()}
    names |= {str(c.name) for table in schema.values() for c in table.constraints if isinstance(c, UniqueConstraint)}
    names |= {str(i.name) for table in schema.values() for i in table.indexes if isinstance(i, Index) and i.unique}
    fakes = FakeDatabase().tables()
    assert {table.name for table in fakes} <= set(schema)
    assert {unique.name for table in fakes for unique in table.unique} <= names
