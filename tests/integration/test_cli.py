"""The ``sono`` command line, run in-process through ``main([...])`` (and once as a real process),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sono.config import KNOWN_VARIABLES, load_settings
from sono.domain.users import User
from sono.entrypoints.cli import main

T = TypeVar("T")

STRONG_PASSWORD = "Str0ng!Passw0rd"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def field(self, name: str) -> str:
        """The value of a ``name: value`` line of the output."""
        for line in self.out.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key == name:
                return value
        raise AssertionError(f"no {name!r} line in {self.out!r}")


Sono = Callable[..., Result]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database the commands run on: the embedded SQLite default, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("SONO_DATABASE_URL", url)
        return url
    return f"sqlite+aiosqlite:///{(cli_env / 'sono.db').resolve()}"


@pytest.fixture
def sono(capsys: pytest.CaptureFixture[str]) -> Sono:
    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def migrated(database_url: str, sono: Sono) -> str:
    result = sono("db", "upgrade")
    assert result.code == 0, result.err
    return database_url


def _in_uow(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` in one committed unit of work on the database, straight through the adapter."""
    from sono.adapters.sqlalchemy.engine import create_engine
    from sono.adapters.sqlalchemy.uow import SqlUnitOfWorkFactory

    async def run() -> T:
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(engine)() as uow:
                result = await work(uow)
                await uow.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _user(url: str, username: str) -> User | None:
    async def get(uow: Any) -> User | None:
        return await uow.users.get_by_username(username)

    return _in_uow(url, get)


def _superuser(url: str, username: str) -> bool:
    user = _user(url, username)
    assert user is not None
    return user.is_superuser


def _register(username: str) -> int:
    """A regular user, made through the use case as the API would."""
    from sono.application.accounts.messages import Register
    from sono.application.common import PasswordInput
    from sono.application.messages import ANONYMOUS
    from sono.bootstrap import build_container
    from sono.config import load_settings

    async def register() -> int:
        container = await build_container(load_settings())
        try:
            user = (
                await container.bus(
                    Register(username, f"{username}@example.com", PasswordInput(STRONG_PASSWORD)), ANONYMOUS
                )
            ).user
        finally:
            await container.aclose()
        assert user.id is not None
        return user.id

    return asyncio.run(register())


# --------------------------------------------------------------------------- db


def test_db_upgrade_current_downgrade_upgrade(database_url: str, sono: Sono) -> None:
    if database_url.startswith("sqlite"):  # no file yet: said, not created
        assert sono("db", "current").code == 1
    else:
        assert sono("db", "current").field("revision") == "base"

    upgraded = sono("db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    head = upgraded.field("revision")
    assert head != "base"
    assert sono("db", "current").field("revision") == head
    assert sono("db", "upgrade").field("revision") == head  # idempotent

    downgraded = sono("db", "downgrade", "base")
    assert downgraded.code == 0, downgraded.err
    assert downgraded.field("revision") == "base"
    assert sono("db", "current").field("revision") == "base"

    assert sono("db", "upgrade", "head").field("revision") == head


def test_commands_on_a_database_without_schema_say_what_to_do(database_url: str, sono: Sono) -> None:
    result = sono("maintenance", "status")
    assert result.code == 1
    assert "sono db upgrade" in result.err
    assert "Traceback" not in result.err


def test_commands_that_only_read_create_no_database(
    cli_env: Path, tmp_path: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    for data_dir in (None, cli_env):  # the default ./var, and a configured folder
        if data_dir is None:
            monkeypatch.delenv("SONO_DATA_DIR")
        else:
            monkeypatch.setenv("SONO_DATA_DIR", str(data_dir))
        where = (tmp_path / "var" if data_dir is None else data_dir).resolve() / "sono.db"
        for command in (
            ["db", "current"],
            ["db", "downgrade", "base"],
            ["maintenance", "status"],
            ["maintenance", "off"],
            ["jobs", "run-due"],
        ):
            result = sono(*command)
            assert result.code == 1, (command, result.out, result.err)
            assert result.err.strip() == (
                f"error: no database at {where}; `sono db upgrade` (or `sono serve`) creates it"
            ), command
            assert result.out == ""
        assert not (tmp_path / "var").exists()
        assert not cli_env.exists()
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_a_port_out_of_range_as_a_usage_error(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for port in ("70000", "0", "-1", "9" * 5000, "http"):
        with pytest.raises(SystemExit) as exc:
            main(["serve", "--port", port])
        assert exc.value.code == 2, port
        err = capsys.readouterr().err
        assert "argument --port:" in err and "Traceback" not in err and "Overflow" not in err, err[-300:]
    with pytest.raises(SystemExit):
        main(["serve", "--port", "70000"])
    assert capsys.readouterr().err.strip().endswith("argument --port: must be between 1 and 65535, got 70000")


# --------------------------------------------------------------------------- users


def test_create_admin_makes_a_superuser(migrated: str, sono: Sono) -> None:
    result = sono(
        "users", "create-admin", "--username", "boss", "--email", "boss@example.com", "--password", STRONG_PASSWORD
    )
    assert result.code == 0, result.err
    user = _user(migrated, "boss")
    assert user is not None
    assert user.is_superuser is True
    assert result.field("id") == str(user.id)
    assert result.field("is_superuser") == "true"

    again = sono(
        "users", "create-admin", "--username", "boss", "--email", "other@example.com", "--password", STRONG_PASSWORD
    )
    assert again.code == 1
    assert again.err.strip() == "error: Username already taken"
    taken = sono(
        "users", "create-admin", "--username", "boss2", "--email", "BOSS@example.com", "--password", STRONG_PASSWORD
    )
    assert taken.code == 1
    assert taken.err.strip() == "error: Email already registered"


def test_create_admin_applies_the_registration_rules(migrated: str, sono: Sono) -> None:
    weak = sono(
        "users", "create-admin", "--username", "boss", "--email", "boss@example.com", "--password", "NoDigits!!"
    )
    assert weak.code == 1
    assert "error: Password must contain at least one number" in weak.err
    assert "Traceback" not in weak.err

    bad = sono("users", "create-admin", "--username", "x", "--email", "not-an-email", "--password", STRONG_PASSWORD)
    assert bad.code == 1
    assert bad.err.count("error: ") == 2  # one line per broken rule
    assert _user(migrated, "x") is None


def test_create_admin_asks_for_the_password_twice(migrated: str, sono: Sono, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sono.entrypoints.cli._stdin_is_a_terminal", lambda: True)
    answers = iter(["Typo!Passw0rd", STRONG_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    mismatch = sono("users", "create-admin", "--username", "boss", "--email", "boss@example.com")
    assert mismatch.code == 1
    assert "do not match" in mismatch.err

    answers = iter([STRONG_PASSWORD, STRONG_PASSWORD])
    created = sono("users", "create-admin", "--username", "boss", "--email", "boss@example.com")
    assert created.code == 0, created.err
    assert _superuser(migrated, "boss") is True


def test_create_admin_without_a_terminal_needs_the_password_option(
    migrated: str, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(STRONG_PASSWORD + "\n"))  # piped in: not a terminal

    def never(prompt: str = "") -> str:
        raise AssertionError("asked for a password without a terminal")

    monkeypatch.setattr("getpass.getpass", never)
    result = sono("users", "create-admin", "--username", "boss", "--email", "boss@example.com")
    assert result.code == 2
    assert result.err == (
        "error: no terminal to ask for the password on: pass --password, or run the command in a terminal\n"
    )
    assert _user(migrated, "boss") is None


def test_create_admin_without_a_terminal_as_a_real_process(cli_env: Path) -> None:
    subprocess.run([sys.executable, "-m", "sono", "db", "upgrade"], check=True, capture_output=True, timeout=120)
    done = subprocess.run(
        [sys.executable, "-m", "sono", "users", "create-admin", "--username", "boss", "--email", "boss@example.com"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no terminal to ask for the password on: pass --password")
    assert "Traceback" not in done.stderr


def test_promote(migrated: str, sono: Sono) -> None:
    user_id = _register("alice")
    assert _superuser(migrated, "alice") is False

    result = sono("users", "promote", "alice")
    assert result.code == 0, result.err
    assert result.field("id") == str(user_id)
    assert _superuser(migrated, "alice") is True

    missing = sono("users", "promote", "nobody")
    assert missing.code == 1
    assert missing.err.strip() == "error: User not found"


def test_set_upload_limit_through_the_admin_use_case(
    migrated: str, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONO_DEFAULT_UPLOAD_LIMIT", "7")
    user_id = _register("alice")
    alice = _user(migrated, "alice")
    assert alice is not None and alice.max_audio_uploads == 7  # new accounts get SONO_DEFAULT_UPLOAD_LIMIT

    result = sono("users", "set-upload-limit", "alice", "1000000")
    assert result.code == 0, result.err
    assert (result.field("id"), result.field("max_audio_uploads")) == (str(user_id), "1000000")
    assert (result.field("used_uploads"), result.field("remaining_uploads")) == ("0", "1000000")
    alice = _user(migrated, "alice")
    assert alice is not None and alice.max_audio_uploads == 1_000_000

    over = sono("users", "set-upload-limit", "alice", "1000001")
    assert over.code == 1
    assert over.err.strip() == "error: Upload limit must be between 0 and 1,000,000"
    with pytest.raises(SystemExit) as negative:
        sono("users", "set-upload-limit", "alice", "-1")
    assert negative.value.code == 2
    missing = sono("users", "set-upload-limit", "nobody", "5")
    assert missing.code == 2
    assert missing.err.strip() == "error: no user named 'nobody'"
    alice = _user(migrated, "alice")
    assert alice is not None and alice.max_audio_uploads == 1_000_000

    entries = sono("audit", "--action", "set_upload_limit", "--json")
    assert [json.loads(line)["details"]["max_audio_uploads"] for line in entries.out.splitlines()] == [1_000_000]


# --------------------------------------------------------------------------- maintenance


def test_maintenance_on_status_off(migrated: str, sono: Sono) -> None:
    status = sono("maintenance", "status")
    assert status.code == 0, status.err
    assert status.field("enabled") == "false"

    on = sono("maintenance", "on", "--message", "Back at 3pm")
    assert on.code == 0, on.err
    assert on.out == "enabled: true\nmessage: Back at 3pm\n"
    assert sono("maintenance", "status").out == "enabled: true\nmessage: Back at 3pm\n"

    too_long = sono("maintenance", "on", "--message", "x" * 201)
    assert too_long.code == 1
    assert "at most 200 characters" in too_long.err
    assert sono("maintenance", "status").field("message") == "Back at 3pm"

    off = sono("maintenance", "off")
    assert off.code == 0, off.err
    assert off.field("enabled") == "false"
    assert sono("maintenance", "status").field("enabled") == "false"


# --------------------------------------------------------------------------- jobs


def test_jobs_run_due_executes_due_deletions_once(migrated: str, sono: Sono) -> None:
    from sono.domain.gdpr import DeletionRequest, DeletionType

    user_id = _register("leaving")
    _register("staying")
    past = datetime.now(UTC) - timedelta(days=8)

    async def schedule(uow: Any) -> None:
        request = DeletionRequest(
            user_id=user_id,
            deletion_type=DeletionType.HARD,
            requested_at=past,
            scheduled_for=past + timedelta(days=7),
        )
        await uow.deletions.add(request)

    _in_uow(migrated, schedule)

    first = sono("jobs", "run-due")
    assert first.code == 0, first.err
    assert first.field("deletions_executed") == "1"
    assert _user(migrated, "leaving") is None
    assert _user(migrated, "staying") is not None

    second = sono("jobs", "run-due")
    assert second.code == 0, second.err
    assert second.field("deletions_executed") == "0"


def test_audit_reads_the_log_filtered_and_jobs_apply_its_retention(
    migrated: str, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sono.domain.gdpr import AuditEntry, AuditEvent

    alice = _register("alice")
    old = datetime.now(UTC) - timedelta(days=40)

    async def add_entries(uow: Any) -> None:
        await uow.audit.add(AuditEntry(AuditEvent.LOGIN_FAILURE, old, user_id=alice, ip_address="192.0.2.7"))
        await uow.audit.add(AuditEntry(AuditEvent.ADMIN_ACTION, old, user_id=alice, details={"action": "disable"}))

    _in_uow(migrated, add_entries)

    listed = sono("audit", "--user", str(alice))
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert [line.split()[2] for line in lines] == ["user.register", "admin.action", "auth.login.failure"]
    assert "ip=192.0.2.7" in lines[2] and "action=disable" in lines[1]
    assert "1-3 of 3 entries" in listed.err

    as_json = sono("audit", "--action", "auth.*", "--json")
    assert as_json.code == 0, as_json.err
    (failure,) = [json.loads(line) for line in as_json.out.splitlines()]
    assert (failure["event"], failure["user_id"], failure["success"]) == ("auth.login.failure", alice, False)
    for usage in (["--since", "tomorrow"], ["--limit", "0"], ["--user", "x"]):
        with pytest.raises(SystemExit) as refused:
            sono("audit", *usage)
        assert refused.value.code == 2, usage

    monkeypatch.setenv("SONO_AUDIT_RETENTION_DAYS", "30")
    swept = sono("jobs", "run-due")
    assert swept.code == 0, swept.err
    assert swept.field("audit_entries_purged") == "2"
    remaining = sono("audit", "--user", str(alice), "--json")
    assert [json.loads(line)["event"] for line in remaining.out.splitlines()] == ["user.register"]


def test_jobs_run_due_removes_spooled_uploads_left_by_a_dead_process(
    migrated: str, sono: Sono, cli_env: Path, tmp_path: Path
) -> None:
    """Spool files untouched for over an hour go; a fresh one (a live upload), a folder and
    whatever a symbolic link in the spool folder points to stay."""
    spool = cli_env / "tmp"
    spool.mkdir(parents=True, exist_ok=True)
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    dead, live, folder = spool / "upload-dead.part", spool / "upload-live.part", spool / "folder"
    outside = tmp_path / "outside.txt"
    for file in (dead, live, outside):
        file.write_bytes(b"x")
    folder.mkdir()
    link = spool / "link.part"
    link.symlink_to(outside)
    for path in (dead, folder, outside):
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(link, (two_hours_ago, two_hours_ago), follow_symlinks=False)

    result = sono("jobs", "run-due")

    assert result.code == 0, result.err
    assert result.field("spool_files_purged") == "1"
    assert sorted(path.name for path in spool.iterdir()) == ["folder", "link.part", "upload-live.part"]
    assert outside.read_bytes() == b"x"


# --------------------------------------------------------------------------- configuration errors


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SONO_SMTP_PORT", "abc"),
        ("SONO_DATABASE_URL", "mysql://localhost/sono"),
        ("SONO_RATE_LIMITS_ENABLED", "maybe"),
        ("SONO_SECRET_KEY", "short"),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(
    cli_env: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    for command in (["maintenance", "status"], ["db", "current"], ["serve"]):
        result = sono(*command)
        assert result.code == 2
        assert result.err.startswith("error: ")
        assert variable in result.err
        assert "Traceback" not in result.err
        assert result.out == ""


def test_production_without_secrets_names_the_missing_variable(
    cli_env: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONO_ENV", "production")
    result = sono("jobs", "run-due")
    assert result.code == 2
    assert result.err.strip() == "error: SONO_SECRET_KEY must be set when SONO_ENV=production"


def test_dotenv_file_is_read(cli_env: Path, sono: Sono) -> None:
    Path(".env").write_text("SONO_SMTP_TIMEOUT=-1\n")
    result = sono("db", "current")
    assert result.code == 2
    assert "SONO_SMTP_TIMEOUT" in result.err


def test_the_env_example_is_a_valid_dotenv(cli_env: Path, sono: Sono) -> None:
    shutil.copy(Path(__file__).resolve().parents[2] / ".env.example", ".env")
    result = sono("db", "upgrade")
    assert result.code == 0, result.err
    assert sono("maintenance", "status").code == 0


def test_unreadable_rsa_key_file_is_a_configuration_error(
    migrated: str, sono: Sono, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONO_RSA_PRIVATE_KEY_FILE", str(Path("missing.pem").resolve()))
    result = sono("maintenance", "status")
    assert result.code == 2
    assert "missing.pem" in result.err
    assert "Traceback" not in result.err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["users", "create-admin", "--username", "only"])
    assert exc.value.code == 2


def test_as_a_real_process(cli_env: Path) -> None:
    """The module entry point exits with the command's code and prints no traceback."""
    env = {**os.environ, "SONO_SMTP_PORT": "70000"}
    done = subprocess.run(
        [sys.executable, "-m", "sono", "maintenance", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: SONO_SMTP_PORT must be between 1 and 65535, got 70000"

    upgraded = subprocess.run(
        [sys.executable, "-m", "sono", "db", "upgrade"], capture_output=True, text=True, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    status = subprocess.run(
        [sys.executable, "-m", "sono", "maintenance", "status"], capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("enabled: false\n")


class _RecordingEnv(dict[str, str]):
    """An empty environment that records every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def test_known_variables_are_exactly_those_the_settings_read() -> None:
    env = _RecordingEnv()
    load_settings(env)
    assert {name for name in env.asked if name.startswith("SONO_")} == set(KNOWN_VARIABLES)


def test_readme_documents_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    variables = {*KNOWN_VARIABLES, "KWORB_DATABASE_URL"}
    assert sorted(v for v in variables if f"`{v}`" not in readme) == []


def test_unknown_variables_are_reported_at_start_up(migrated: str, sono: Sono, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONO_DATABSE_URL", "postgresql://sono@db/sono")  # a typo
    monkeypatch.setenv("SONO_SMTP_TIMEOUTS", "3")
    monkeypatch.setenv("SONO_SOMETHING_ELSE", "x")
    monkeypatch.setenv("SONO_TEST_WHATEVER", "used by the tests")
    monkeypatch.setenv("SONO_CI_VENV", "/tmp/venv")
    result = sono("maintenance", "status")
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        "warning: unknown variable SONO_DATABSE_URL is ignored (did you mean SONO_DATABASE_URL?)",
        "warning: unknown variable SONO_SMTP_TIMEOUTS is ignored (did you mean SONO_SMTP_TIMEOUT?)",
        "warning: unknown variable SONO_SOMETHING_ELSE is ignored",
    ]
    assert result.out.startswith("enabled: false\n")


def test_known_and_test_variables_raise_no_warning(cli_env: Path, sono: Sono, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONO_DB_STATEMENT_TIMEOUT", "20")
    monkeypatch.setenv("SONO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test")
    result = sono("db", "upgrade")  # not `db current`: it would say there is no database yet
    assert result.code == 0, result.err
    assert result.err == ""


# --------------------------------------------------------------------------- version


def test_version_option_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"sono {importlib.metadata.version('sono')}\n"


def _version_in_a_bare_interpreter(tmp_path: Path, *, installed: str | None) -> str:
    """``sono.__version__`` in a process without site-packages, with (or without) package metadata
    saying ``installed``."""
    paths = [str(Path(__file__).resolve().parents[2] / "src")]
    if installed is not None:
        dist_info = tmp_path / f"sono-{installed}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: sono\nVersion: {installed}\n")
        paths.insert(0, str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import sono; print(sono.__version__)"],
        env={"PYTHONPATH": os.pathsep.join(paths), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_version_comes_from_the_package_metadata_else_the_source(tmp_path: Path) -> None:
    import re

    source = (Path(__file__).resolve().parents[2] / "src" / "sono" / "__init__.py").read_text()
    written = re.search(r'^__version__ = "([^"]+)"', source, re.MULTILINE)
    assert written  # the line the build (hatch) reads the version from
    assert _version_in_a_bare_interpreter(tmp_path, installed="9.8.7") == "9.8.7"
    assert _version_in_a_bare_interpreter(tmp_path / "none", installed=None) == written.group(1)


# --------------------------------------------------------------------------- the outbox and the worker


def _outbox_entry(keys: list[str]) -> Any:
    from sono.application.events import OutboxEntry

    now = datetime.now(UTC)
    return OutboxEntry("ObjectsReleased", "MediaReactions.delete_released", {"keys": keys}, now, now)


def test_jobs_failed_lists_and_retry_requeues(migrated: str, sono: Sono) -> None:
    async def arrange(uow: Any) -> list[int]:
        await uow.outbox.add([_outbox_entry(["audio/1/a.mp3"]), _outbox_entry(["audio/1/b.mp3"])])
        now = datetime.now(UTC)
        claimed = await uow.outbox.claim(now, now + timedelta(minutes=5), 10)
        for entry in claimed:
            await uow.outbox.fail(entry.id, entry.leased_until, now, "ServiceUnavailable: storage down")
        return [entry.id for entry in claimed]

    first, second = _in_uow(migrated, arrange)

    listed = sono("jobs", "failed")
    assert listed.code == 0, listed.err
    lines = [line.split("\t") for line in listed.out.splitlines()]
    assert [(int(line[0]), line[2], line[3], line[4], line[5]) for line in lines] == [
        (id_, "ObjectsReleased", "MediaReactions.delete_released", "1", "ServiceUnavailable: storage down")
        for id_ in (first, second)
    ]
    as_json = [json.loads(line) for line in sono("jobs", "failed", "--json").out.splitlines()]
    assert [row["payload"] for row in as_json] == [{"keys": ["audio/1/a.mp3"]}, {"keys": ["audio/1/b.mp3"]}]

    assert sono("jobs", "retry").code == 2  # ids or --all
    assert sono("jobs", "retry", str(first), "--all").code == 2
    assert sono("jobs", "retry", str(first)).field("requeued") == "1"
    assert [json.loads(line)["id"] for line in sono("jobs", "failed", "--json").out.splitlines()] == [second]
    assert sono("jobs", "retry", "--all").field("requeued") == "1"
    assert sono("jobs", "failed").out == ""


def test_worker_delivers_and_stops_on_sigterm(migrated: str, cli_env: Path) -> None:
    import signal
    import time

    media = load_settings().media_dir
    released = media / "audio" / "1" / "gone.mp3"
    released.parent.mkdir(parents=True, exist_ok=True)
    released.write_bytes(b"FAKE")

    async def arrange(uow: Any) -> None:
        await uow.outbox.add([_outbox_entry(["audio/1/gone.mp3"])])

    _in_uow(migrated, arrange)
    worker = subprocess.Popen(
        [sys.executable, "-m", "sono", "worker", "--concurrency", "2", "--poll", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):
            if not released.exists() or worker.poll() is not None:
                break
            time.sleep(0.05)
        assert not released.exists(), worker.communicate(timeout=5)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert "Traceback" not in err

    async def remaining(uow: Any) -> int:
        return int((await uow.outbox.stats()).queued)

    assert _in_uow(migrated, remaining) == 0
