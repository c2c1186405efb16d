"""Finding an invitation by its link's token, marking it answered, and the storage reshuffle.

Responses keep their own random key and the day. Marking the invitation answered and storing the response commit
together; on PostgreSQL, :func:`reshuffle_storage` then rewrites both tables' rows of the survey in one later
transaction in random-key order, so neither the transaction ids (``xmin``) nor the physical order (``ctid``) pair
an answered invitation with its response. On SQLite both tables are WITHOUT ROWID and keyed randomly, so storage
order is key order.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..models import Delivery, Invitation, Response

logger = logging.getLogger(__name__)


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

    Runs inside the transaction that stores the response, so both happen or neither does.
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


def reshuffle_storage(db: Session, slug: str) -> None:
    """On PostgreSQL, rewrite the survey's answered invitations and responses in one transaction, in key order.

    The transaction that stores a response also marks its invitation, so both rows carry the same ``xmin`` and
    land at the end of their tables in answer order. Rewriting them all afterwards gives every row of the survey
    the same new ``xmin`` and puts the new row versions in random-key order. SQLite needs none of this.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    try:
        _rewrite_in_key_order(db, slug)
    except OperationalError:
        # The answer is stored already; a lock timeout or deadlock here only postpones the rewrite to the next
        # answer, which rewrites every row of the survey again. The respondent must not see an error for it.
        db.rollback()
        logger.warning("storage reshuffle of a survey postponed (lock conflict)")


def _rewrite_in_key_order(db: Session, slug: str) -> None:
    inv_keys = list(db.scalars(select(Invitation.key).where(Invitation.survey_slug == slug, Invitation.answered)
                               .order_by(Invitation.key).with_for_update()))
    resp_keys = list(db.scalars(select(Response.key).where(Response.survey_slug == slug)
                                .order_by(Response.key).with_for_update()))
    # Row by row in key order (one executemany each), so the new row versions are written in that order.
    if inv_keys:
        db.execute(update(Invitation), [{"key": k, "answered": True} for k in inv_keys])
    if resp_keys:
        db.execute(update(Response), [{"key": k, "survey_slug": slug} for k in resp_keys])
    db.commit()
