"""The deployment files: ``docker-compose.yml``, ``Dockerfile``, ``requirements.lock`` and
``.env.example``. No Docker engine runs here, so the compose file is interpolated the way
``docker compose config`` does it and checked as YAML, its Sono containers' environment is
validated by Sono's own settings, and the lock file is checked against pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from sono.config import KNOWN_VARIABLES, load_settings
from sono.entrypoints.http.app import runs_jobs

ROOT = Path(__file__).resolve().parents[2]
OUR_IMAGE = "sono:"
SONO_SERVICES = ("api", "worker")
CREDENTIAL = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|ROOT_USER|TOKEN", re.IGNORECASE)

# What an operator's .env holds (the values .env.example asks for).
OPERATOR_ENV = {
    "SONO_SECRET_KEY": "s" * 40,
    "SONO_REFRESH_SECRET_KEY": "r" * 40,
    "SONO_PUBLIC_URL": "http://192.168.1.20:8000",
    "SONO_S3_PUBLIC_ENDPOINT": "http://192.168.1.20:9000",
    "POSTGRES_PASSWORD": "0123456789abcdef",
    "SONO_S3_ACCESS_KEY": "sono-admin",
    "SONO_S3_SECRET_KEY": "minio-secret-0123",
}

_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\})")


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?error}``, ``${VAR?error}`` and ``$$`` for a literal ``$``."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if name is None:
            return "$"
        value = env.get(name)
        unset = value is None or (operator is not None and operator.startswith(":") and value == "")
        if operator in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {argument}")
        if operator in (":-", "-") and unset:
            return interpolate(argument, env)
        return value or ""

    return _VARIABLE.sub(replace, text)


def compose(env: Mapping[str, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env))
    return loaded


def dotenv(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def container_env(service: dict[str, Any], dotenv_values: Mapping[str, str]) -> dict[str, str]:
    """What a container's process sees: the env_file, then ``environment:`` over it."""
    assert service["env_file"] in (".env", [".env"]), "the .env file must reach the container"
    return {**dotenv_values, **{k: str(v) for k, v in service["environment"].items()}}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = compose(OPERATOR_ENV)["services"]
    return services


# --------------------------------------------------------------------------- compose


def test_third_party_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        if image.startswith(OUR_IMAGE):
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and any(c.isdigit() for c in tag), f"{name}: {image} is not a version"


def test_every_service_has_a_health_check(services: dict[str, Any]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_service_limits_its_log_size(services: dict[str, Any]) -> None:
    for name, service in services.items():
        logging = service.get("logging") or {}
        assert logging.get("driver") == "json-file", name
        assert re.fullmatch(r"\d+[km]", logging["options"]["max-size"]), name
        assert int(logging["options"]["max-file"]) >= 1, name


def test_no_credential_is_written_in_the_file() -> None:
    """Every credential comes from a required variable: none has a default or a literal value."""
    text = (ROOT / "docker-compose.yml").read_text()
    raw = yaml.safe_load(text)
    seen = 0
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if CREDENTIAL.search(key):
                seen += 1
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", str(value)), f"{name}: {key} is {value!r}"
    assert seen >= 6  # POSTGRES_PASSWORD, MINIO_ROOT_*, SONO_S3_*, SONO_*SECRET_KEY
    database_url = raw["x-sono-environment"]["SONO_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in database_url
    assert not re.search(r"(PASSWORD|SECRET|KEY)[A-Z_]*:-", text), "a credential has a default"
    assert not re.search(r"postgresql://[^:/]+:[^$@]+@", text), "a literal database password"


@pytest.mark.parametrize("variable", sorted(OPERATOR_ENV))
def test_a_missing_required_variable_stops_compose_naming_it(variable: str) -> None:
    env = {name: value for name, value in OPERATOR_ENV.items() if name != variable}
    with pytest.raises(MissingVariable, match=variable):
        compose(env)
    with pytest.raises(MissingVariable, match=variable):
        compose({**env, variable: ""})  # .env.example's empty line counts as unset


def test_env_example_lists_every_required_variable_and_fills_none() -> None:
    example = (ROOT / ".env.example").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert required == set(OPERATOR_ENV)
    values = dotenv(example)
    for name in required:
        assert values.get(name) == "", f".env.example must leave {name}= for the operator to fill in"
    with pytest.raises(MissingVariable):
        compose(values)


def test_sono_containers_get_the_env_file_and_valid_production_settings(services: dict[str, Any]) -> None:
    operator = {
        **OPERATOR_ENV,
        "SONO_TRUSTED_PROXIES": "172.30.60.0/24",
        "SONO_SMTP_HOST": "smtp.example.com",
        "SONO_SMTP_PORT": "587",
        "SONO_SMTP_STARTTLS": "true",
        "SONO_SMTP_USERNAME": "mailer",
        "SONO_SMTP_PASSWORD": "smtp-password",
        "SONO_CORS_ORIGINS": "https://app.example.com",
    }
    for name in SONO_SERVICES:
        service = compose(operator)["services"][name]
        settings = load_settings(container_env(service, operator))
        assert settings.is_production and not settings.is_sqlite
        assert settings.database_url == "postgresql+asyncpg://sono:0123456789abcdef@postgres:5432/sono"
        assert settings.redis_url == "redis://redis:6379/0"
        assert (settings.storage, settings.s3_endpoint_url) == ("s3", "http://minio:9000")
        assert settings.s3_public_endpoint == "http://192.168.1.20:9000"
        assert settings.public_url == "http://192.168.1.20:8000"
        assert [str(n) for n in settings.trusted_proxies] == ["172.30.60.0/24"]
        assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.example.com", 587, True)
        assert (settings.smtp_username, settings.smtp_password) == ("mailer", "smtp-password")
        assert settings.cors_origins == ("https://app.example.com",)

    mailpit = load_settings(container_env(services["api"], OPERATOR_ENV))
    assert (mailpit.smtp_host, mailpit.smtp_port, mailpit.smtp_starttls) == ("mailpit", 1025, False)


def test_every_sono_variable_written_in_the_file_is_a_setting() -> None:
    names = set(re.findall(r"\b(SONO_[A-Z0-9_]+)\b", (ROOT / "docker-compose.yml").read_text()))
    assert names - KNOWN_VARIABLES == set()


def test_media_plays_from_the_lan(services: dict[str, Any]) -> None:
    """Presigned URLs name the public endpoint, and MinIO's S3 port answers on every interface;
    the API moves bytes over the compose network."""
    api = services["api"]["environment"]
    assert api["SONO_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert api["SONO_S3_PUBLIC_ENDPOINT"] == OPERATOR_ENV["SONO_S3_PUBLIC_ENDPOINT"]
    assert "9000:9000" in services["minio"]["ports"]
    assert "8000:8000" in services["api"]["ports"]


def test_auxiliary_ports_are_published_on_loopback_only(services: dict[str, Any]) -> None:
    public = {("api", "8000:8000"), ("minio", "9000:9000"), ("caddy", "80:80"), ("caddy", "443:443")}
    public.add(("caddy", "443:443/udp"))
    for name, service in services.items():
        for port in service.get("ports", []):
            assert (name, str(port)) in public or str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_a_worker_runs_the_jobs_and_the_api_does_not(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert worker["image"] == services["api"]["image"]
    assert worker["command"][:2] == ["sono", "worker"]
    assert "/tmp/sono-worker.alive" in worker["command"]  # what its healthcheck reads
    assert "/tmp/sono-worker.alive" in " ".join(worker["healthcheck"]["test"])
    assert worker["environment"]["SONO_MIGRATE_ON_START"] == "false"
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"
    api = load_settings(container_env(services["api"], OPERATOR_ENV))
    assert api.job_engine == load_settings(container_env(worker, OPERATOR_ENV)).job_engine == "saq"
    assert runs_jobs(api) is False  # the API processes only queue jobs


def test_the_reverse_proxy_is_an_optional_profile(services: dict[str, Any]) -> None:
    assert services["caddy"]["profiles"] == ["tls"]
    assert [name for name, service in services.items() if service.get("profiles")] == ["caddy"]
    mounted = [volume.split(":")[0] for volume in services["caddy"]["volumes"]]
    caddyfile = (ROOT / mounted[0]).read_text()
    assert "reverse_proxy api:8000" in caddyfile and "reverse_proxy minio:9000" in caddyfile


def test_services_wait_for_what_they_need(services: dict[str, Any]) -> None:
    for name, condition in services["api"]["depends_on"].items():
        assert condition["condition"] == "service_healthy", name
        assert name in services


# --------------------------------------------------------------------------- Dockerfile and lock file


def _lock() -> dict[str, tuple[Version, list[str]]]:
    """``name: (version, hashes)`` for every package of requirements.lock."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    packages = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, sep, version = requirement.partition("==")
        assert sep and ";" not in requirement, f"not pinned exactly: {line}"
        hashes = [option.removeprefix("--hash=sha256:") for option in options if option.startswith("--hash=sha256:")]
        assert len(hashes) == len(options) and hashes, f"no sha256 hash: {line}"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), line
        packages[canonicalize_name(name)] = (Version(version), hashes)
    return packages


def _pyproject_dependencies() -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(r) for r in [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]]


IMAGE_PLATFORM = {
    "python_version": "3.11",
    "python_full_version": "3.11.13",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def _applies(requirement: Requirement, extra: str = "") -> bool:
    return requirement.marker is None or requirement.marker.evaluate({**IMAGE_PLATFORM, "extra": extra})


def test_the_lock_pins_every_package_with_hashes() -> None:
    assert len(_lock()) > 30


def test_the_lock_satisfies_pyproject() -> None:
    lock = _lock()
    for requirement in _pyproject_dependencies():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement} is not in requirements.lock: regenerate it"
        assert requirement.specifier.contains(lock[name][0], prereleases=True), f"{requirement} vs {lock[name][0]}"


def test_the_lock_is_closed_under_dependencies() -> None:
    """What the image installs with --no-deps is complete: every requirement (for Python 3.11 on
    Linux) of every locked package is locked too, as far as this environment's installed
    metadata tells."""
    lock = _lock()
    missing = []
    queue = [(r, extra) for r in _pyproject_dependencies() for extra in (r.extras or {""})]
    seen: set[tuple[str, str]] = set()
    while queue:
        requirement, extra = queue.pop()
        name = canonicalize_name(requirement.name)
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        if name not in lock:
            missing.append(str(requirement))
            continue
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here (another platform's package): pip check in the image covers it
        for text in requires:
            dependency = Requirement(text)
            if _applies(dependency, extra):
                queue.extend((dependency, e) for e in (dependency.extras or {""}))
    assert missing == []


def test_marker_evaluation_of_the_closure_check() -> None:
    assert _applies(Requirement('uvloop>=0.15; sys_platform != "win32" and extra == "standard"'), "standard")
    assert not _applies(Requirement('uvloop>=0.15; sys_platform != "win32" and extra == "standard"'))
    assert not _applies(Requirement('colorama; sys_platform == "win32"'))
    assert Marker('python_version < "3.12"').evaluate(IMAGE_PLATFORM)


def test_the_image_installs_only_from_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    image = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert image and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image.group(1)), "base image not pinned"
    assert bases and all(base.startswith("${PYTHON_IMAGE}") for base in bases)
    assert IMAGE_PLATFORM["python_full_version"] == image.group(1).split(":")[1].split("-")[0]
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    first = installs[0].split("pip install", 1)[1].split()
    assert first == ["--require-hashes", "--no-deps", "-r", "requirements.lock"]
    assert all("--no-deps" in line for line in installs), installs
    assert "pip check" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "requirements.lock" not in ignored and "LICENSE" not in ignored


# --------------------------------------------------------------------------- the containers' commands, run here


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_the_containers_commands_run_with_their_settings_on_real_services(
    postgres_url: str, redis_clean_url: str, s3_endpoint: str, tmp_path: Path
) -> None:
    """The api's migration and the worker's `sono worker`, with the environment compose gives
    the containers, on this machine's PostgreSQL, Redis and an S3 server (only the service
    addresses, which name compose's network, and the data folder are swapped)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = tmp_path / "rsa.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o600)
    operator = {**OPERATOR_ENV, "SONO_S3_ACCESS_KEY": "testing", "SONO_S3_SECRET_KEY": "testing"}
    services = compose(operator)["services"]
    local = {
        "SONO_DATABASE_URL": postgres_url,
        "SONO_REDIS_URL": redis_clean_url,
        "SONO_S3_ENDPOINT_URL": s3_endpoint,
        "SONO_DATA_DIR": str(tmp_path / "data"),
        "SONO_RSA_PRIVATE_KEY_FILE": str(key),
    }
    base = {name: value for name, value in os.environ.items() if not name.startswith("SONO_") or "_TEST_" in name}

    def run(service: str, command: list[str]) -> str:
        env = {**base, **container_env(services[service], operator), **local}
        assert command[0] == "sono"
        done = subprocess.run(
            [sys.executable, "-m", "sono", *command[1:]],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr, done.stderr  # no unknown variable among what compose passes
        return done.stdout

    assert "revision: " in run("api", ["sono", "db", "upgrade"])
    assert run("worker", ["sono", "jobs", "run-due"]).startswith("deletions_executed: 0\n")

    # The worker's own command: it runs the jobs (its heartbeat appears), then stops on SIGTERM.
    command = list(services["worker"]["command"])
    heartbeat = tmp_path / "alive"
    command[command.index("/tmp/sono-worker.alive")] = str(heartbeat)
    worker = subprocess.Popen(
        [sys.executable, "-m", "sono", *command[1:]],
        env={**base, **container_env(services["worker"], operator), **local},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1800):
            if heartbeat.exists() or worker.poll() is not None:
                break
            time.sleep(0.1)
        assert heartbeat.exists(), worker.communicate(timeout=5)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 0, stderr
