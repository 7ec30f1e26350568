"""The SQL repositories, one module per feature, each class registered under the name of the unit
of work's attribute it implements (``@repository("users")``). Importing this package registers
them all."""

from sono.adapters.sqlalchemy.repositories import (  # noqa: F401  (imported to register)
    accounts,
    admin,
    annotations,
    announcements,
    app_passwords,
    audio,
    collections,
    gdpr,
    library,
    maintenance,
    media,
    outbox,
)
from sono.adapters.sqlalchemy.repositories.base import (
    REPOSITORIES,
    conflict_for,
    repository,
    unique_violations_as_conflict,
)

__all__ = ["REPOSITORIES", "conflict_for", "repository", "unique_violations_as_conflict"]
