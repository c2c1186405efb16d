"""Finding an invitation by its link's token, and marking it answered.

Marking the invitation answered commits with the answers *parked* (sealed, see :mod:`.parking`), never with a
readable response; the mixer stores responses later in shuffled batches.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ..models import Delivery, Invitation


def hash_token(token: str) -> str:
    """Return the stored form of an invitation token (SHA-256: the token has 128 random bits, no need to slow it)."""
    return hashlib.sha256(token.encode()).hexdigest()


def find_invitation(db: Session, token: str) -> Invitation | None:
    """Return the invitation whose link carries *token*, or None for a forged or replaced token."""
    if not token or len(token) > 64:
        return None
    digest = hash_token(token)
    return db.scalar(select(Invitation).where(or_(Invitation.token_hash == digest,
                                                  Invitation.reminder_token_hash == digest)))


def mark_answered(db: Session, invitation_key: str) -> bool:
    """Lock the invitation and mark it answered, dropping its mail rows; False when it was answered already.

    Runs inside the transaction that parks the answers, so both happen or neither does.
    """
    inv = db.scalar(select(Invitation).where(Invitation.key == invitation_key).with_for_update())
    if inv is None or inv.answered:
        return False
    inv.answered = True
    # The day of the invitation only served to time the reminder; kept after answering it would narrow down which
    # responses (by their day) could be this person's.
    inv.invited_on = None
    db.execute(delete(Delivery).where(Delivery.invitation_key == invitation_key))
    return True
