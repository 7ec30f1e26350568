"""The schema as SQLAlchemy Core tables, and the imperative mapping of the domain dataclasses: one
module per feature (its tables, and the classes it maps onto them with ``mapped``), over the shared
pieces of ``base``. Importing this package imports every module of it, so that ``metadata`` holds
every table and ``start_mappers`` maps every class whichever module was asked for: a new feature's
module registers itself (no list here to edit).

``migrations/versions`` must create exactly this schema; ``tests/integration`` checks they agree.
"""

import importlib
import pkgutil

from sono.adapters.sqlalchemy.tables.base import (
    UtcDateTime,
    include_in_comparison,
    is_migration_only,
    metadata,
    start_mappers,
)

__all__ = ["UtcDateTime", "include_in_comparison", "is_migration_only", "metadata", "start_mappers"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
