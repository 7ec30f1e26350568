"""In-memory repositories with the behaviour of the SQL ones, for unit tests: one module per
feature, each class registered under the unit of work's attribute it implements. Importing this
package registers them all."""

from sono.adapters.memory.repositories import (  # noqa: F401  (imported to register)
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
from sono.adapters.memory.repositories.base import (
    REPOSITORIES,
    FakeDatabase,
    FakeSession,
    FakeTable,
    ForeignKeyViolation,
    repository,
)

__all__ = ["REPOSITORIES", "FakeDatabase", "FakeSession", "FakeTable", "ForeignKeyViolation", "repository"]
