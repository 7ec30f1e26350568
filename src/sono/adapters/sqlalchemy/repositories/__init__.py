"""The SQL repositories, one module per feature, each class registered under the name of the unit
of work's attribute it implements (``@repository("users")``). Importing this package registers
them all: every module of the package is imported, so a new feature's module registers itself
(no list here to edit)."""

import importlib
import pkgutil

from sono.adapters.sqlalchemy.repositories.base import (
    REPOSITORIES,
    conflict_for,
    repository,
    unique_violations_as_conflict,
)

__all__ = ["REPOSITORIES", "conflict_for", "repository", "unique_violations_as_conflict"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
