"""A mailer that writes each message as an ``.eml`` file (development, tests, air-gapped setups)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sono.adapters.files import atomic_write
from sono.adapters.mail import EmailMessage, build_message
from sono.domain.errors import DeliveryFailed

FILE_MODE = 0o600  # messages carry reset links: readable by the service user only


class OutboxMailer:
    """``Mailer`` writing RFC 5322 files named ``<UTC time>-<uuid>.eml`` (e.g.
    ``20261127T012233.123456Z-<uuid>.eml``, so names sort by time) into ``directory``, each
    written to a temporary file and renamed into place."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    async def send(self, message: EmailMessage) -> None:
        """Raises ``DeliveryFailed`` when the message is malformed or cannot be written."""
        now = datetime.now(UTC)
        data = build_message(message, self.sender, now=now).as_bytes()
        name = f"{now:%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4()}.eml"
        try:
            await asyncio.to_thread(self._write, name, data)
        except OSError as exc:
            raise DeliveryFailed() from exc

    def _write(self, name: str, data: bytes) -> Path:
        target = self.directory / name
        atomic_write(target, lambda out: out.write(data), mode=FILE_MODE)
        return target
