"""Messages in doubt: the whole message was handed to the mail server and its answer never came.

The server may have taken such a message or not; no SMTP client can tell (RFC 1047), and sending it again could
give a second reminder while not sending it could give none. So it is held, with the Message-ID it was sent
with, for a person to look up in the mail server's log (Postfix logs ``message-id=<...>``; Exchange's message
trace searches by it) and settle: found there, it counts as sent; not found, it waits for the next run. A run
stops at the first such message, so at most one per run is ever in doubt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Delivery, Invitation
from .sending import record_sent


@dataclass(frozen=True)
class Held:
    """One message in doubt: its kind, address (None once erased), Message-ID and what happened."""

    kind: str
    email: str | None
    message_id: str
    note: str
    key: str


def message_id_of(note: str | None) -> str:
    """Return the Message-ID a held message's note starts with ("" if none)."""
    first = (note or "").split(" ", 1)[0]
    return first if first.startswith("<") and first.endswith(">") else ""


def held_messages(db: Session, slug: str) -> list[Held]:
    """Return the survey's messages in doubt, by address."""
    rows = db.execute(select(Delivery.kind, Invitation.email, Delivery.last_error, Delivery.invitation_key)
                      .join(Invitation, Invitation.key == Delivery.invitation_key)
                      .where(Delivery.survey_slug == slug, Delivery.state == "uncertain")
                      .order_by(Invitation.email, Delivery.kind)).all()
    return [Held(kind, email, message_id_of(note), (note or "").partition(" ")[2] if message_id_of(note) else
                 note or "", key) for kind, email, note, key in rows]


def settle(db: Session, slug: str, which: str, taken: bool, today: dt.date) -> Held | None:
    """Settle the held message *which* (its Message-ID, or its address): *taken* (found in the server's log)
    counts it as sent, else it goes back to pending for the next run. Return it, or None when none matches."""
    wanted = which.strip()
    bracketed = wanted if wanted.startswith("<") else f"<{wanted}>"
    found = next((h for h in held_messages(db, slug) if bracketed == h.message_id or wanted == h.email), None)
    if found is None:
        return None
    if taken:
        record_sent(db, slug, found.key, found.kind, today)
    else:
        db.execute(update(Delivery).where(Delivery.invitation_key == found.key, Delivery.kind == found.kind,
                                          Delivery.state == "uncertain")
                   .values(state="pending", claim=None,
                           last_error=f"{found.message_id} not in the mail server's log: to send again")
                   .execution_options(synchronize_session=False))
        db.commit()
    return found
