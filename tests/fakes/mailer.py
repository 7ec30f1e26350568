"""In-memory ``Mailer`` for unit tests."""

from __future__ import annotations

from sono.adapters.mail import EmailMessage, build_message
from sono.domain.errors import DeliveryFailed


class InMemoryMailer:
    """Records sent messages in ``sent``. With ``fail = True`` every ``send`` raises
    ``DeliveryFailed`` (and records nothing), like a refusing SMTP server. Malformed recipients
    are refused as by the real mailers."""

    def __init__(self, *, sender: str = "Sono <no-reply@sono.local>", fail: bool = False) -> None:
        self.sender = sender
        self.fail = fail
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        build_message(message, self.sender)
        if self.fail:
            raise DeliveryFailed()
        self.sent.append(message)

    def last_to(self, to: str) -> EmailMessage | None:
        """The most recent message sent to ``to``, if any."""
        return next((m for m in reversed(self.sent) if m.to == to), None)
