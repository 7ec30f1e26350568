"""Domain and application errors. Entrypoints translate them to responses."""

from __future__ import annotations

from dataclasses import dataclass


class SonoError(Exception):
    """Base of every error Sono raises on purpose. ``detail`` is safe to show a client."""

    detail: str = "Internal server error"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class BadRequest(SonoError):
    detail = "Bad request"


class NotAuthenticated(SonoError):
    detail = "Could not validate credentials"


class InvalidToken(NotAuthenticated):
    """A bearer token that is malformed, forged or expired. Endpoints that also serve anonymous
    callers ignore it; the others answer 401."""


class SessionEnded(NotAuthenticated):
    """A genuine token of a session that has ended (logout, disable, deletion, password reset,
    refresh-token reuse): 401 everywhere, so that clients log out cleanly."""


class PermissionDenied(SonoError):
    detail = "Not enough permissions"


class NotFound(SonoError):
    detail = "Not found"


class Conflict(SonoError):
    detail = "Conflict"

    def __init__(self, detail: str | None = None, *, constraint: str | None = None) -> None:
        super().__init__(detail)
        self.constraint = constraint


class PayloadTooLarge(SonoError):
    detail = "Request entity too large"


class UnsupportedMedia(SonoError):
    detail = "Unsupported media type"


class RateLimited(SonoError):
    detail = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(SonoError):
    detail = "Service unavailable"


class MaintenanceActive(ServiceUnavailable):
    """The service is in maintenance mode; ``detail`` is the operator's message."""

    retry_after = 3600


class DeliveryFailed(SonoError):
    """An outgoing message could not be handed to the mail transport."""

    detail = "Failed to send message"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failed rule on one input field, named as the use case knows it (``new_password``). Where
    the field travelled (body, query, ...) is the edge's business: it adds the location."""

    field: str
    msg: str
    type: str = "value_error"


class ValidationFailed(SonoError):
    """Input broke a rule; rendered as the 422 list form."""

    detail = "Validation error"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].msg if errors else None)
        self.errors = errors

    @classmethod
    def single(cls, field: str, msg: str) -> ValidationFailed:
        return cls([FieldError(field, msg)])
