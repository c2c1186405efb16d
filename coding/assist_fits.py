"""The assistant's fitted index and suggesters, stored so every web process and host serves the same fit.

One row per project and (viewer, target) — ("", "") for the similar-answers index — holding the pickled object
and the hash of the project's change stamp it was fitted on. A fit happens once per change: the job that fits
first stores it, and a job that finds the current hash already stored fits nothing. ``fits`` counts the fits
stored for a row, so a test (and an operator) can see that a change was fitted once, not once per process.

The pickles are read only from our own database, trusted as much as the rest of its rows. What a pickle cannot
hold (a lock, the ONNX embedder) is stored by name and made anew when loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import pickle
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from coding.assist.routing import DEFAULT_PRECISION
from coding.assist_log import unit_decisions
from coding.assist_project import (
    Stamp,
    change_stamp,
    codebook_entries,
    coded_unit_ids,
    training_labels,
    unit_texts,
)
from coding.store import EMAIL_LENGTH, CodingBase, Project

INDEX = ("", "")  # (viewer, target) of the similar-answers index, which belongs to no viewer
MIN_POSITIVES = 5  # coded examples a code needs before it gets its own model (else: codebook cold start)
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class StoredFit(CodingBase):
    """A fitted index or suggester of one project, and the change stamp it was fitted on."""

    __tablename__ = "coding_assist_fits"

    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"), primary_key=True)
    viewer: Mapped[str] = mapped_column(String(EMAIL_LENGTH), primary_key=True)
    target: Mapped[str] = mapped_column(String(EMAIL_LENGTH + 10), primary_key=True)
    stamp_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[bytes] = mapped_column(LargeBinary)
    fits: Mapped[int] = mapped_column(Integer, default=1)
    fitted_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Loaded(NamedTuple):
    """A stored fit as read back: the hash it was fitted on and the object."""

    stamp_hash: str
    value: Any


def stamp_hash(stamp: Stamp) -> str:
    """Return the content hash of a change stamp (what a stored fit is keyed by)."""
    return hashlib.sha256(repr(tuple(stamp)).encode()).hexdigest()


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> str | None:
        if isinstance(obj, _LOCK_TYPES):
            return "lock"
        found = sys.modules.get("coding.assist.embeddings")  # loaded only when embeddings are in use
        if found is not None and isinstance(obj, found.Embedder):
            return "embedder"
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid == "lock":
            return threading.Lock()
        if pid == "embedder":
            from coding.assist.embeddings import embedder

            return embedder()
        raise pickle.UnpicklingError(f"unknown stored reference {pid!r}")


def dumps(value: Any) -> bytes:
    """Return *value* pickled, its locks and embedder replaced by their names."""
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


def loads(data: bytes) -> Any:
    """Return the object ``dumps`` stored, with new locks and the process's embedder."""
    return _Unpickler(io.BytesIO(data)).load()


def stored_hash(session: Session, project_id: int, viewer: str, target: str) -> str | None:
    """Return the hash the stored fit was made on (None: never fitted), without reading the fit."""
    return session.scalar(select(StoredFit.stamp_hash).where(
        StoredFit.project_id == project_id, StoredFit.viewer == viewer, StoredFit.target == target))


def load(session: Session, project_id: int, viewer: str, target: str) -> Loaded | None:
    """Return the stored fit of (viewer, target) in a project, or None when there is none."""
    row = session.execute(select(StoredFit.stamp_hash, StoredFit.model).where(
        StoredFit.project_id == project_id, StoredFit.viewer == viewer, StoredFit.target == target)).first()
    return None if row is None else Loaded(row[0], loads(row[1]))


def save(session: Session, project_id: int, viewer: str, target: str, hashed: str, value: Any) -> None:
    """Store a fit (replacing the earlier one and counting it) and commit."""
    data = dumps(value)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    where = (StoredFit.project_id == project_id, StoredFit.viewer == viewer, StoredFit.target == target)
    changed = session.execute(update(StoredFit).where(*where).values(
        stamp_hash=hashed, model=data, fits=StoredFit.fits + 1, fitted_at=now)).rowcount  # type: ignore[attr-defined]
    if not changed:
        session.add(StoredFit(project_id=project_id, viewer=viewer, target=target, stamp_hash=hashed, model=data,
                              fits=1, fitted_at=now))
        try:
            session.commit()
        except IntegrityError:  # stored by another job meanwhile: replace theirs, as an update would have
            session.rollback()
            save(session, project_id, viewer, target, hashed, value)
        return
    session.commit()


def fit_count(session: Session, project_id: int) -> dict[tuple[str, str], int]:
    """Return how many fits were stored per (viewer, target) of a project."""
    return {(v, t): n for v, t, n in session.execute(
        select(StoredFit.viewer, StoredFit.target, StoredFit.fits).where(StoredFit.project_id == project_id))}


def assist_precision(config: Mapping[str, Any]) -> float:
    """Return the precision suggestions must reach (SURVEYKIT_ASSIST_PRECISION); raise ValueError when bad."""
    found = float(config.get("SURVEYKIT_ASSIST_PRECISION", DEFAULT_PRECISION))
    if not 0.0 < found <= 1.0:
        raise ValueError(f"setting SURVEYKIT_ASSIST_PRECISION: {found} is not in (0, 1]")
    return found


def assist_backend(config: Mapping[str, Any]) -> str | None:
    """Return the text backend (SURVEYKIT_ASSIST_BACKEND; None for auto); raise ValueError when bad."""
    found = str(config.get("SURVEYKIT_ASSIST_BACKEND", "auto"))
    if found not in ("auto", "tfidf", "embeddings"):
        raise ValueError(f"setting SURVEYKIT_ASSIST_BACKEND: '{found}' is not auto, tfidf or embeddings")
    return None if found == "auto" else found


class Fitted(NamedTuple):
    """A viewer's suggester as stored: the suggester and how many coded units it learned from."""

    suggester: Any
    units: int


def fit_index(session: Session, project: Project, backend: str | None) -> Any:
    """Return a prepared similar-answers index of the project's units, coded ones marked."""
    from coding.assist.similar import SimilarityIndex

    index = SimilarityIndex(backend)
    index.add({str(u): t for u, t in unit_texts(session, project).items()})
    index.set_labels({str(u): frozenset() for u in coded_unit_ids(session, project)})
    index.prepare()  # the TF-IDF matrix (and the coded units' embeddings) in the job, not in a request
    return index


def fit_suggester(session: Session, project: Project, viewer: str, target: str, precision: float,
                  backend: str | None, texts: Mapping[int, str] | None = None) -> Fitted:
    """Return *viewer*'s suggester for *target*, trained on the codes they may see and their accepts/rejects."""
    from coding.assist.suggest import CodeSuggester

    texts = texts if texts is not None else unit_texts(session, project)
    labels = training_labels(session, project, target, viewer=viewer)
    suggester = CodeSuggester(codebook_entries(session, project), min_positives=MIN_POSITIVES, precision=precision,
                              backend=backend)
    # The viewer's accepts and rejects on answers not yet among the labels tell how right their codes were.
    feedback = [(texts[u], code, accepted) for u, code, accepted in unit_decisions(session, project, viewer)
                if u not in labels and u in texts]
    suggester.fit({str(u): texts[u] for u in labels}, {str(u): c for u, c in labels.items()}, feedback)
    return Fitted(suggester, len(labels))


def fit_project(session: Session, project_id: int, pairs: Sequence[tuple[str, str]], precision: float,
                backend: str | None) -> dict[str, Any]:
    """Fit and store what is stale of a project: its index and the suggesters of *pairs* (viewer, target).

    What is stored for the current change stamp already is left alone, so running this twice fits once.
    """
    project = session.get(Project, project_id)
    if project is None:
        return {"fitted": [], "project": None}
    hashed = stamp_hash(change_stamp(session, project_id))
    done: list[str] = []
    if stored_hash(session, project_id, *INDEX) != hashed:
        save(session, project_id, *INDEX, hashed, fit_index(session, project, backend))
        done.append("index")
    texts: dict[int, str] | None = None
    for viewer, target in dict.fromkeys(pairs):
        if stored_hash(session, project_id, viewer, target) == hashed:
            continue
        texts = texts if texts is not None else unit_texts(session, project)
        save(session, project_id, viewer, target, hashed,
             fit_suggester(session, project, viewer, target, precision, backend, texts))
        done.append(f"{viewer}/{target}")
    return {"fitted": done, "project": project_id, "stamp": hashed}
