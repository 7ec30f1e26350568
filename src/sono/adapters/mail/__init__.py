"""Mail adapters. Transports: ``OutboxMailer`` (``.eml`` files, for development) in
``sono.adapters.mail.outbox`` and ``SmtpMailer`` (aiosmtplib) in ``sono.adapters.mail.smtp``, both
importable from here; ``build_message``, which both use to render a message as RFC 5322. The
``Notifier`` port (what the use cases send) is ``sono.adapters.mail.notifier.EmailNotifier``, which
owns the messages' wording and templates."""

from __future__ import annotations

import email.message
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sono.domain.errors import DeliveryFailed

if TYPE_CHECKING:
    from sono.adapters.mail.outbox import OutboxMailer
    from sono.adapters.mail.smtp import SmtpMailer

__all__ = ["EmailMessage", "Mailer", "OutboxMailer", "SmtpMailer", "build_message"]


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer(Protocol):
    """A mail transport."""

    async def send(self, message: EmailMessage) -> None:
        """Raises ``DeliveryFailed`` when the transport refuses or cannot be reached."""


def _single_address(value: str) -> str:
    """``value`` when it is exactly one plausible address (no header injection, no lists)."""
    if "\r" in value or "\n" in value:
        raise DeliveryFailed()
    addresses = email.utils.getaddresses([value])
    if len(addresses) != 1 or "@" not in addresses[0][1] or " " in addresses[0][1]:
        raise DeliveryFailed()
    return value


def build_message(message: EmailMessage, sender: str, *, now: datetime | None = None) -> email.message.EmailMessage:
    """Render ``message`` as a MIME message with From/To/Subject/Date/Message-ID, a text part and
    the HTML alternative when there is one. Raises ``DeliveryFailed`` for a malformed recipient,
    sender or subject (never sends to several recipients or lets a header be injected)."""
    mime = email.message.EmailMessage()
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "sono.local"
    try:
        mime["From"] = _single_address(sender)
        mime["To"] = _single_address(message.to)
        mime["Subject"] = message.subject
        mime["Date"] = email.utils.format_datetime(now or datetime.now(UTC))
        mime["Message-ID"] = email.utils.make_msgid(domain=domain)
        mime.set_content(message.text)
        if message.html is not None:
            mime.add_alternative(message.html, subtype="html")
    except (ValueError, TypeError, IndexError) as exc:  # the email package's "invalid header" errors
        raise DeliveryFailed() from exc
    return mime


def __getattr__(name: str) -> Any:
    if name == "OutboxMailer":
        from sono.adapters.mail.outbox import OutboxMailer

        return OutboxMailer
    if name == "SmtpMailer":
        from sono.adapters.mail.smtp import SmtpMailer

        return SmtpMailer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
