"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts and can be told to misbehave.

Misbehaviour, for the next N messages (``handler.fail(kind, N)``), as a mail server or the network between can:

| kind | what the server does | what a client can know |
| --- | --- | --- |
| ``drop_before_mail`` | closes the connection at MAIL FROM | not taken |
| ``drop_in_data`` | answers DATA with 354, reads one line, closes | not taken, or in doubt if the close comes late |
| ``drop_after_data`` | reads the whole message, **keeps it**, closes without answering (the 250 is lost) | in doubt |
| ``lose_after_data`` | reads the whole message, does not keep it, closes without answering (a crash) | in doubt |
| ``busy`` | 451 at RCPT | not taken |

``handler.reject`` refuses some recipients for good (550); ``handler.log`` is the server's log: the Message-IDs
of the messages it kept, as an operator would search it.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

LINK_RE = re.compile(r"https?://[^\s<>\"]+/(?:i|s)/[A-Za-z0-9_\-]+")


class Collector:
    """aiosmtpd handler: accepts, refuses (4xx/5xx at RCPT) or drops the connection during DATA, as told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.mode = "accept"  # accept | busy (451 at RCPT) | reject (550 at RCPT) | drop_data
        self.reject: set[str] = set()
        self.drop: set[str] = set()  # recipients whose message is "lost" after DATA: the connection just closes
        self.faults: dict[str, int] = {}

    def fail(self, kind: str, times: int) -> None:
        """Misbehave as *kind* (see the module's table) for the next *times* messages."""
        with self.lock:
            self.faults[kind] = times

    def take(self, kind: str) -> bool:
        """Say whether to misbehave as *kind* now, counting it."""
        with self.lock:
            if self.faults.get(kind, 0) > 0:
                self.faults[kind] -= 1
                return True
            return False

    @property
    def log(self) -> set[str]:
        """Return the Message-IDs of the messages the server kept."""
        with self.lock:
            return {str(m["Message-ID"]) for m in self.messages}

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.take("drop_before_mail"):
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.mode == "busy" or self.take("busy"):
            return "451 4.3.2 try again later"
        if self.mode == "reject" or address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.mode == "drop_data" or set(envelope.rcpt_tos) & self.drop or self.take("lose_after_data"):
            server.transport.close()
            return "421 closing"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.SMTP)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        if self.take("drop_after_data"):
            server.transport.close()  # kept, and the answer never leaves
            return "421 closing"
        return "250 Message accepted for delivery"


    def to(self) -> list[str]:
        """Return the recipients of accepted messages, in order."""
        with self.lock:
            return [str(m["To"]) for m in self.messages]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class FaultySMTP(SMTP):
    """aiosmtpd's server, able to die in the middle of a message's DATA."""

    async def smtp_DATA(self, arg: str) -> None:
        handler = self.event_handler
        if (self.envelope is not None and self.envelope.rcpt_tos and not arg
                and isinstance(handler, Collector) and handler.take("drop_in_data")):
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")  # the first line of the message, then the server is gone
            if self.transport is not None:
                self.transport.close()
            return
        await super().smtp_DATA(arg)


class FaultyController(Controller):
    def factory(self) -> SMTP:
        return FaultySMTP(self.handler, **self.SMTP_kwargs)


def body(msg: EmailMessage, subtype: str = "plain") -> str:
    """Return the text of the message's *subtype* part."""
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(msg: EmailMessage) -> str:
    """Return the survey link in the plain-text body."""
    found = LINK_RE.search(body(msg))
    assert found, body(msg)
    return found.group(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = FaultyController(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def config(self) -> dict[str, Any]:
        """Return the app settings that send mail here, unthrottled."""
        return {"SURVEYKIT_SMTP_HOST": "127.0.0.1", "SURVEYKIT_SMTP_PORT": self.port,
                "SURVEYKIT_SMTP_SECURITY": "none", "SURVEYKIT_MAIL_RATE": 0.0,
                "SURVEYKIT_MAIL_FROM": "research@hospital.example", "SURVEYKIT_BASE_URL": "https://survey.example"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
