"""Sending e-mail over SMTP, telling apart "not taken" (safe to send again) from "maybe taken" (a person decides).

Every message goes out through one seam, :meth:`Mailer.send` (one connection for a batch, opened on first use);
its one caller is :func:`surveyapp.invitations.sending.send_pending`, which claims, sends and marks. A message
counts as sent only when the server answered 250 to the end of its DATA (the line with a single dot). The
server cannot take a message whose end it never received, so everything that fails before that line was
written, the body included, is *not taken* and may be sent again; the body and the end are written apart, and
just before the end the connection is looked at once more, so a server that went away during the body is seen
as such. Only a reply lost after the end was written is *maybe taken*: no SMTP client can know (RFC 1047), and
the caller holds that one message for a person to check in the mail server's log by its Message-ID.
"""

from __future__ import annotations

import datetime
import re
import select
import smtplib
import socket
import ssl
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType
from typing import Any

TIMEOUT = 30.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"
    user: str = ""
    password: str = ""
    sender: str = "surveykit@localhost"
    rate: float = 5.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        """Read the SURVEYKIT_SMTP_* and SURVEYKIT_MAIL_* settings."""
        security = str(config["SURVEYKIT_SMTP_SECURITY"]).lower()
        if security not in ("none", "starttls", "ssl"):
            raise MailError(f"SURVEYKIT_SMTP_SECURITY is '{security}': choose none, starttls or ssl")
        return cls(host=config["SURVEYKIT_SMTP_HOST"], port=int(config["SURVEYKIT_SMTP_PORT"]), security=security,
                   user=config["SURVEYKIT_SMTP_USER"], password=config["SURVEYKIT_SMTP_PASSWORD"],
                   sender=config["SURVEYKIT_MAIL_FROM"], rate=float(config["SURVEYKIT_MAIL_RATE"]))

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None  # given by the caller, to find the message in the server's log; else made here


class MailError(Exception):
    """A message the server did not take. ``permanent``: it refused this recipient for good (5xx)."""

    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.connection = connection


class MaybeSent(Exception):
    """The whole message, its end included, was written and no reply came: the server may have taken it."""


class Abandoned(MailError):
    """The caller withdrew the message just before its end (its claim was lost): the server did not take it."""


def build_message(email: Email, sender: str) -> EmailMessage:
    """Return the MIME message: plain text, with the HTML body as an alternative when there is one."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to
    msg["Subject"] = email.subject
    # RFC 5322 requires Date; spam filters mark messages without one. UTC, so the server's zone shows nowhere.
    msg["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
    msg["Message-ID"] = email.message_id or new_message_id(sender)
    msg.set_content(wrap_text(email.text))
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    return msg


def wrap_text(text: str, width: int = 76) -> str:
    """Return *text* with each line longer than *width* wrapped at words; links and other long words stay whole.

    Lines the writer broke stay as they are (a signature, a list), so only over-long lines change.
    """
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.extend(textwrap.wrap(line, width, initial_indent="", subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False) or [""])
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


_LEADING_DOT = re.compile(rb"(?m)^\.")


def new_message_id(sender: str) -> str:
    """Return a fresh Message-ID in the sender's domain."""
    return make_msgid(domain=sender.rpartition("@")[2] or "localhost")


class Mailer:
    """One SMTP connection for a batch of messages, opened on first use and paced to the configured rate."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._last = 0.0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            conn: smtplib.SMTP
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT, context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.user:
                conn.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"the mail server {s.where} refused the log-in of {s.user}: {_reply(exc)}",
                            connection=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"could not reach the mail server {s.where}: {_reason(exc)}", connection=True) from None
        return conn

    def _pace(self) -> None:
        if self.settings.rate > 0:
            wait = self._last + 1.0 / self.settings.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last = time.monotonic()

    def send(self, email: Email, before_end: Callable[[], bool] | None = None) -> None:
        """Hand *email* to the server; raise MailError (not taken) or MaybeSent (taken or not, unknown).

        *before_end* is called once the body is written and just before its end is: it records that the message
        may be taken from now on, and returns False to withdraw it (the server then never sees its end).
        """
        self._pace()
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        msg = build_message(email, self.settings.sender)
        data = _LEADING_DOT.sub(b"..", msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        try:
            code, reply = conn.mail(self.settings.sender)
            if code != 250:
                self._reset()
                raise MailError(f"the mail server refused the sender: {code} {reply.decode(errors='replace')}",
                                permanent=code >= 500)
            code, reply = conn.rcpt(email.to)
            if code not in (250, 251):
                self._reset()
                raise MailError(f"the mail server refused {email.to}: {code} {reply.decode(errors='replace')}",
                                permanent=code >= 500)
            code, reply = conn.docmd("data")
            if code != 354:
                self._reset()
                raise MailError(f"the mail server refused the message: {code} {reply.decode(errors='replace')}",
                                permanent=code >= 500)
            conn.send(data)
            if _peer_gone(conn.sock):
                raise smtplib.SMTPServerDisconnected("the server closed the connection during the message")
        except (smtplib.SMTPException, OSError) as exc:
            # The end of the message was not written: the server cannot have taken it.
            self._drop()
            raise MailError(f"the mail server {self.settings.where} dropped the connection before the message to "
                            f"{email.to} was complete (not taken): {_reason(exc)}", connection=True) from None
        try:
            keep = before_end() if before_end is not None else True
        except BaseException:
            self._drop()  # the end was never written: the server discards the message
            raise
        if not keep:
            self._drop()
            raise Abandoned(f"the message to {email.to} was withdrawn before its end (not taken)")
        try:
            conn.send(b".\r\n")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()  # a write that failed put nothing on the wire: the end never reached the server
            raise MailError(f"the mail server {self.settings.where} dropped the connection before the end of the "
                            f"message to {email.to} (not taken): {_reason(exc)}", connection=True) from None
        try:
            code, reply = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MaybeSent(f"the connection to {self.settings.where} broke after the whole message to {email.to} "
                            f"was handed over, before the server's answer: {_reason(exc)}") from None
        if code != 250:
            raise MailError(f"the mail server refused the message to {email.to}: {code} "
                            f"{reply.decode(errors='replace')}", permanent=code >= 500)

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _peer_gone(sock: socket.socket | None) -> bool:
    """Say whether the server has closed the connection or spoken out of turn (it says nothing during DATA)."""
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        readable, _, failed = select.select([sock], [], [sock], 0)
    except (OSError, ValueError):
        return True
    return bool(readable or failed)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    return str(exc) or type(exc).__name__
