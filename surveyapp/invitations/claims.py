"""Who holds a message being sent, and what becomes of a claim whose worker is gone.

A claim names its worker: host, process id, the process's start time (so a reused process id is not taken for
the old process) and a random part. A run first looks at every claim left in ``sending`` or ``handing``: when
its worker is a process of this host that no longer runs, or its lease has run out, the claim is released at
once, without waiting for the lease:

* ``sending``: the end of the message was never written, so the server has not taken it: back to ``pending``,
  sent by this run.
* ``handing``: the end may have been written before the worker died: ``uncertain``, held for a person to
  check by its Message-ID (see :mod:`surveyapp.invitations.held`). The claim is kept, so a worker that was only
  slow can still mark the message sent when the server's 250 arrives.

Workers on other hosts are released only when their lease runs out (we cannot see their processes).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Delivery, utcnow

LEASE = dt.timedelta(minutes=10)
HOLDING = ("sending", "handing")


def _host() -> str:
    return socket.gethostname()[:30].replace(":", "_")


def _started(pid: int) -> str | None:
    """Return the start time of process *pid* (clock ticks since boot), "" where /proc cannot tell, None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    # The command name (2nd field) may hold spaces and brackets: count fields after its closing bracket.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def worker_id() -> str:
    """Return this process's name for its claims (≤ 60 characters; the claim adds ":n")."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_started(pid) or ''}:{secrets.token_hex(4)}"


def claim_gone(claim: str | None) -> bool:
    """Say whether *claim*'s worker is known to have stopped: a process of this host that no longer runs."""
    if not claim:
        return True
    host, _, rest = claim.partition(":")
    pid_text, _, rest = rest.partition(":")
    started = rest.partition(":")[0]
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    now = _started(pid)
    if now is None:
        return True
    if now and started:
        return now != started  # the process id was reused by another process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@dataclass
class Released:
    """What :func:`recover_stale` did: claims put back to pending, claims held as uncertain."""

    pending: int = 0
    uncertain: int = 0


def recover_stale(db: Session, now: dt.datetime | None = None) -> Released:
    """Release every claim whose worker stopped or whose lease ran out (see the module's text)."""
    now = now or utcnow()
    released = Released()
    rows = db.execute(select(Delivery.invitation_key, Delivery.kind, Delivery.state, Delivery.claim,
                             Delivery.lease_until, Delivery.last_error)
                      .where(Delivery.state.in_(HOLDING))).all()
    for key, kind, state, claim, lease_until, last_error in rows:
        if not (claim_gone(claim) or lease_until is None or lease_until < now):
            continue
        # Conditional on the claim as read: a worker that is alive after all keeps what it holds.
        mine = update(Delivery).where(Delivery.invitation_key == key, Delivery.kind == kind,
                                      Delivery.state == state, Delivery.claim == claim)
        if state == "sending":
            done = db.execute(mine.values(state="pending", claim=None, lease_until=None,
                                          last_error="released: the sending worker stopped before the message's "
                                                     "end was written (not taken)")
                              .execution_options(synchronize_session=False))
            released.pending += int(done.rowcount or 0)  # type: ignore[attr-defined]
        else:
            note = f"{last_error or ''} the sending worker stopped after the message was handed over".strip()
            done = db.execute(mine.values(state="uncertain", lease_until=None, last_error=note[:500])
                              .execution_options(synchronize_session=False))
            released.uncertain += int(done.rowcount or 0)  # type: ignore[attr-defined]
    db.commit()
    return released
