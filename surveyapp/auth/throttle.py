"""The log-in throttle: failure counters under keyed ids, reserved atomically before a password is checked.

Policy (README, "Log-in and sessions"):

- **Per address and client**: 5 failed log-ins are free; after that each further try must wait 1, 2, 4, …
  minutes (at most 60) after the previous failure. A success from that client starts it afresh.
- **Per client** (all addresses together, so one client cannot spray many addresses): 30 failures are free,
  then the same doubling wait. A success does not reset it (an outsider with an account of their own could).
- **Per address, from everywhere**: at most 20 failures in 15 minutes; then tries for that address wait until
  the 15 minutes are over. The wait ends by itself and renewing it needs 20 checked failures in every window,
  which no one client can give (its own back-off stops it after 5), so an outsider cannot lock an investigator
  out for good, and a user on another client is never held by the first two rules at all.
- Unknown addresses are counted exactly like existing ones, so the throttle never tells which exist.
- A failure-free day forgets a back-off counter; log-ins sweep expired rows away (at most once a minute).

Counting is atomic: a try *reserves* its failure before the password is checked (a conditional UPDATE that
only passes while the wait is over, in one transaction holding the row locks, on SQLite and PostgreSQL), so a
concurrent burst gets exactly the free tries, not one per request in flight; a success gives the reservation
back. Rows hold a keyed hash (HMAC with the app's secret) of the client address and/or the e-mail address, the
counters and times — never an address, and nothing that joins them to anything else. Times are epoch seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import BigInteger, Integer, String, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Base

MINUTE = 60
DAY = 24 * 3600
SWEEP_EVERY = MINUTE
ATTEMPTS = 4  # tries of a throttle transaction the database reports busy
T = TypeVar("T")
_swept_at = 0.0  # when this process last swept expired counters


@dataclass(frozen=True)
class Policy:
    """How many failures a counter allows, and what comes after."""

    name: str
    free: int  # failures allowed before any wait
    first_wait: int = MINUTE  # back-off: the wait after the first failure over `free`, doubled for each next one
    max_wait: int = 60 * MINUTE
    window: int = 0  # > 0: a fixed window of this many seconds, `free` failures in it, then wait for its end

    def after_failure(self, failures: int, now: int, expires: int) -> tuple[int, int]:
        """Return (wait_until, expires) once the counter holds *failures*."""
        if self.window:
            end = now + self.window if failures == 1 else expires
            return (end if failures >= self.free else 0), end
        if failures < self.free:
            return 0, now + DAY
        return now + min(self.first_wait * 2 ** min(failures - self.free, 20), self.max_wait), now + DAY


PAIR = Policy("pair", free=5)
CLIENT = Policy("client", free=30)
ACCOUNT = Policy("account", free=20, window=15 * MINUTE)


class LoginThrottle(Base):
    """One failure counter of the log-in throttle, under a keyed hash."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The keyed id of the e-mail address on its address and pair rows, so `users password` can clear them.
    account: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    failures: Mapped[int] = mapped_column(Integer)
    wait_until: Mapped[int] = mapped_column(BigInteger)
    expires: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class Counter:
    key: str
    account: str | None
    policy: Policy


def clock() -> float:
    """Return the time now in epoch seconds (tests replace this to skip through waits)."""
    return time.time()


def _keyed(secret: bytes, *parts: str) -> str:
    return hmac.new(secret, "\0".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def throttle_secret(app_secret: str | bytes) -> bytes:
    """Return the throttle's own key, derived from the app's secret key."""
    raw = app_secret.encode() if isinstance(app_secret, str) else app_secret
    return hmac.new(raw, b"surveykit login throttle", hashlib.sha256).digest()


def account_id(secret: bytes, address: str) -> str:
    """Return the keyed id of an e-mail address."""
    return _keyed(secret, "account", address)


def counters(secret: bytes, address: str, client: str) -> list[Counter]:
    """Return the three counters a log-in for *address* from *client* goes through, in lock order."""
    account = account_id(secret, address)
    found = [Counter(_keyed(secret, "pair", address, client), account, PAIR),
             Counter(_keyed(secret, "client", client), None, CLIENT),
             Counter(account, account, ACCOUNT)]
    # One order for every transaction, so two log-ins never wait on each other's rows in a cycle (PostgreSQL).
    return sorted(found, key=lambda c: c.key)


def _insert_missing(db: Session, counter: Counter, now: int) -> None:
    values = {"key": counter.key, "account": counter.account, "failures": 0, "wait_until": 0, "expires": now + DAY}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(postgresql.insert(LoginThrottle).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        db.execute(sqlite.insert(LoginThrottle).values(values).on_conflict_do_nothing())
    elif db.get(LoginThrottle, counter.key) is None:  # pragma: no cover  (only SQLite and PostgreSQL are supported)
        db.execute(insert(LoginThrottle).values(values))


def _count_failure(db: Session, counter: Counter, now: int) -> bool:
    """Count one failure on *counter* unless it is waiting; return whether it was counted."""
    row = LoginThrottle.__table__.c
    for _ in range(3):  # the row may be swept between the insert and the update by another log-in
        _insert_missing(db, counter, now)
        expired = row.expires <= now
        counted = db.execute(
            update(LoginThrottle)
            .where(row.key == counter.key, (row.wait_until <= now) | expired)
            .values(failures=case((expired, 1), else_=row.failures + 1))
            .returning(row.failures, row.expires)).first()
        if counted is not None:
            failures, expires = counted
            wait_until, expires = counter.policy.after_failure(failures, now, expires)
            db.execute(update(LoginThrottle).where(row.key == counter.key)
                       .values(wait_until=wait_until, expires=expires))
            return True
        if db.scalar(select(row.key).where(row.key == counter.key)) is not None:
            return False
    raise RuntimeError("the log-in throttle's row kept vanishing")  # pragma: no cover


def sweep(db: Session, now: int) -> None:
    """Delete counters that have expired (rows another log-in holds are left for the next sweep)."""
    row = LoginThrottle.__table__.c
    stale = select(row.key).where(row.expires <= now).with_for_update(skip_locked=True).scalar_subquery()
    db.execute(delete(LoginThrottle).where(row.key.in_(stale)))
    db.commit()


def _retrying(db: Session, work: Callable[[], T]) -> T:
    """Run the transaction *work*, again after a short random pause when the database says it is busy."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except OperationalError:  # SQLite: locked past its busy timeout; PostgreSQL: a deadlock victim
            db.rollback()
            if attempt == ATTEMPTS:
                raise
            time.sleep(random.uniform(0.05, 0.25) * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def reserve(db: Session, found: Sequence[Counter], now: float | None = None) -> bool:
    """Count a failure on every counter before the password is checked; False (nothing counted) when one waits.

    Also False when the database stays too busy to count: the throttle fails closed.
    """
    global _swept_at
    at = int(clock() if now is None else now)

    def count() -> bool:
        for counter in found:
            if not _count_failure(db, counter, at):
                db.rollback()
                return False
        db.commit()
        return True

    try:
        # Sweeping is a write of its own, so once a minute is enough (abs(): tests move the clock back and forth).
        if abs(at - _swept_at) >= SWEEP_EVERY:
            _swept_at = at
            _retrying(db, lambda: sweep(db, at))
        return _retrying(db, count)
    except OperationalError:
        return False


def give_back(db: Session, found: Sequence[Counter]) -> None:
    """Undo the reservation of a try whose password was right: the pair starts afresh, the others lose one."""
    row = LoginThrottle.__table__.c

    def undo() -> None:
        for counter in found:
            if counter.policy is PAIR:
                db.execute(delete(LoginThrottle).where(row.key == counter.key))
                continue
            db.execute(update(LoginThrottle).where(row.key == counter.key, row.failures > 0).values(
                failures=row.failures - 1,
                wait_until=case((row.failures - 1 < counter.policy.free, 0), else_=row.wait_until)))
        # A counter back at nothing is not kept: fewer rows, and none that says a log-in happened.
        db.execute(delete(LoginThrottle).where(row.key.in_([c.key for c in found]), row.failures <= 0))
        db.commit()

    try:
        _retrying(db, undo)
    except OperationalError:
        pass  # the log-in stands; its try stays counted, which errs on the safe side


def forget_account(db: Session, secret: bytes, address: str) -> int:
    """Delete every counter of *address* (its pairs and its window); return how many there were."""
    result = db.execute(delete(LoginThrottle).where(LoginThrottle.account == account_id(secret, address)))
    return int(getattr(result, "rowcount", 0) or 0)
