"""``sono serve``: prepare once (in a child process of the parent), then hand over to uvicorn.

The preparation upgrades the database (the migration takes a PostgreSQL advisory lock, so several
instances starting at once are safe), creates the data directory and makes sure the generated
secrets and the RSA key pair exist, so every worker loads the same ones. Workers are started by
uvicorn from ``app_from_env`` and read their settings from the environment they inherit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import multiprocessing
import os
import socket
from concurrent.futures import ProcessPoolExecutor

from sono.config import Settings
from sono.entrypoints.logs import uvicorn_logging_config

log = logging.getLogger("sono.serve")

APP_FACTORY = "sono.entrypoints.http.app:app_from_env"
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 - only compared against
_STARTUP_FAILURE = 3  # uvicorn's exit code when the server could not start


class CannotServe(Exception):
    """The server cannot start (e.g. the address is in use); the message names the address."""


def display_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def check_address(host: str, port: int) -> None:
    """Raise ``CannotServe`` unless ``host:port`` can be listened on now, binding the way uvicorn
    will: before the migrations run, and with a message that names the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host.strip("[]"), port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use (is another server running?)"
        raise CannotServe(f"cannot listen on {display_address(host, port)}: {reason}") from None


def default_public_url(host: str, port: int) -> str:
    """The URL clients reach this server at when ``SONO_PUBLIC_URL`` is not set."""
    if host in _WILDCARD_HOSTS:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def prepare(settings: Settings, *, public_url: str, migrate: bool) -> None:
    """Everything that must happen once before the workers start."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Building a container loads or creates the secrets and the RSA key exactly as the workers will.
    # Generating a key takes up to a second of CPU outside the GIL: do it beside the migration.
    loop = asyncio.get_running_loop()
    secrets_ready = loop.run_in_executor(None, asyncio.run, _build_and_close(settings, public_url))
    try:
        if migrate:
            from sono.adapters.sqlalchemy.migrate import upgrade

            await upgrade(settings.database_url)
    finally:
        await secrets_ready


def prepare_elsewhere(settings: Settings, *, public_url: str, migrate: bool) -> None:
    """``prepare`` in a short-lived child process (its errors raised here): what the migration
    and the throwaway container load (Alembic, templates, key material) is never held by the
    process that goes on to serve."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_prepare_now, settings, public_url, migrate).result()


def _prepare_now(settings: Settings, public_url: str, migrate: bool) -> None:
    asyncio.run(prepare(settings, public_url=public_url, migrate=migrate))


async def _build_and_close(settings: Settings, public_url: str) -> None:
    from sono.bootstrap import build_container

    # without metrics: this process may serve next (one worker), and must not count this container
    container = await build_container(
        dataclasses.replace(settings, metrics_token=None), public_url=public_url, listen=False
    )
    await container.aclose()


def use_multiprocess_metrics(settings: Settings) -> None:
    """Every worker process counts into files of one folder, emptied now (a previous run's values
    must not add up with this one's), and a scrape of any worker sums them. Set before
    prometheus-client is first imported: it picks its mode at import time."""
    folder = settings.metrics_multiprocess_dir.resolve()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # before the import below
    from sono.adapters.metrics.prometheus import prepare_multiprocess_dir

    prepare_multiprocess_dir(folder)


def serve(settings: Settings, *, host: str, port: int, workers: int, migrate: bool = True) -> None:
    import uvicorn

    from sono.entrypoints.protocol import PROTOCOL, TIMEOUT_VARIABLE

    check_address(host, port)
    public_url = settings.public_url or default_public_url(host, port)
    if settings.public_url is None and host in _WILDCARD_HOSTS:
        log.warning("SONO_PUBLIC_URL is not set; media URLs will point at %s", public_url)
    if settings.metrics_enabled:
        use_multiprocess_metrics(settings)
    prepare_elsewhere(settings, public_url=public_url, migrate=migrate and settings.migrate_on_start)

    # The workers inherit the environment: the database is migrated (or deliberately not), and
    # media URLs need the address clients reach us at.
    os.environ["SONO_MIGRATE_ON_START"] = "false"
    os.environ["SONO_PUBLIC_URL"] = public_url
    os.environ[TIMEOUT_VARIABLE] = str(settings.header_timeout_seconds)
    local = default_public_url(host, port)
    print(f"Sono is serving at {local} (API docs: {local}/docs, OpenAPI: {local}/openapi.json)", flush=True)
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=PROTOCOL,  # uvicorn's HTTP/1.1 with a header-read timeout
            lifespan="on",
            log_level=settings.log_level.lower(),
            log_config=uvicorn_logging_config(settings.log_level, settings.log_format),  # as the CLI's
            access_log=False,  # the app logs its own access lines; uvicorn's would show query strings (passwords)
            proxy_headers=False,  # the app decides when X-Forwarded-For is trustworthy
            server_header=False,
        )
    except SystemExit as exc:  # uvicorn logged why (e.g. the port was taken since the check)
        address = display_address(host, port)
        if exc.code == _STARTUP_FAILURE:
            raise CannotServe(f"the server did not start on {address} (see the log above)") from None
        if exc.code not in (None, 0):
            raise CannotServe(f"the server on {address} stopped with status {exc.code} (see the log above)") from None
        raise
