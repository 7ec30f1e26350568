"""In-memory repositories with the behaviour of the SQL ones, for unit tests: one module per
feature, each class registered under the unit of work's attribute it implements. Importing this
package registers them all: every module of the package is imported, so a new feature's module
registers itself (no list here to edit)."""

import importlib
import pkgutil

from tests.fakes.repositories.base import (
    REPOSITORIES,
    FakeDatabase,
    FakeSession,
    FakeTable,
    ForeignKeyViolation,
    repository,
)

__all__ = ["REPOSITORIES", "FakeDatabase", "FakeSession", "FakeTable", "ForeignKeyViolation", "repository"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
