"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts and can be told to misbehave."""

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

LINK_RE = re.compile(r"https?://[^\s<>\"]+/(?:i|s)/[A-Za-z0-9_\-]+")


class Collector:
    """aiosmtpd handler: accepts, refuses (4xx/5xx at RCPT) or drops the connection during DATA, as told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.mode = "accept"  # accept | busy (451 at RCPT) | reject (550 at RCPT) | drop_data
        self.reject: set[str] = set()
        self.drop: set[str] = set()  # recipients whose message is "lost" after DATA: the connection just closes

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.mode == "busy":
            return "451 4.3.2 try again later"
        if self.mode == "reject" or address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.mode == "drop_data" or set(envelope.rcpt_tos) & self.drop:
            server.transport.close()
            return "421 closing"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.SMTP)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        """Return the recipients of accepted messages, in order."""
        with self.lock:
            return [str(m["To"]) for m in self.messages]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


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
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
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
