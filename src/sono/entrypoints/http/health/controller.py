"""The root, liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Controller, Response
from litestar.openapi.datastructures import ResponseSpec

from sono import __version__
from sono.application.ports import HealthCheck
from sono.entrypoints.http.openapi import EXEMPT
from sono.entrypoints.http.routes import get
from sono.entrypoints.http.schemas import MessageOut
from sono.entrypoints.http.security import AppContainer

log = logging.getLogger(__name__)

PROJECT_NAME = "Sono"
CHECK_TIMEOUT_SECONDS = 2.0


class HealthOut(msgspec.Struct):
    status: str
    version: str
    project_name: str


class ReadinessOut(msgspec.Struct):
    status: str
    checks: dict[str, str]


class ReadinessFailureBody(msgspec.Struct):
    detail: str
    checks: dict[str, str]


DEGRADED = "degraded"


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

    @get("/", summary="The API answers")
    async def root(self) -> MessageOut:
        return MessageOut("OK")

    @get("/health", summary="Liveness")
    async def health(self) -> HealthOut:
        return HealthOut(status="healthy", version=__version__, project_name=PROJECT_NAME)

    @get(
        "/health/ready",
        summary="Readiness of every backing service",
        responses={
            503: ResponseSpec(ReadinessFailureBody, generate_examples=False, description="The database is down")
        },
    )
    async def ready(self, container: AppContainer) -> Response[ReadinessOut | ReadinessFailureBody]:
        """Ready means "can serve": 503 when an essential service (the database) is down; a
        non-essential one (cache, storage, charts) that is down is marked ``degraded`` and the
        answer stays 200, so an orchestrator does not pull every instance on a Redis blip."""
        checks_to_run = container.ports.health_checks
        statuses = await asyncio.gather(*(probe(check) for check in checks_to_run))
        checks: dict[str, str] = {}
        down: list[str] = []
        for check, status in zip(checks_to_run, statuses, strict=True):
            if status != "ok" and check.essential:
                down.append(check.name)
            checks[check.name] = status if status == "ok" or check.essential else DEGRADED
        if down:
            return Response(ReadinessFailureBody(f"Service unavailable: {', '.join(down)}", checks), status_code=503)
        degraded = DEGRADED in checks.values()
        return Response(ReadinessOut(status=DEGRADED if degraded else "ready", checks=checks))
