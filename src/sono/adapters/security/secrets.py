"""Generated secrets kept in files (JWT and media-signing keys when none is configured).

Files are created race-free by concurrent starts (several workers, several containers on one
volume): the content is written to a private temporary file first, then published with
``os.link``, which fails when another process published first; the loser reads the winner's file.
So a reader never sees a partial file and every process ends up with the same secret.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from sono.config import ConfigError

log = logging.getLogger(__name__)

MIN_SECRET_CHARS = 32


def write_private_file_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` and mode 0600 (directory 0700 when created here), atomically.

    Returns False, leaving the file alone, when it already exists.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            _write_all(fd, data)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:
            # A file system without hard links: exclusive create of the final name instead.
            return _write_direct_exclusive(path, data)
        _fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def create_private_file(path: Path, data: bytes) -> bool:
    """``write_private_file_exclusive`` raising ``ConfigError`` (naming the file) when it cannot."""
    try:
        return write_private_file_exclusive(path, data)
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from None


def _write_direct_exclusive(path: Path, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def warn_if_exposed(path: Path) -> None:
    """Log (never the content) when a secret file is readable by group or others."""
    with contextlib.suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            log.warning("secret file %s is accessible by group or others; chmod 600 it", path)


def load_or_create_secret(path: Path, nbytes: int = 48) -> str:
    """Read the secret in ``path``, generating a URL-safe random one (``nbytes`` of entropy) first
    when the file does not exist. Raises ``ConfigError`` for an unreadable or too short file."""
    if not path.exists() and create_private_file(path, secrets.token_urlsafe(nbytes).encode("ascii")):
        log.info("generated a new secret in %s", path)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the secret file {path}: {exc}") from None
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(f"the secret file {path} must hold at least {MIN_SECRET_CHARS} characters")
    warn_if_exposed(path)
    return value
