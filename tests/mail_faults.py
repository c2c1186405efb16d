"""What an operator does after a reminder run that went wrong, and how the outcome is counted.

The operator reruns `surveykit surveys remind`, lists the messages in doubt (`surveykit surveys uncertain`),
looks each Message-ID up in the mail server's log (here: the test server's :attr:`Collector.log`) and settles
it: found, ``--sent``; not found, ``--resend``. Then the rerun sends what waits. The count is per address:
every non-responder must hold exactly one reminder, responders and refused addresses none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Flask
from smtp_server import SmtpServer

MESSAGE_ID = re.compile(r"<[^>\s]+>")


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def remind(app: Flask, slug: str, today: dt.date) -> Any:
    return run(app, "surveys", "remind", "--due", "--today", today.isoformat())


def settle_by_log(app: Flask, slug: str, smtp: SmtpServer) -> tuple[int, int]:
    """Settle every message in doubt by the server's log; return (found and counted, to send again)."""
    listed = run(app, "surveys", "uncertain", slug)
    assert listed.exit_code == 0, listed.output
    ids = [m for line in listed.output.splitlines() for m in MESSAGE_ID.findall(line)[:1]]
    taken = [i for i in ids if i in smtp.handler.log]
    again = [i for i in ids if i not in smtp.handler.log]
    args = [a for i in taken for a in ("--sent", i)] + [a for i in again for a in ("--resend", i)]
    if args:
        done = run(app, "surveys", "uncertain", slug, *args)
        assert done.exit_code == 0, done.output
    return len(taken), len(again)


def operate(app: Flask, slug: str, smtp: SmtpServer, today: dt.date, rounds: int = 8,
            settle: bool = True) -> dict[str, int]:
    """Rerun and settle as an operator would until nothing waits or is in doubt; return what it took.

    Without *settle*, the operator only reruns (the control: what is in doubt then stays unsent)."""
    figures = Counter[str]()
    for _ in range(rounds):
        result = remind(app, slug, today)
        figures["reruns"] += 1
        found, again = settle_by_log(app, slug, smtp) if settle else (0, 0)
        figures["settled as sent"] += found
        figures["settled to resend"] += again
        if result.exit_code == 0 and not found and not again and "no reminders due" in result.output:
            break
    return dict(figures)


@dataclass
class Outcome:
    """Reminders received per address, against who should have one."""

    expected: set[str]
    received: Counter[str]

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.received.values() if n > 1)

    @property
    def lost(self) -> int:
        return sum(1 for a in self.expected if self.received[a] == 0)

    @property
    def unwanted(self) -> int:
        """Reminders to someone who should get none (answered, or refused by the server)."""
        return sum(n for a, n in self.received.items() if a not in self.expected)


def kept_by_address(smtp: SmtpServer) -> Counter[str]:
    """Count the messages the server kept, per recipient (cleared after the invitations: reminders only)."""
    return Counter(smtp.handler.to())
