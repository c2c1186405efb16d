"""The coding assistant of the web process: per project, a similarity index and code suggesters, kept fresh.

One :class:`AssistService` per app holds a :class:`ProjectAssistant` per project, built lazily on the first
coding-screen view. Requests never build or fit anything heavy: they *poke* the assistant, which queues a
background look (one thread per app) at most every ``POKE_SECONDS``. The look hashes the project's change stamp
and compares it with what is in memory; when something moved, it loads the fit stored for that hash
(``coding.assist_fits``: the database, so every web process and host serves the same fit), and when none is
stored yet it asks for one: an ``assist.fit`` job (``surveyapp.jobs``), run by ``surveykit worker`` when a broker
is set, else right there in this thread. A change is fitted once, whichever process saw it first; meanwhile
requests are served by the old fit, or by the codebook cold start of a suggester that has none yet.

Blindness: a suggester belongs to one viewer and one training target and learns only from codes that viewer
may see (``coding.assist_project.training_labels``), so it cannot echo a code hidden behind the blind. The
index holds texts only (its "coded" marks say that someone coded a unit, not what): similar answers are
shown with the codes the viewer may see (``visible_codes``), and those with none visible are left out.

``SimilarityIndex`` is not thread-safe, so every use of an index holds the assistant's lock; a loaded index is
swapped in under it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from coding import assist_fits
from coding.assist_fits import INDEX, MIN_POSITIVES, Fitted, assist_backend, assist_precision, stamp_hash
from coding.assist_project import change_stamp, codebook_entries
from coding.store import Project

from .. import jobs

if TYPE_CHECKING:  # nltk and scikit-learn load on a project's first coding-screen view, not with the app
    from coding.assist.similar import Neighbour, SimilarityIndex
    from coding.assist.suggest import CodeSuggester, Suggestion

POKE_SECONDS = 2.0  # how often a request may ask the background job to look for changes
EXTENSION = "surveykit.assist"


@dataclass
class _Suggester:
    """A suggester for one (viewer, target) and what it was last fitted on."""

    suggester: CodeSuggester
    stamp: str | None = None  # the hash of the change stamp it was fitted on; None: codebook cold start only
    fitted_units: int = 0


@dataclass
class ProjectAssistant:
    """One project's index and suggesters, and the state of their background upkeep."""

    project_id: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    index: SimilarityIndex | None = None
    index_hash: str | None = None
    suggesters: dict[tuple[str, str], _Suggester] = field(default_factory=dict)
    last_poke: float = float("-inf")
    queued: bool = False

    def suggest(self, viewer: str, target: str, text: str, threshold: float) -> list[Suggestion]:
        """Return the routed codes for *text* to *viewer*, best first.

        A code is offered only at or above its calibrated threshold (``coding.assist.routing``); a code not
        calibrated yet (the cold start) at or above the reviewer's *threshold*.
        """
        with self.lock:
            entry = self.suggesters.get((viewer, target))
        return entry.suggester.suggest_routed([text], floor=threshold)[0] if entry is not None else []

    def calibrated(self, viewer: str, target: str) -> set[str]:
        """Return the codes whose threshold was calibrated on coded answers (the others are the cold start)."""
        with self.lock:
            entry = self.suggesters.get((viewer, target))
        if entry is None:
            return set()
        return {code for code, r in entry.suggester.routes.items() if r.threshold is not None}

    def status(self, viewer: str, target: str) -> dict[str, object]:
        """Say what the assistant is serving: index size, and whether the suggester is fitted (on how many)."""
        with self.lock:
            entry = self.suggesters.get((viewer, target))
            return {"indexed": len(self.index) if self.index is not None else None,
                    "fitted": entry is not None and entry.stamp is not None,
                    "fitted_units": entry.fitted_units if entry is not None else 0,
                    # Which text representation ran ("tfidf" or "embeddings"), for the panel to say.
                    "backend": entry.suggester.backend_name if entry is not None else None,
                    "similar_backend": self.index.backend if self.index is not None else None}

    def similar(self, unit_id: int, text: str, k: int) -> list[Neighbour] | None:
        """Return up to *k* coded units most similar to a unit, or None while the index is being built."""
        with self.lock:
            if self.index is None:
                return None
            key = str(unit_id)
            # A unit that arrived after the index was built is looked up by its text until the next rebuild.
            return self.index.query(key if key in self.index else text, k=k, only_coded=True)


class AssistService:
    """The assistants of every project, and the background worker that keeps them up to date."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._projects: dict[int, ProjectAssistant] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coding-assist")
        self._futures: set[Future[None]] = set()
        self._closed = False
        # The worker's own engine without a pool: it only reads, and no connection outlives a job (an app may
        # be discarded while an update runs, as in tests, and must not leave connections open behind it).
        self._engine = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
        self._sessions = sessionmaker(self._engine)
        _ = self.precision, self.backend  # a bad setting fails when the service starts, not in a request

    @property
    def precision(self) -> float:
        """Return the precision suggestions must reach (SURVEYKIT_ASSIST_PRECISION), read at each use."""
        return assist_precision(self.app.config)

    @property
    def backend(self) -> str | None:
        """Return the text backend (SURVEYKIT_ASSIST_BACKEND; None for auto), read at each use."""
        return assist_backend(self.app.config)

    def assistant(self, project_id: int) -> ProjectAssistant:
        """Return the project's assistant, creating an empty one on first use."""
        with self._lock:
            found = self._projects.get(project_id)
            if found is None:
                found = self._projects[project_id] = ProjectAssistant(project_id)
            return found

    def poke(self, session: Session, project: Project, viewer: str, target: str) -> ProjectAssistant:
        """Make sure *viewer* has a suggester for *target*, and queue an update if none ran lately."""
        assistant = self.assistant(project.id)
        with assistant.lock:
            missing = (viewer, target) not in assistant.suggesters
        if missing:
            from coding.assist.suggest import CodeSuggester

            # Cold start from the codebook alone: a TF-IDF over a few dozen definitions, milliseconds.
            cold = _Suggester(CodeSuggester(codebook_entries(session, project), min_positives=MIN_POSITIVES,
                                            precision=self.precision, backend=self.backend))
            with assistant.lock:
                assistant.suggesters.setdefault((viewer, target), cold)
        now = time.monotonic()
        with assistant.lock:
            if assistant.queued or (not missing and now - assistant.last_poke < POKE_SECONDS):
                return assistant
            assistant.queued, assistant.last_poke = True, now
        with self._lock:
            if self._closed:  # the app is going away: serve the current models, fit nothing new
                return assistant
            future = self._executor.submit(self._update, assistant)
            self._futures.add(future)
        future.add_done_callback(self._done)
        return assistant

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until queued updates are done; say whether they all finished in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                pending = set(self._futures)
            if not pending:
                return True
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, not_done = wait(pending, timeout=left)
            if not_done:
                return False

    def shutdown(self, wait: bool = True) -> None:
        """Drop queued updates and stop the worker thread (after the running update, when *wait*)."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
        self._engine.dispose()

    def _update(self, assistant: ProjectAssistant) -> None:
        with assistant.lock:
            assistant.queued = False  # changes made from now on need another pass
        try:
            with self._sessions() as session:
                if session.get(Project, assistant.project_id) is not None:
                    self._sync(session, assistant)
        except Exception:  # a worker thread: report, and let the next poke try again
            self.app.logger.exception("coding assistant: updating project %s failed", assistant.project_id)

    def _sync(self, session: Session, assistant: ProjectAssistant) -> None:
        stale = update(session, assistant)
        if not stale:
            return
        pairs = [list(pair) for pair in stale if pair != INDEX]
        if jobs.broker_url(self.app):
            jobs.enqueue("assist.fit", key=str(assistant.project_id), app=self.app,
                         project_id=assistant.project_id, pairs=pairs)
        elif jobs.run_here("assist.fit", key=str(assistant.project_id), app=self.app,
                           project_id=assistant.project_id, pairs=pairs):
            update(session, assistant)


def update(session: Session, assistant: ProjectAssistant) -> list[tuple[str, str]]:
    """Load the fits stored for the project's current state; return what has none stored yet ((viewer, target)).

    ``INDEX`` among them stands for the similar-answers index.
    """
    hashed = stamp_hash(change_stamp(session, assistant.project_id))
    session.commit()  # end the read: the fit job may take long, and PostgreSQL holds nothing for it meanwhile
    missing: list[tuple[str, str]] = []
    if assistant.index_hash != hashed:
        if assist_fits.stored_hash(session, assistant.project_id, *INDEX) != assistant.index_hash:
            found = assist_fits.load(session, assistant.project_id, *INDEX)
            if found is not None:
                with assistant.lock:
                    assistant.index, assistant.index_hash = found.value, found.stamp_hash
        if assistant.index_hash != hashed:
            missing.append(INDEX)
    with assistant.lock:
        stale = [(key, entry) for key, entry in assistant.suggesters.items() if entry.stamp != hashed]
    for key, entry in stale:
        if assist_fits.stored_hash(session, assistant.project_id, *key) not in (None, entry.stamp):
            found = assist_fits.load(session, assistant.project_id, *key)
            if found is not None:
                fitted: Fitted = found.value
                with assistant.lock:
                    assistant.suggesters[key] = _Suggester(fitted.suggester, found.stamp_hash, fitted.units)
                    entry = assistant.suggesters[key]
        if entry.stamp != hashed:
            missing.append(key)
    session.commit()
    return missing


def service(app: Flask | None = None) -> AssistService:
    """Return the app's assistant service, creating it on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(EXTENSION)
    if found is None:
        with _CREATE:
            found = app.extensions.setdefault(EXTENSION, AssistService(app))
    return found  # type: ignore[no-any-return]


def shutdown(app: Flask) -> None:
    """Stop the app's assistant service, if it was ever started; a later request starts a new one."""
    with _CREATE:
        found = app.extensions.pop(EXTENSION, None)
    if found is not None:
        found.shutdown()


_CREATE = threading.Lock()
