"""Per-client-IP rate limits, declared on a route as ``before_request=rate_limit(scope, "5/minute")``.

The hook runs before the request is parsed or authenticated, so invalid requests count too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request

from sono.domain.errors import RateLimited
from sono.entrypoints.http.metrics import route_of
from sono.entrypoints.http.security import client_ip

_PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def rate_limit(scope: str, rate: str) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A ``before_request`` hook allowing ``rate`` (e.g. ``"5/minute"``) requests per client IP in
    ``scope``; beyond it the request answers 429 with ``Retry-After``."""
    count, _, unit = rate.partition("/")
    limit, period = int(count), _PERIOD_SECONDS[unit]

    async def count_request(request: Request[Any, Any, Any]) -> None:
        container = request.app.state.container
        if not container.settings.rate_limits_enabled:
            return
        retry_after = await container.ports.rate_limiter.hit(scope, client_ip(request) or "unknown", limit, period)
        if retry_after is not None:
            container.ports.metrics.rate_limited(route_of(request.scope))
            raise RateLimited(retry_after)

    return count_request
