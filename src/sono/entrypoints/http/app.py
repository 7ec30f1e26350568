"""The Litestar application: ``create_app(settings)`` for the CLI and tests, ``app_from_env()`` for
``uvicorn --factory`` with several workers. Migrations are the CLI's business, not the app's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, ControllerRouterHandler, Scope

from sono.bootstrap import Container, build_container
from sono.config import Settings, load_dotenv_file, load_settings
from sono.entrypoints.http.accounts.controller import UsersController
from sono.entrypoints.http.admin.controller import AdminController, list_users_alias
from sono.entrypoints.http.annotations.controller import AnnotationsController
from sono.entrypoints.http.announcements.controller import AdminAnnouncementsController, AnnouncementsController
from sono.entrypoints.http.app_passwords.controller import AdminAppPasswordsController, AppPasswordsController
from sono.entrypoints.http.audio.controller import AudioAdminController, AudioController
from sono.entrypoints.http.audit.controller import AuditLogController
from sono.entrypoints.http.charts import ChartsController
from sono.entrypoints.http.collections.controller import CollectionAdminController, CollectionsController
from sono.entrypoints.http.errors import EXCEPTION_HANDLERS
from sono.entrypoints.http.gdpr.controller import GdprController
from sono.entrypoints.http.health.controller import HealthController
from sono.entrypoints.http.library.controller import LibraryController, SearchController
from sono.entrypoints.http.maintenance.controller import MaintenanceController
from sono.entrypoints.http.media.controller import MediaController
from sono.entrypoints.http.metrics import MetricsMiddleware
from sono.entrypoints.http.middleware import EdgeMiddleware, MaintenanceMiddleware
from sono.entrypoints.http.openapi import docs_routes, openapi_config
from sono.entrypoints.http.security import DEPENDENCIES
from sono.entrypoints.http.subsonic import rest as subsonic_rest
from sono.entrypoints.logs import install_log_context
from sono.entrypoints.worker import Worker

log = logging.getLogger(__name__)

JSON_BODY_MAX = 1024 * 1024
STOP_GRACE_SECONDS = 10.0
"""Request bodies parsed by Litestar (JSON, forms). Uploads stream with limits of their own."""

FEATURES: list[ControllerRouterHandler] = [
    HealthController,
    UsersController,
    GdprController,
    MaintenanceController,
    MediaController,
    AdminController,
    list_users_alias,  # after UsersController: it joins that controller's /api/v1/users route
    AnnouncementsController,
    AdminAnnouncementsController,
    ChartsController,
    CollectionsController,
    CollectionAdminController,
    AudioController,
    AudioAdminController,
    AnnotationsController,
    AuditLogController,
    AppPasswordsController,
    AdminAppPasswordsController,
    LibraryController,
    SearchController,
    subsonic_rest,  # the Subsonic API's /rest (not in the OpenAPI document)
]
"""Every feature's controllers: adding a feature adds its controllers here."""


class SonoRequest(Request[Any, Any, Any]):
    """Litestar's request, except that JSON nested too deeply for the decoder is a malformed body
    (400), not a crash."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise SerializationException("JSON nested too deeply") from None


def create_app(settings: Settings, *, container: Container | None = None, run_jobs: bool | None = None) -> Litestar:
    """The HTTP application. Without a ``container`` one is built at startup (and closed at
    shutdown). ``run_jobs`` runs the in-process worker (outbox deliveries, and the periodic jobs
    every ``settings.jobs_interval_seconds``); by default when ``settings.jobs_enabled`` and the
    job engine is the in-process one: with SAQ, web processes never run jobs (``sono worker`` does)."""
    install_log_context()
    app = Litestar(
        route_handlers=[*FEATURES, *docs_routes()],
        request_class=SonoRequest,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[MaintenanceMiddleware()],
        cors_config=cors_config(settings),
        openapi_config=openapi_config(),
        request_max_body_size=JSON_BODY_MAX,
        lifespan=[
            partial(
                _lifespan,
                settings=settings,
                container=container,
                run_jobs=runs_jobs(settings) if run_jobs is None else run_jobs,
            )
        ],
        state=State({"container": container}),
        logging_config=None,  # the process (CLI, uvicorn) configures logging
        debug=False,
    )
    check_access_declared(app)
    allow_every_method(app)
    # Litestar applies ``middleware=`` per route, after routing; the edge layer must also see
    # unknown paths and routing errors, so it wraps the whole ASGI handler.
    handler = traced_if_asked(app.asgi_handler, settings, container)
    if settings.metrics_token is not None:
        handler = MetricsMiddleware(handler, settings.metrics_token)
    app.asgi_handler = EdgeMiddleware(handler, settings.trusted_proxies, body_idle_timeout=settings.body_idle_timeout)
    return app


def traced_if_asked(handler: ASGIApp, settings: Settings, container: Container | None) -> ASGIApp:
    """``handler`` in OpenTelemetry's server spans when tracing is on (the container's tracer
    provider; or, for a container built at startup, the global one the ``OTEL_*`` variables make),
    and only if the ``otel`` extra is installed; else ``handler`` itself, nothing imported."""
    tracer_provider = container.tracer_provider if container is not None else None
    if tracer_provider is None and not (container is None and settings.tracing_enabled):
        return handler
    try:
        from sono.entrypoints.http.tracing import traced
    except ImportError:  # the container's builder says so in the log
        return handler
    return traced(handler, tracer_provider)


def allow_every_method(app: Litestar) -> None:
    """Litestar answers ``OPTIONS`` itself, but the ``Allow`` header of a path served by several
    handlers lists only the methods of the first one registered (its answer is built before the
    others join the route): answer with the route's final methods."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        if handler.handler_name != "options_handler":  # one of ours
            continue
        allowed = ", ".join(sorted(route.methods))

        def options(scope: Scope, allowed: str = allowed) -> Response[None]:
            return Response(None, status_code=204, headers={"Allow": allowed}, media_type=MediaType.TEXT)

        handler._fn = options  # type: ignore[assignment]  # a sync callable, as the one it replaces


def check_access_declared(app: Litestar) -> None:
    """A handler that takes the caller (``principal``) must be guarded: its audience is declared
    with ``guards=[...]``, never implied by a parameter's name."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            if "principal" in handler.parsed_fn_signature.parameters and not handler.resolve_guards():
                raise RuntimeError(f"{handler}: takes `principal` but declares no guard")


def app_from_env() -> Litestar:
    """``uvicorn --factory sono.entrypoints.http.app:app_from_env``: settings from the environment
    (and ``.env``)."""
    load_dotenv_file()
    return create_app(load_settings())


def cors_config(settings: Settings) -> CORSConfig | None:
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Password-Encrypted", "X-Request-ID"],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "Content-Disposition",
            "Content-Range",
            "Accept-Ranges",
            "X-Total-Count",
        ],
    )


def runs_jobs(settings: Settings) -> bool:
    """Whether web processes run the in-process worker: with the jobs on and the in-process engine
    (with SAQ, only ``sono worker`` runs jobs)."""
    return settings.jobs_enabled and settings.job_engine == "inprocess"


@asynccontextmanager
async def _lifespan(
    app: Litestar, *, settings: Settings, container: Container | None, run_jobs: bool
) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        if container is None:
            container = await build_container(settings, for_requests=True)
            stack.push_async_callback(container.aclose)
            app.state.container = container
        if run_jobs:
            # The worker loop in-process: outbox deliveries and the periodic jobs.
            worker = Worker(container, jobs_interval_seconds=settings.jobs_interval_seconds)
            task = asyncio.create_task(worker.run())
            stack.push_async_callback(_stop, worker, task)
        yield


async def _stop(worker: Worker, task: asyncio.Task[None]) -> None:
    """Let the worker finish the row in hand (a few seconds at most), then cancel it."""
    worker.stop()
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)
    await _cancel(task)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
