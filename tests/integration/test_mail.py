"""The mail adapters: the outbox folder, SMTP against a local aiosmtpd server, the in-memory fake."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import re
import socket
import ssl
import stat
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sono.adapters.mail import EmailMessage, build_message
from sono.adapters.mail.outbox import OutboxMailer
from sono.adapters.mail.smtp import SmtpMailer
from sono.domain.errors import DeliveryFailed
from tests.fakes.mailer import InMemoryMailer

SENDER = "Sono <no-reply@sono.test>"
MESSAGE = EmailMessage(
    to="ada@example.com",
    subject="Password Reset Request - Sono",
    text="Reset your password: https://app.example/reset-password?token=abc\n",
    html="<p>Reset your password: <a href='https://app.example/reset-password?token=abc'>link</a></p>\n",
)
PASSWORD = "s3cret-Passw0rd"
NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f-]{36}\.eml$")

pytestmark = pytest.mark.slow


def _parse(data: bytes) -> MimeMessage:
    return BytesParser(policy=default).parsebytes(data)  # type: ignore[return-value]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- rendering


def test_build_message_headers_and_parts() -> None:
    now = dt.datetime(2026, 11, 27, 1, 22, 33, tzinfo=dt.UTC)
    mime = _parse(build_message(MESSAGE, SENDER, now=now).as_bytes())

    assert mime["From"] == SENDER
    assert mime["To"] == "ada@example.com"
    assert mime["Subject"] == "Password Reset Request - Sono"
    assert email.utils.parsedate_to_datetime(mime["Date"]) == now
    assert re.fullmatch(r"<.+@sono\.test>", mime["Message-ID"])
    assert mime.get_content_type() == "multipart/alternative"
    assert mime.get_body(("plain",)).get_content() == MESSAGE.text  # type: ignore[union-attr]
    assert mime.get_body(("html",)).get_content() == MESSAGE.html  # type: ignore[union-attr]


def test_text_only_message() -> None:
    mime = _parse(build_message(EmailMessage(to="a@b.example", subject="Hi", text="Hello"), SENDER).as_bytes())
    assert mime.get_content_type() == "text/plain"
    assert mime.get_content().strip() == "Hello"


@pytest.mark.parametrize(
    "message",
    [
        EmailMessage(to="a@b.example\r\nBcc: victim@x.example", subject="s", text="t"),
        EmailMessage(to="a@b.example, other@x.example", subject="s", text="t"),
        EmailMessage(to="not an address", subject="s", text="t"),
        EmailMessage(to="a@b.example", subject="s\nBcc: victim@x.example", text="t"),
    ],
)
def test_malformed_messages_are_refused(message: EmailMessage) -> None:
    with pytest.raises(DeliveryFailed):
        build_message(message, SENDER)


# --------------------------------------------------------------------------- outbox


async def test_outbox_writes_parseable_eml_files(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    mailer = OutboxMailer(outbox, sender=SENDER)

    await mailer.send(MESSAGE)
    await mailer.send(EmailMessage(to="bob@example.com", subject="Second", text="two"))

    files = sorted(outbox.iterdir())
    assert [bool(NAME.match(f.name)) for f in files] == [True, True], "only finished .eml files, no temporaries"
    first, second = (_parse(f.read_bytes()) for f in files)
    assert (first["To"], first["Subject"], first["From"]) == ("ada@example.com", MESSAGE.subject, SENDER)
    assert first.get_body(("plain",)).get_content() == MESSAGE.text  # type: ignore[union-attr]
    assert first.get_body(("html",)).get_content() == MESSAGE.html  # type: ignore[union-attr]
    assert first["Message-ID"] != second["Message-ID"]
    assert (second["To"], second["Subject"]) == ("bob@example.com", "Second")
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


async def test_outbox_refuses_malformed_messages_and_unwritable_folders(tmp_path: Path) -> None:
    with pytest.raises(DeliveryFailed):
        await OutboxMailer(tmp_path, sender=SENDER).send(
            EmailMessage(to="a@b.example\nBcc: x@y.example", subject="s", text="t")
        )
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DeliveryFailed):
        await OutboxMailer(blocker / "outbox", sender=SENDER).send(MESSAGE)


# --------------------------------------------------------------------------- SMTP


class Recorder:
    """An aiosmtpd handler recording what it accepts; ``reply`` overrides the DATA answer and
    ``refuse_rcpt`` the RCPT answer."""

    def __init__(self, reply: str | None = None, refuse_rcpt: str | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.reply = reply
        self.refuse_rcpt = refuse_rcpt

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": _parse(envelope.content.replace(b"\r\n", b"\n")),  # SMTP line ends are CRLF
                "tls": session.ssl is not None,
                "login": getattr(session, "auth_data", None),
            }
        )
        return "250 Message accepted"


class Server:
    def __init__(self, handler: Recorder, controller: Controller) -> None:
        self.handler = handler
        self.controller = controller
        self.port = controller.port


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"sono" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


def _tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An aiosmtpd server on 127.0.0.1; ``@pytest.mark.parametrize("smtp_server", [{...}], indirect=True)``
    passes ``reply``/``refuse_rcpt`` to the handler and ``auth``/``tls`` to the server."""
    options: dict[str, Any] = dict(getattr(request, "param", {}))
    handler = Recorder(reply=options.pop("reply", None), refuse_rcpt=options.pop("refuse_rcpt", None))
    server_options: dict[str, Any] = {}
    if options.pop("auth", False):
        server_options.update(authenticator=_authenticator, auth_required=True, auth_require_tls=False)
    if options.pop("tls", False):
        server_options.update(tls_context=_tls_context(tmp_path_factory))
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **server_options)
    controller.start()
    try:
        yield Server(handler, controller)
    finally:
        controller.stop()


def _mailer(port: int, **options: Any) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, timeout=5.0, **options)


async def test_smtp_delivers(smtp_server: Server) -> None:
    await _mailer(smtp_server.port).send(MESSAGE)

    (received,) = smtp_server.handler.messages
    assert received["from"] == "no-reply@sono.test"
    assert received["to"] == ["ada@example.com"]
    message: MimeMessage = received["message"]
    assert message["Subject"] == MESSAGE.subject
    assert message.get_body(("plain",)).get_content() == MESSAGE.text  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == MESSAGE.html  # type: ignore[union-attr]
    assert not received["tls"], "the server offers no STARTTLS, so opportunistic mode sends in clear"


@pytest.mark.parametrize("smtp_server", [{"tls": True}], indirect=True)
async def test_smtp_opportunistic_and_required_starttls_upgrade(smtp_server: Server) -> None:
    await _mailer(smtp_server.port, validate_certs=False).send(MESSAGE)
    await _mailer(smtp_server.port, starttls=True, validate_certs=False).send(MESSAGE)
    assert [m["tls"] for m in smtp_server.handler.messages] == [True, True]


@pytest.mark.parametrize("smtp_server", [{"tls": True}], indirect=True)
async def test_smtp_validates_certificates_and_can_skip_starttls(smtp_server: Server) -> None:
    with pytest.raises(DeliveryFailed):
        await _mailer(smtp_server.port).send(MESSAGE)  # self-signed certificate
    await _mailer(smtp_server.port, starttls=False).send(MESSAGE)
    assert [m["tls"] for m in smtp_server.handler.messages] == [False]


async def test_smtp_required_starttls_fails_without_it(smtp_server: Server) -> None:
    with pytest.raises(DeliveryFailed):
        await _mailer(smtp_server.port, starttls=True).send(MESSAGE)
    assert smtp_server.handler.messages == []


@pytest.mark.parametrize(
    "smtp_server",
    [{"reply": "554 5.7.1 Message rejected"}, {"refuse_rcpt": "550 5.1.1 No such user"}],
    indirect=True,
)
async def test_smtp_refusal_is_delivery_failed(smtp_server: Server) -> None:
    with pytest.raises(DeliveryFailed):
        await _mailer(smtp_server.port).send(MESSAGE)


async def test_smtp_nothing_listening_is_delivery_failed() -> None:
    with pytest.raises(DeliveryFailed):
        await _mailer(_free_port()).send(MESSAGE)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_smtp_timeout_is_delivery_failed(silent_server: int) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=silent_server, sender=SENDER, timeout=0.3)
    with pytest.raises(DeliveryFailed):
        await asyncio.wait_for(mailer.send(MESSAGE), timeout=5)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("smtp_server", [{"auth": True}], indirect=True)
async def test_smtp_login(smtp_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    await _mailer(smtp_server.port, username="sono", password=PASSWORD).send(MESSAGE)
    assert [(m["to"], m["login"]) for m in smtp_server.handler.messages] == [(["ada@example.com"], b"sono")]

    with pytest.raises(DeliveryFailed):
        await _mailer(smtp_server.port, username="sono", password="wrong").send(MESSAGE)
    with pytest.raises(DeliveryFailed):
        await _mailer(smtp_server.port).send(MESSAGE)  # no login: the server requires one
    assert len(smtp_server.handler.messages) == 1
    sono_logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sono"))
    assert "SMTP delivery" in sono_logs
    assert PASSWORD not in caplog.text and "wrong" not in sono_logs
    assert "reset-password" not in sono_logs, "message bodies are never logged"


def test_smtp_mailer_repr_hides_the_password() -> None:
    mailer = SmtpMailer(host="mail.example", username="sono", password=PASSWORD)
    assert PASSWORD not in repr(mailer)
    assert SmtpMailer(host="mail.example", port=465).use_tls
    assert SmtpMailer(host="mail.example", port=465).starttls is False
    assert not SmtpMailer(host="mail.example", port=587).use_tls


# --------------------------------------------------------------------------- in-memory fake


async def test_in_memory_mailer() -> None:
    mailer = InMemoryMailer()
    await mailer.send(MESSAGE)
    assert mailer.sent == [MESSAGE]
    assert mailer.last_to("ada@example.com") == MESSAGE
    mailer.fail = True
    with pytest.raises(DeliveryFailed):
        await mailer.send(MESSAGE)
    assert mailer.sent == [MESSAGE]
    mailer.fail = False
    with pytest.raises(DeliveryFailed):
        await mailer.send(EmailMessage(to="a@b.example\nBcc: x@y.example", subject="s", text="t"))
