"""The ``sono`` command line: serve the API, migrate the database, make admins, switch maintenance
mode, run the periodic jobs and back up the embedded defaults.

Every command reads ``.env`` (without overriding the environment) and the ``SONO_*`` settings first.
Exit codes: 0 success, 1 the command failed (``error: <why>`` on stderr), 2 bad usage or
configuration (``error: <message naming the variable>``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sono import __version__
from sono.config import ConfigError, Settings, load_dotenv_file, load_settings, unknown_variables
from sono.domain.errors import SonoError, ValidationFailed
from sono.entrypoints.logs import bound_run, configure_logging
from sono.entrypoints.serve import CannotServe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sono.application.admin.messages import UserSummary
    from sono.application.backup import BackupService
    from sono.application.values import Page
    from sono.bootstrap import Container
    from sono.domain.gdpr import AuditEntry

log = logging.getLogger("sono.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[Settings, argparse.Namespace], int]


class CommandFailed(Exception):
    """A failure to report as ``error: <message>`` with exit code 1."""


class UsageError(Exception):
    """A command used in a way that cannot work: ``error: <message>`` with exit code 2."""


# --------------------------------------------------------------------------- output helpers


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _show(**fields: object) -> None:
    """Print ``key: value`` lines; booleans as ``true``/``false``."""
    for key, value in fields.items():
        text = ("true" if value else "false") if isinstance(value, bool) else ("" if value is None else str(value))
        print(f"{key}: {text}")


# --------------------------------------------------------------------------- shared plumbing


@asynccontextmanager
async def _container(settings: Settings) -> AsyncIterator[Container]:
    """A container for one command, on a database that has a schema; closed afterwards. It keeps
    no reads, so on PostgreSQL it opens no ``LISTEN`` connection: the command's own commits are
    announced to the serving processes all the same."""
    from sono.adapters.sqlalchemy import migrate
    from sono.bootstrap import build_container

    _require_database(settings)
    if not await migrate.current(settings.database_url):
        raise CommandFailed("the database has no schema yet; run `sono db upgrade` (or `sono serve`) first")
    container = await build_container(settings, listen=False)
    try:
        yield container
    finally:
        await container.aclose()


def _require_database(settings: Settings) -> None:
    """Commands other than ``db upgrade`` and ``serve`` never create state: on a SQLite database
    that does not exist they say so (connecting would create the file and its folder)."""
    from sono.adapters.sqlalchemy import migrate

    if (path := migrate.missing_database(settings.database_url)) is not None:
        raise CommandFailed(f"no database at {path}; `sono db upgrade` (or `sono serve`) creates it")


# --------------------------------------------------------------------------- serve


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from sono.entrypoints.serve import serve

    try:
        serve(settings, host=args.host, port=args.port, workers=args.workers, migrate=not args.no_migrate)
    except CannotServe as exc:
        raise CommandFailed(str(exc)) from None
    return EXIT_OK


# --------------------------------------------------------------------------- db


def _cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from sono.adapters.sqlalchemy import migrate

    if args.db_command != "upgrade" and (args.db_command != "revision" or args.autogenerate):
        _require_database(settings)
    if args.db_command == "revision":
        path = asyncio.run(migrate.revision(settings.database_url, args.message, autogenerate=args.autogenerate))
        _show(created=path)
        return EXIT_OK

    async def run() -> str | None:
        if args.db_command == "upgrade":
            await migrate.upgrade(settings.database_url, args.revision)
        elif args.db_command == "downgrade":
            await migrate.downgrade(settings.database_url, args.revision)
        return await migrate.current(settings.database_url)

    _show(revision=asyncio.run(run()) or "base")
    return EXIT_OK


# --------------------------------------------------------------------------- users


def _stdin_is_a_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _ask_password() -> str:
    if not _stdin_is_a_terminal():
        raise UsageError("no terminal to ask for the password on: pass --password, or run the command in a terminal")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password (again): ")
    if first != second:
        raise CommandFailed("the passwords do not match")
    return first


def _cmd_users_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from sono.application.common import PasswordInput

    password = args.password if args.password is not None else _ask_password()

    async def create() -> None:
        async with _container(settings) as container:
            from sono.application.accounts.messages import CreateAdmin
            from sono.application.messages import Actor

            message = CreateAdmin(args.username, args.email, PasswordInput(password), args.display_name)
            user = await container.bus(message, Actor.operator())
        _show(id=user.id, username=user.username, is_superuser=user.is_superuser)

    asyncio.run(create())
    return EXIT_OK


def _cmd_users_promote(settings: Settings, args: argparse.Namespace) -> int:
    async def promote() -> None:
        async with _container(settings) as container:
            from sono.application.accounts.messages import PromoteUser
            from sono.application.messages import Actor

            user = await container.bus(PromoteUser(args.username), Actor.operator())
        _show(id=user.id, username=user.username, is_superuser=user.is_superuser)

    asyncio.run(promote())
    return EXIT_OK


async def _named_user(container: Container, username: str) -> UserSummary:
    """The user a command names (exit 2 when there is none: the command was given a wrong name)."""
    from sono.application.admin.messages import FindUser
    from sono.application.messages import Actor
    from sono.domain.errors import NotFound

    try:
        return await container.bus(FindUser(username), Actor.operator())
    except NotFound:
        raise UsageError(f"no user named {username!r}") from None


def _cmd_users_set_upload_limit(settings: Settings, args: argparse.Namespace) -> int:
    """Through the admin API's use case (``SetUploadLimit``: its bounds, its audit entry)."""
    from sono.application.admin.messages import SetUploadLimit
    from sono.application.messages import Actor

    async def set_limit() -> None:
        async with _container(settings) as container:
            operator = Actor.operator()
            found = await _named_user(container, args.username)
            assert found.user.id is not None
            summary = await container.bus(SetUploadLimit(found.user.id, args.limit), operator)
        quota = summary.quota
        _show(
            id=summary.user.id,
            username=summary.user.username,
            max_audio_uploads=quota.max_uploads,
            used_uploads=quota.used_uploads,
            remaining_uploads=quota.remaining_uploads,
        )

    asyncio.run(set_limit())
    return EXIT_OK


# --------------------------------------------------------------------------- library

IMPORT_EPILOG = """\
Files are taken by extension (mp3, wav, ogg, oga, opus, m4a, m4b, aac, flac, webm, weba; anything
else, and hidden files, are passed over silently), then decided by their content like an upload
through the API: tags, cover art, the 50 MB size limit and the owner's upload limit apply. The
title is the title tag, else the file name. A file whose content the owner already has is skipped,
so a run that was stopped (Ctrl-C stops between two files) or hit the upload limit continues where
it left off when run again. A progress bar is drawn on stderr when it is a terminal; the summary
goes to stdout.

exit codes: 0 nothing was refused, 1 a file was refused (not audio, too large, over the upload
limit: the run stops there) or the import failed, 2 bad usage (no such PATH or user), 130
interrupted (the summary is printed all the same)."""


def _cmd_library_import(settings: Settings, args: argparse.Namespace) -> int:
    from sono.entrypoints.library_import import (
        ImportSourceError,
        LibraryImport,
        Progress,
        open_source,
        stop_message,
        stop_on_interrupt,
        summary_lines,
    )

    async def run() -> int:
        async with _container(settings) as container:
            owner = await _named_user(container, args.owner)
            assert owner.user.id is not None
            try:
                with open_source(Path(args.path)) as candidates:
                    progress = Progress(sys.stderr, len(candidates))
                    job = LibraryImport(
                        container,
                        owner.user.id,
                        remaining_uploads=owner.quota.remaining_uploads,
                        public=args.public,
                        dry_run=args.dry_run,
                        progress=progress.update,
                    )
                    try:
                        with stop_on_interrupt(job):
                            await job.run(candidates)
                    finally:
                        progress.update(job.report, final=True)
                        for line in summary_lines(job.report, dry_run=args.dry_run):
                            print(line)
            except ImportSourceError as exc:
                raise UsageError(str(exc)) from None
        report = job.report
        message = stop_message(report, owner=owner.user.username)
        if report.limit_reached:
            _error(message or "")
        elif message:
            _warning(message)
        if report.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if report.refused else EXIT_OK

    return asyncio.run(run())


# --------------------------------------------------------------------------- maintenance


def _cmd_maintenance(settings: Settings, args: argparse.Namespace) -> int:
    from sono.application.maintenance.messages import GetMaintenance, SetMaintenance
    from sono.application.messages import Actor

    async def switch() -> None:
        async with _container(settings) as container:
            operator = Actor.operator()
            if args.action == "on":
                state = await container.bus(SetMaintenance(True, args.message), operator)
            elif args.action == "off":
                state = await container.bus(SetMaintenance(False), operator)
            else:
                state = await container.bus(GetMaintenance(), operator)
        _show(enabled=state.enabled, message=state.message)

    asyncio.run(switch())
    return EXIT_OK


# --------------------------------------------------------------------------- subsonic


def _cmd_subsonic_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    """Re-encrypt every sealed app password under a new key. With the key in secrets/, the new key
    goes to ``subsonic_key.next`` first and replaces ``subsonic_key`` once the database is done (an
    interrupted run is completed by running it again); with ``SONO_SUBSONIC_KEY``, the new key is
    ``--new-key`` and the operator sets it on every instance afterwards."""
    from sono.adapters.security import subsonic_keys as keys
    from sono.adapters.security.secrets import create_private_file
    from sono.application.app_passwords.rotation import reseal

    if settings.subsonic_key:
        if not args.new_key:
            raise UsageError(
                "SONO_SUBSONIC_KEY is set: pass the new key with --new-key (32 bytes, e.g. `openssl rand -base64 32`)"
            )
        old = [keys.parse_key(settings.subsonic_key)]
        new = keys.parse_key(args.new_key, "--new-key")
        pending = None
    else:
        old = keys.load_or_create_keys(settings.secrets_dir)
        pending = settings.secrets_dir / keys.NEXT_KEY_FILE
        if not pending.exists():
            chosen = keys.parse_key(args.new_key, "--new-key") if args.new_key else keys.new_key()
            create_private_file(pending, keys.format_key(chosen).encode("ascii"))
        new = keys.read_key_file(pending)

    async def run() -> None:
        async with _container(settings) as container:
            sealer = container.sealer
            if not isinstance(sealer, keys.AesGcmSecretSealer):  # pragma: no cover - the real container's
                raise CommandFailed("this deployment's app password keys cannot be rotated")
            done = await reseal(container.ports.uow, sealer.with_keys([*old, new]), sealer.with_keys([new]))
        if pending is not None:
            pending.replace(settings.secrets_dir / keys.KEY_FILE)
        _show(resealed=done.resealed, unreadable=done.unreadable)
        if done.unreadable:
            _warning(f"{done.unreadable} app passwords were sealed under an unknown key: token auth fails for them")
        if pending is None:
            print("now set SONO_SUBSONIC_KEY to the new key on every instance and restart them")

    asyncio.run(run())
    return EXIT_OK


# --------------------------------------------------------------------------- jobs


def _cmd_jobs_run_due(settings: Settings, args: argparse.Namespace) -> int:
    async def run_due() -> None:
        async with _container(settings) as container:
            from sono.entrypoints.worker import run_due_jobs

            report = await run_due_jobs(container)
        _show(
            deletions_executed=report.deletions_executed,
            reset_tokens_purged=report.reset_tokens_purged,
            sessions_purged=report.sessions_purged,
            orphaned_objects_purged=report.orphaned_objects_purged,
            spool_files_purged=report.spool_files_purged,
            audit_entries_purged=report.audit_entries_purged,
        )

    asyncio.run(run_due())
    return EXIT_OK


def _cmd_jobs_failed(settings: Settings, args: argparse.Namespace) -> int:
    async def failed() -> None:
        async with _container(settings) as container:
            from sono.application.delivery.messages import FailedDeliveries
            from sono.application.messages import Actor

            entries = await container.bus(FailedDeliveries(args.limit), Actor.operator())
        for entry in entries:
            if args.json:
                print(
                    json.dumps(
                        {
                            "id": entry.id,
                            "event": entry.event,
                            "reaction": entry.reaction,
                            "attempts": entry.attempts,
                            "failed_at": entry.failed_at.isoformat() if entry.failed_at else None,
                            "created_at": entry.created_at.isoformat(),
                            "last_error": entry.last_error,
                            "payload": entry.payload,
                        }
                    )
                )
            else:
                failed_at = entry.failed_at.isoformat(timespec="seconds") if entry.failed_at else "-"
                error = (entry.last_error or "").splitlines()[0] if entry.last_error else ""
                print(f"{entry.id}\t{failed_at}\t{entry.event}\t{entry.reaction}\t{entry.attempts}\t{error}")

    asyncio.run(failed())
    return EXIT_OK


def _cmd_jobs_retry(settings: Settings, args: argparse.Namespace) -> int:
    if bool(args.ids) == bool(args.all):
        raise UsageError("give the ids of failed deliveries to retry, or --all")

    async def retry() -> int:
        async with _container(settings) as container:
            from sono.application.delivery.messages import RequeueDeliveries
            from sono.application.messages import Actor

            return await container.bus(RequeueDeliveries(None if args.all else args.ids), Actor.operator())

    _show(requeued=asyncio.run(retry()))
    return EXIT_OK


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import signal

    from sono.entrypoints.worker import Worker

    if settings.job_engine == "saq":
        return _saq_worker(settings, args)

    async def work() -> None:
        async with _container(settings) as container:
            worker = Worker(
                container,
                concurrency=args.concurrency,
                poll_seconds=args.poll,
                jobs_interval_seconds=settings.jobs_interval_seconds,
                heartbeat=Path(args.heartbeat) if args.heartbeat else None,
            )
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, worker.stop)
            log.info("worker started (concurrency %d)", args.concurrency)
            try:
                await worker.run()
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)
            log.info("worker stopped after %d deliveries", worker.delivered)

    asyncio.run(work())
    return EXIT_OK


def _saq_worker(settings: Settings, args: argparse.Namespace) -> int:
    """``sono worker`` on SAQ: SAQ's worker runs the deliveries and the schedule, and stops on
    SIGTERM/SIGINT after the jobs in hand (its grace period)."""
    from sono.entrypoints.worker import saq_worker

    async def work() -> None:
        async with _container(settings) as container:
            worker = saq_worker(
                container,
                concurrency=args.concurrency,
                heartbeat=Path(args.heartbeat) if args.heartbeat else None,
            )
            log.info("worker started on SAQ (concurrency %d)", args.concurrency)
            await worker.start()  # SAQ handles SIGTERM/SIGINT itself; returns once stopped
            log.info("worker stopped")

    asyncio.run(work())
    return EXIT_OK


# --------------------------------------------------------------------------- backup

NOT_EMBEDDED = (
    "`sono backup` covers the embedded defaults (a SQLite database and media on local disk); this"
    " deployment keeps {what} elsewhere. Back it up with the tools of each service instead: the"
    " database with `pg_dump --format=custom` (restore with `pg_restore`), the S3 bucket with"
    " versioning or `aws s3 sync` / `mc mirror`, and the secrets (SONO_SECRET_KEY,"
    " SONO_REFRESH_SECRET_KEY, the RSA key in $SONO_DATA_DIR/secrets or SONO_RSA_PRIVATE_KEY_FILE,"
    " SONO_SUBSONIC_KEY or the Subsonic key in $SONO_DATA_DIR/secrets);"
    " README.md, section Backups, gives the commands"
)


def _backup_service(settings: Settings) -> BackupService:
    from sono.bootstrap import build_backup_service

    service = build_backup_service(settings)
    if service is None:
        where = [
            name
            for name, used in (("its database", not settings.is_sqlite), ("its media", settings.storage != "local"))
            if used
        ]
        raise CommandFailed(NOT_EMBEDDED.format(what=" and ".join(where) or "its data"))
    return service


def _cmd_backup_create(settings: Settings, args: argparse.Namespace) -> int:
    report = asyncio.run(_backup_service(settings).create(Path(args.folder)))
    _show(
        backup=report.folder,
        files=report.files,
        bytes=report.bytes,
        sono_version=report.manifest.sono_version,
        created_at=report.manifest.created_at.isoformat().replace("+00:00", "Z"),
    )
    outside = [
        name
        for name, value in (
            ("SONO_SECRET_KEY", settings.secret_key),
            ("SONO_REFRESH_SECRET_KEY", settings.refresh_secret_key),
            ("SONO_RSA_PRIVATE_KEY_FILE", settings.rsa_private_key_file),
            ("SONO_SUBSONIC_KEY", settings.subsonic_key),
        )
        if value
    ]
    if outside:
        _warning(f"{', '.join(outside)} come from the environment, not the data folder: keep them with the backup")
    return EXIT_OK


def _cmd_backup_restore(settings: Settings, args: argparse.Namespace) -> int:
    report = asyncio.run(_backup_service(settings).restore(Path(args.folder), force=args.force))
    _show(
        restored=args.folder,
        files=len(report.manifest.entries),
        sono_version=report.manifest.sono_version,
        created_at=report.manifest.created_at.isoformat().replace("+00:00", "Z"),
        overwrote=report.overwrote,
    )
    return EXIT_OK


# --------------------------------------------------------------------------- audit


def _cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from sono.application.audit.messages import ReadAuditLog
    from sono.application.messages import Actor
    from sono.domain.gdpr import AuditFilter

    spec = AuditFilter(args.actor, args.user, args.action, args.since, args.until)

    async def read() -> Page[AuditEntry]:
        async with _container(settings) as container:
            return await container.bus(ReadAuditLog(spec, args.skip, args.limit), Actor.operator())

    page = asyncio.run(read())
    for entry in page.items:
        if args.json:
            print(json.dumps(_audit_json(entry), ensure_ascii=False, sort_keys=True))
        else:
            print(_audit_line(entry))
    if not args.json:
        shown = f"{page.skip + 1}-{page.skip + len(page.items)}" if page.items else "none"
        print(f"-- {shown} of {page.total} entries", file=sys.stderr)
    return EXIT_OK


def _audit_json(entry: AuditEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "event": entry.event,
        "created_at": entry.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "actor_id": entry.actor_id,
        "user_id": entry.user_id,
        "ip_address": entry.ip_address,
        "success": entry.success,
        "details": entry.details,
    }


def _audit_line(entry: AuditEntry) -> str:
    """One entry on one line; details as ``key=value`` (printable: a detail could hold anything)."""
    from sono.entrypoints.http.logtext import printable

    when = entry.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    details = " ".join(
        f"{key}={printable(value if isinstance(value, str) else json.dumps(value))}"
        for key, value in entry.details.items()
    )
    parts = [
        when,
        entry.event,
        f"actor={entry.actor_id if entry.actor_id is not None else '-'}",
        f"user={entry.user_id if entry.user_id is not None else '-'}",
        f"ip={entry.ip_address or '-'}",
    ]
    return " ".join([*parts, details]).rstrip()


def _moment(text: str) -> datetime:
    """An ISO 8601 date or time; without an offset, UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --------------------------------------------------------------------------- kworb


def _cmd_kworb_import(settings: Settings, args: argparse.Namespace) -> int:
    from sono.adapters.charts import charts_importer, display_url, import_database_url
    from sono.application.charts import ChartSources

    url = import_database_url(settings)

    async def run() -> None:
        async with charts_importer(url, fetch_timeout=args.timeout) as importer:
            report = await importer.run(ChartSources(args.artists, args.listeners, args.songs))
        _show(
            top_streamed_artists=report.top_streamed,
            monthly_listeners=report.monthly_listeners,
            top_songs=report.top_songs,
            scraped_at=report.scraped_at.isoformat().replace("+00:00", "Z"),
            kworb_database_url=display_url(url),
        )
        if not settings.kworb_database_url:
            print(f"set KWORB_DATABASE_URL={display_url(url)} for `sono serve` to serve these charts")

    asyncio.run(run())
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sono",
        description="Sono: the backend of a music sharing platform. Settings come from SONO_* variables and .env.",
    )
    parser.add_argument("--version", action="version", version=f"sono {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8000, help="port to bind, 1..65535 (default: %(default)s)")
    serve.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default: %(default)s)")
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not upgrade the database first (also SONO_MIGRATE_ON_START=false)"
    )
    serve.set_defaults(handler=_cmd_serve)

    db = commands.add_parser("db", help="database migrations").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    upgrade = db.add_parser("upgrade", help="upgrade the schema (to the latest revision by default)")
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: %(default)s)")
    upgrade.set_defaults(handler=_cmd_db)
    downgrade = db.add_parser("downgrade", help="downgrade the schema to REVISION ('base' removes it all)")
    downgrade.add_argument("revision", help="target revision")
    downgrade.set_defaults(handler=_cmd_db)
    db.add_parser("current", help="print the current revision").set_defaults(handler=_cmd_db)
    revision = db.add_parser(
        "revision", help="write a new migration (numbered after the head) into the migrations folder"
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration does (names the file)")
    revision.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill it with the differences between the database (at head) and the tables in code",
    )
    revision.set_defaults(handler=_cmd_db)

    users = commands.add_parser("users", help="user accounts").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    create = users.add_parser("create-admin", help="create an administrator account")
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="the password (asked for twice when left out)")
    create.add_argument("--display-name", default=None)
    create.set_defaults(handler=_cmd_users_create_admin)
    promote = users.add_parser("promote", help="make an existing user an administrator")
    promote.add_argument("username")
    promote.set_defaults(handler=_cmd_users_promote)
    upload_limit = users.add_parser(
        "set-upload-limit",
        help="set how many audio files a user may keep, 0..1,000,000 (as PUT /admin/users/{id}/upload-limit);"
        " new accounts get SONO_DEFAULT_UPLOAD_LIMIT",
    )
    upload_limit.add_argument("username")
    upload_limit.add_argument("limit", type=_non_negative_int, metavar="N")
    upload_limit.set_defaults(handler=_cmd_users_set_upload_limit)

    library = commands.add_parser("library", help="the music library").add_subparsers(
        dest="library_command", required=True, metavar="ACTION"
    )
    library_import = library.add_parser(
        "import",
        help="import every audio file of a folder (recursively) or of a ZIP file for a user, skipping what is"
        " already there",
        description="Import every audio file of PATH (a folder, walked recursively, or a ZIP file, read without"
        " extracting it) for the user USERNAME, through the same upload use case as the API.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    library_import.add_argument("path", metavar="PATH", help="a folder or a .zip file")
    library_import.add_argument("--owner", required=True, metavar="USERNAME", help="the user the files are for")
    library_import.add_argument("--public", action="store_true", help="make the imported files public")
    library_import.add_argument(
        "--dry-run", action="store_true", help="report what would be imported, skipped and refused; write nothing"
    )
    library_import.set_defaults(handler=_cmd_library_import)

    maintenance = commands.add_parser("maintenance", help="maintenance mode").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    on = maintenance.add_parser("on", help="turn maintenance mode on")
    on.add_argument("--message", default=None, help="message shown to clients (at most 200 characters)")
    maintenance.add_parser("off", help="turn maintenance mode off")
    maintenance.add_parser("status", help="print the maintenance state")
    for action in ("on", "off", "status"):
        maintenance.choices[action].set_defaults(handler=_cmd_maintenance)

    from sono.application.charts import KWORB_PAGES

    kworb = commands.add_parser("kworb", help="Kworb charts").add_subparsers(
        dest="kworb_command", required=True, metavar="ACTION"
    )
    kworb_import = kworb.add_parser(
        "import",
        help="load Kworb's chart pages (URLs or files) into the charts database (KWORB_DATABASE_URL, else the"
        " SQLite file $SONO_DATA_DIR/kworb.db), replacing the previous snapshot",
    )
    for option, chart, page in (
        ("--artists", "top_streamed", "the most streamed artists"),
        ("--listeners", "monthly_listeners", "the artists' monthly listeners"),
        ("--songs", "top_songs", "the most streamed songs"),
    ):
        kworb_import.add_argument(
            option, default=KWORB_PAGES[chart], metavar="URL_OR_FILE", help=f"{page} (default: %(default)s)"
        )
    kworb_import.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per page download (default: %(default)s)"
    )
    kworb_import.set_defaults(handler=_cmd_kworb_import)

    audit = commands.add_parser("audit", help="read the audit log, newest first")
    audit.add_argument("--actor", type=_positive_int, metavar="USER_ID", help="entries of actions by this user")
    audit.add_argument("--user", type=_positive_int, metavar="USER_ID", help="entries about this user")
    audit.add_argument(
        "--action", metavar="ACTION", help="an event (auth.login.failure), a prefix (auth.*) or an admin action"
    )
    audit.add_argument("--since", type=_moment, metavar="WHEN", help="from this ISO 8601 date or time (UTC)")
    audit.add_argument("--until", type=_moment, metavar="WHEN", help="before this ISO 8601 date or time (UTC)")
    audit.add_argument("--skip", type=_non_negative_int, default=0, help="entries to skip (default: %(default)s)")
    audit.add_argument("--limit", type=_page_size, default=50, help="entries to show, 1..1000 (default: %(default)s)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=_cmd_audit)

    subsonic = commands.add_parser("subsonic", help="the Subsonic API").add_subparsers(
        dest="subsonic_command", required=True, metavar="COMMAND"
    )
    rotate = subsonic.add_parser("rotate-key", help="re-encrypt every Subsonic app password under a new key")
    rotate.add_argument("--new-key", help="the new key (32 bytes as hex or base64); generated when left out")
    rotate.set_defaults(handler=_cmd_subsonic_rotate_key)

    jobs = commands.add_parser("jobs", help="periodic jobs").add_subparsers(
        dest="jobs_command", required=True, metavar="ACTION"
    )
    jobs.add_parser(
        "run-due",
        help="run due account deletions, purge expired tokens and orphaned objects (idempotent, safe to run anywhere)",
    ).set_defaults(handler=_cmd_jobs_run_due)
    jobs_failed = jobs.add_parser("failed", help="list the event deliveries that failed for good, oldest first")
    jobs_failed.add_argument(
        "--limit", type=_page_size, default=100, help="rows to show, 1..1000 (default: %(default)s)"
    )
    jobs_failed.add_argument("--json", action="store_true", help="one JSON object per line")
    jobs_failed.set_defaults(handler=_cmd_jobs_failed)
    jobs_retry = jobs.add_parser("retry", help="requeue failed event deliveries (their ids, or --all)")
    jobs_retry.add_argument("ids", nargs="*", type=_positive_int, metavar="ID")
    jobs_retry.add_argument("--all", action="store_true", help="every failed delivery")
    jobs_retry.set_defaults(handler=_cmd_jobs_retry)

    worker = commands.add_parser(
        "worker",
        help="deliver domain events from the outbox and run the periodic jobs every SONO_JOBS_INTERVAL_SECONDS,"
        " until SIGTERM or SIGINT",
    )
    worker.add_argument(
        "--concurrency", type=_positive_int, default=2, help="deliveries run at once (default: %(default)s)"
    )
    worker.add_argument(
        "--poll", type=_seconds, default=1.0, help="seconds between looks at an empty outbox (default: %(default)s)"
    )
    worker.add_argument(
        "--heartbeat",
        metavar="FILE",
        help="touch FILE after each successful run of the periodic jobs (for a container's healthcheck)",
    )
    worker.set_defaults(handler=_cmd_worker)

    backup = commands.add_parser(
        "backup", help="back up or restore the embedded defaults (SQLite, local media, secrets)"
    ).add_subparsers(dest="backup_command", required=True, metavar="ACTION")
    backup_create = backup.add_parser(
        "create",
        help="write a consistent backup into FOLDER (new or empty) while the server keeps running:"
        " the database, media and secrets, and a manifest of their checksums",
    )
    backup_create.add_argument("folder", metavar="FOLDER")
    backup_create.set_defaults(handler=_cmd_backup_create)
    backup_restore = backup.add_parser(
        "restore",
        help="check a backup's checksums, then restore it into $SONO_DATA_DIR (refused when it already"
        " holds data, unless --force)",
    )
    backup_restore.add_argument("folder", metavar="FOLDER")
    backup_restore.add_argument(
        "--force", action="store_true", help="overwrite the database, media and secrets there (stop the server first)"
    )
    backup_restore.set_defaults(handler=_cmd_backup_restore)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not 0.01 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0.01 and 3600")
    return value


def _non_negative_int(text: str) -> int:
    return _positive_int(text) if text.strip() != "0" else 0


def _page_size(text: str) -> int:
    value = _positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError("must be at most 1000")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {value}")
    return value


def _command_name(args: argparse.Namespace) -> str:
    """``jobs run-due``: the command and its action, as the ``route`` of its log lines."""
    words = [getattr(args, "command", None) or "sono"]
    words += [str(value) for name, value in vars(args).items() if name.endswith("_command") and value]
    return " ".join(words)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        load_dotenv_file()
        for warning in unknown_variables():
            _warning(warning)
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        with bound_run(_command_name(args)):  # one id for the command's lines
            return handler(settings, args)
    except (ConfigError, UsageError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except ValidationFailed as exc:
        for problem in exc.errors:
            _error(problem.msg)
        return EXIT_FAILED
    except (SonoError, CommandFailed) as exc:
        _error(exc.detail if isinstance(exc, SonoError) else str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback on the terminal unless asked for
        from sono.adapters.sqlalchemy.errors import scrub

        shown = scrub(exc)  # a database driver's message could quote values
        log.debug("command failed", exc_info=shown)
        _error(f"{type(shown).__name__}: {shown} (SONO_LOG_LEVEL=debug shows the traceback)")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
