"""A mailer that hands messages to an SMTP server with aiosmtplib."""

from __future__ import annotations

import logging

import aiosmtplib

from sono.adapters.mail import EmailMessage, build_message
from sono.domain.errors import DeliveryFailed

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465


class SmtpMailer:
    """``Mailer`` over SMTP, one connection per message.

    ``starttls``: None uses STARTTLS when the server offers it, True requires it (delivery fails
    without it), False never uses it. ``use_tls`` selects implicit TLS (SMTPS); None means "on
    port 465". Logs in only when ``username`` is set. Passwords and message contents are never
    logged.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        username: str | None = None,
        password: str | None = None,
        sender: str = "Sono <no-reply@sono.local>",
        starttls: bool | None = None,
        timeout: float = 10.0,
        *,
        use_tls: bool | None = None,
        validate_certs: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.sender = sender
        self.use_tls = port == IMPLICIT_TLS_PORT if use_tls is None else use_tls
        self.starttls = False if self.use_tls else starttls
        self.timeout = timeout
        self.validate_certs = validate_certs

    def __repr__(self) -> str:
        return f"SmtpMailer(host={self.host!r}, port={self.port}, username={self.username!r})"

    async def send(self, message: EmailMessage) -> None:
        """Raises ``DeliveryFailed`` when the server refuses, cannot be reached or times out."""
        mime = build_message(message, self.sender)
        try:
            await aiosmtplib.send(
                mime,
                hostname=self.host,
                port=self.port,
                start_tls=self.starttls,
                use_tls=self.use_tls,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                username=self.username or None,  # log in only when a username is configured
                password=(self._password or "") if self.username else None,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            code = getattr(exc, "code", None)
            log.warning(
                "SMTP delivery via %s:%d failed: %s%s",
                self.host,
                self.port,
                type(exc).__name__,
                f" ({code})" if code is not None else "",
            )
            raise DeliveryFailed() from exc
