"""The ``Notifier`` port over a mail transport: the wording and templates of Sono's emails."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from sono.adapters.mail import EmailMessage, Mailer

RESET_SUBJECT = "Password Reset Request - Sono"


def password_reset_link(frontend_url: str, token: str) -> str:
    return f"{frontend_url.rstrip('/')}/reset-password?token={quote(token)}"


def password_reset_email(to: str, name: str, link: str, minutes: int) -> EmailMessage:
    text = (
        f"Hello {name},\n\n"
        "Someone asked to reset the password of your Sono account. To choose a new password, "
        f"open this link within {minutes} minutes:\n\n{link}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n\n"
        "- Sono\n"
    )
    html = (
        f"<p>Hello {escape(name)},</p>"
        "<p>Someone asked to reset the password of your Sono account. To choose a new password, "
        f'open this link within {minutes} minutes:</p><p><a href="{escape(link)}">Reset your password</a></p>'
        "<p>If you did not ask for this, ignore this email: your password stays as it is.</p><p>- Sono</p>"
    )
    return EmailMessage(to=to, subject=RESET_SUBJECT, text=text, html=html)


class EmailNotifier:
    """Sends Sono's notices through ``transport``; links point at ``frontend_url``."""

    def __init__(self, transport: Mailer, *, frontend_url: str) -> None:
        self.transport = transport
        self.frontend_url = frontend_url

    async def password_reset(self, *, to: str, name: str, token: str, expires_minutes: int) -> None:
        link = password_reset_link(self.frontend_url, token)
        await self.transport.send(password_reset_email(to, name, link, expires_minutes))
