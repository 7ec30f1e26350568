"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from sono import __version__
from sono.application.ports import HealthCheck
from sono.entrypoints.http.auth import AppContainer
from sono.entrypoints.http.openapi import EXEMPT
from sono.entrypoints.http.schemas import HealthOut, ReadinessFailureBody, ReadinessOut

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


async def probe(check: HealthCheck) -> str:
    """``ok``, ``timeout`` or ``error`` (the cause goes to the log)."""
    try:
        await asyncio.wait_for(check.check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        log.warning("readiness check %s timed out after %.0f s", check.name, CHECK_TIMEOUT_SECONDS)
        return "timeout"
    except Exception:
        log.warning("readiness check %s failed", check.name, exc_info=True)
        return "error"
    return "ok"


class HealthController(Controller):
    tags = ["Health"]
    opt = EXEMPT

    @get("/health", summary="Liveness")
    async def health(self) -> HealthOut:
        return HealthOut(status="healthy", version=__version__)

    @get(
        "/health/ready",
        summary="Readiness of every backing service",
        responses={
            503: ResponseSpec(ReadinessFailureBody, generate_examples=False, description="A backing service is down")
        },
    )
    async def ready(self, container: AppContainer) -> Response[ReadinessOut | ReadinessFailureBody]:
        statuses = await asyncio.gather(*(probe(check) for check in container.health_checks))
        checks = {check.name: status for check, status in zip(container.health_checks, statuses, strict=True)}
        down = [name for name, status in checks.items() if status != "ok"]
        if down:
            return Response(ReadinessFailureBody(f"Service unavailable: {', '.join(down)}", checks), status_code=503)
        return Response(ReadinessOut(status="ready", checks=checks))
