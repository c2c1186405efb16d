"""Background jobs: a row per job, claimed once, run by a Celery worker or, without a broker, by a thread here.

``enqueue(name, key=..., **arguments)`` adds a row to ``jobs`` and hands its id over: to Celery when
``SURVEYKIT_BROKER_URL`` is set (``surveykit worker`` runs it), else to one background thread of this process,
so ``make run`` stays one command. The row, not the broker, is the truth: a worker *claims* a job by moving it
from ``queued`` to ``running`` in one conditional UPDATE, so a message delivered twice (Celery's late
acknowledgement after a lost worker, two workers, a retry) runs the job once. While a job is queued or running,
the same name and key cannot be queued again (``Job.active`` is unique): a second request gets the first job.

Jobs themselves are idempotent: an assistant fit does nothing when the project's hash is already stored, a
sending job claims each message as a sending run always did.

Scheduled jobs (Celery beat, ``surveykit worker --beat``): the due reminders every ``REMINDER_MINUTES``. The
mixer is not a job: it runs inside the final submit's transaction, and at close.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import Job, utcnow

if TYPE_CHECKING:  # Celery loads in the worker and on the first job sent to a broker, never with the app
    from celery import Celery

REMINDER_MINUTES = 10
LEASE = dt.timedelta(hours=1)  # a job running longer than this lost its worker: its key is freed
EXECUTOR = "surveykit.jobs"
TASK = "surveykit.run"


def _assist_fit(app: Flask, session: Session, project_id: int, pairs: list[list[str]]) -> dict[str, Any]:
    from coding.assist_fits import assist_backend, assist_precision, fit_project

    return fit_project(session, project_id, [(v, t) for v, t in pairs], assist_precision(app.config),
                       assist_backend(app.config))


def _send(app: Flask, session: Session, slug: str, kind: str) -> dict[str, Any]:
    from .invitations.sending import send_job

    return send_job(session, app.config, slug, kind)


def _reminders_due(app: Flask, session: Session) -> dict[str, Any]:
    from .invitations.sending import send_due_reminders
    from .mail import SmtpSettings

    report = send_due_reminders(session, SmtpSettings.from_config(app.config), app.config["SURVEYKIT_BASE_URL"],
                                dt.date.today())
    return report.as_dict()


def _coding_import(app: Flask, session: Session, **arguments: Any) -> dict[str, Any]:
    from .coding_files import import_job

    return import_job(app, session, **arguments)


def _coding_workbook(app: Flask, session: Session, **arguments: Any) -> dict[str, Any]:
    from .coding_files import workbook_job

    return workbook_job(app, session, **arguments)


# Every job, by name: what runs it, given the app, a session and the job's arguments.
HANDLERS: dict[str, Callable[..., dict[str, Any] | None]] = {
    "assist.fit": _assist_fit,
    "coding.import": _coding_import,
    "coding.workbook": _coding_workbook,
    "invitations.send": _send,
    "reminders.due": _reminders_due,
}


def broker_url(app: Flask | None = None) -> str:
    """Return SURVEYKIT_BROKER_URL ("" when jobs run in this process)."""
    return str((app or current_app).config.get("SURVEYKIT_BROKER_URL") or "")


def add(session: Session, name: str, key: str = "", **arguments: Any) -> tuple[int, bool]:
    """Queue a job row (not yet handed to anyone) and commit; return its id and whether it is new.

    When the same name and key is queued or running already, return that job instead (``False``).
    """
    if name not in HANDLERS:
        raise ValueError(f"no job named {name!r} (known: {', '.join(sorted(HANDLERS))})")
    json.dumps(arguments)  # a job's arguments travel as JSON: fail here, not in the worker
    active = f"{name}:{key}"
    _free_lost(session, active)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for _ in range(3):  # the job it met may end between the insert and the look-up: try again
        row = session.execute(insert(Job).values(name=name, ref=key, active=active, arguments=arguments,
                                                 state="queued", created_at=utcnow())
                              .on_conflict_do_nothing().returning(Job.id)).first()
        if row is not None:
            session.commit()
            return int(row[0]), True
        found = session.scalar(select(Job.id).where(Job.active == active))
        session.commit()
        if found is not None:
            return int(found), False
    raise RuntimeError(f"job {active}: could not queue it")


def _free_lost(session: Session, active: str) -> None:
    session.execute(update(Job).where(Job.active == active, Job.state == "running", Job.started_at < utcnow() - LEASE)
                    .values(state="failed", active=None, error="the worker was lost", finished_at=utcnow()))


def enqueue(name: str, key: str = "", app: Flask | None = None, **arguments: Any) -> int:
    """Queue job *name* with *arguments* (JSON values) and hand it to the broker or this process's thread.

    Returns the job's id; a job of the same name and key already queued or running is returned instead of a
    new one.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with app.extensions["surveykit.sessions"]() as session:
        job_id, new = add(session, name, key, **arguments)
    if not new:
        return job_id
    url = broker_url(app)
    if url:
        _celery(app).send_task(TASK, args=[job_id])
    else:
        _executor(app).submit(run, app, job_id)
    return job_id


def run_here(name: str, key: str = "", app: Flask | None = None, **arguments: Any) -> bool:
    """Queue job *name* and run it in the calling thread (a thread that is background work already).

    Returns False when the same job was queued or running elsewhere (that one does the work).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with app.extensions["surveykit.sessions"]() as session:
        job_id, new = add(session, name, key, **arguments)
    return new and run(app, job_id)


def run(app: Flask, job_id: int) -> bool:
    """Claim job *job_id* and run it; return False when it was not queued (claimed by another worker, or done)."""
    with app.app_context(), app.extensions["surveykit.sessions"]() as session:
        claimed = session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                                  .values(state="running", started_at=utcnow()))
        session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        job = session.get(Job, job_id)
        assert job is not None
        name, arguments = job.name, dict(job.arguments)
        try:
            result = HANDLERS[name](app, session, **arguments)
        except Exception as exc:  # a job boundary: record the failure on the row, report it, free the key
            session.rollback()
            app.logger.exception("job %s %s failed", job_id, name)
            _end(session, job_id, "failed", error=f"{type(exc).__name__}: {exc}")
            return True
        _end(session, job_id, "done", result=result)
        return True


def _end(session: Session, job_id: int, state: str, result: dict[str, Any] | None = None,
         error: str | None = None) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(state=state, active=None, result=result, error=error,
                                                               finished_at=utcnow()))
    session.commit()


def latest(session: Session, name: str, key: str) -> Job | None:
    """Return the newest job of *name* and *key* (queued, running or ended), for a page to show its progress."""
    return session.scalars(select(Job).where(Job.name == name, Job.ref == key).order_by(Job.id.desc())
                           .limit(1)).first()


def pending(session: Session) -> list[Job]:
    """Return the jobs queued or running, oldest first."""
    return list(session.scalars(select(Job).where(or_(Job.state == "queued", Job.state == "running"))
                                .order_by(Job.id)))


# In this process, without a broker: one thread per app, stopped with the app.

_CREATE = threading.Lock()


def _executor(app: Flask) -> ThreadPoolExecutor:
    with _CREATE:
        found = app.extensions.get(EXECUTOR)
        if found is None:
            found = app.extensions[EXECUTOR] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="surveykit-job")
        return found  # type: ignore[no-any-return]


def shutdown(app: Flask) -> None:
    """Stop this process's job thread after the job it runs; queued rows stay queued for the next start."""
    with _CREATE:
        found = app.extensions.pop(EXECUTOR, None)
    if found is not None:
        found.shutdown(wait=True, cancel_futures=True)


# Celery: the same rows, handed over by id.

_WORKER_APP: list[Flask] = []  # the Flask app of `surveykit worker`, set before Celery starts


def queue_name(database_url: str) -> str:
    """Return the broker queue of a database's jobs: two installations sharing a broker never take each other's."""
    return "surveykit-" + hashlib.sha256(database_url.encode()).hexdigest()[:16]


def _celery(app: Flask) -> Celery:
    return celery_app(broker_url(app), queue_name(app.config["DATABASE_URL"]))


@functools.lru_cache(maxsize=8)
def celery_app(url: str, queue_name: str) -> Celery:
    """Return the Celery app on broker *url* and queue *queue_name*: a task that runs a job by id, the schedule."""
    from celery import Celery

    queue = Celery("surveykit", broker=url, set_as_current=False)
    queue.conf.update(
        task_default_queue=queue_name,
        task_acks_late=True,  # a worker lost mid-job: the message goes back, and the row's claim stops a second run
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # results live on the job's row
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={"reminders-due": {"task": "surveykit.scheduled", "args": ["reminders.due"],
                                         "schedule": REMINDER_MINUTES * 60.0, "options": {"queue": queue_name}}},
    )

    @queue.task(name=TASK, shared=False)  # not shared: each Celery app here has its own queue
    def run_task(job_id: int) -> None:
        run(_worker_app(), job_id)

    @queue.task(name="surveykit.scheduled", shared=False)
    def scheduled(name: str) -> None:
        app = _worker_app()
        with app.extensions["surveykit.sessions"]() as session:
            job_id, new = add(session, name, "scheduled")
        if new:
            run(app, job_id)

    return queue


def _worker_app() -> Flask:
    if not _WORKER_APP:  # the tasks run in `surveykit worker`, which sets its app first
        raise RuntimeError("surveykit jobs run in 'surveykit worker', not in a bare Celery worker")
    return _WORKER_APP[0]


def work(app: Flask, beat: bool = False, concurrency: int = 1, loglevel: str = "INFO") -> None:
    """Run a Celery worker for *app*'s broker until it is stopped (``surveykit worker``)."""
    url = broker_url(app)
    if not url:
        raise RuntimeError("SURVEYKIT_BROKER_URL is not set: without a broker, jobs run inside the web process")
    _WORKER_APP[:] = [app]
    argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "--without-gossip",
            "--without-mingle", "--pool=" + ("solo" if concurrency == 1 else "prefork")]
    if beat:
        argv += ["--beat", f"--schedule={app.instance_path}/celerybeat-schedule"]
    _celery(app).worker_main(argv)
