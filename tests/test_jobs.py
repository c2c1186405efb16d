"""Background jobs (surveyapp.jobs): one row per job, claimed once, the same job never queued twice at once."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from smtp_server import smtp  # noqa: F401  (fixture)
from sqlalchemy import select

from coding import projects as P
from coding.assist_fits import INDEX, fit_count, load
from coding.assist_project import CONSENSUS
from surveyapp import db, jobs, shutdown
from surveyapp.models import Job

from conftest import make_test_app


def _project(app: Flask) -> int:
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "jobs")
        P.add_units(s, project, [P.NewUnit(f"u{i}", t) for i, t in enumerate(
            ["The food was cold.", "Nice staff, kind nurses.", "Long wait in the queue."])])
        s.commit()
        return project.id


def test_a_job_is_claimed_once_however_many_workers_try(app: Flask) -> None:
    project_id = _project(app)
    with app.app_context(), db.new_session() as s:
        job_id, new = jobs.add(s, "assist.fit", key=str(project_id), project_id=project_id,
                               pairs=[["a@example.org", CONSENSUS]])
    assert new
    claimed: list[bool] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        claimed.append(jobs.run(app, job_id))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(claimed) == [False, False, False, True]
    with app.app_context(), db.new_session() as s:
        job = s.get(Job, job_id)
        assert job is not None and (job.state, job.active, job.error) == ("done", None, None)
        assert job.result is not None and job.result["fitted"] == ["index", f"a@example.org/{CONSENSUS}"]
        assert fit_count(s, project_id) == {INDEX: 1, ("a@example.org", CONSENSUS): 1}
        index = load(s, project_id, *INDEX)
        assert index is not None and len(index.value) == 3  # the stored index answers after a round trip
    assert not jobs.run(app, job_id)  # a message delivered again after the job ended runs nothing


def test_the_same_job_is_not_queued_twice_while_it_waits_and_refits_nothing_unchanged(app: Flask) -> None:
    project_id = _project(app)
    with app.app_context(), db.new_session() as s:
        first, new = jobs.add(s, "assist.fit", key=str(project_id), project_id=project_id, pairs=[])
        again, new_again = jobs.add(s, "assist.fit", key=str(project_id), project_id=project_id, pairs=[])
        other, new_other = jobs.add(s, "assist.fit", key="another", project_id=project_id, pairs=[])
    assert (again, new, new_again) == (first, True, False)
    assert new_other and other != first  # another key is another job
    assert jobs.run(app, first) and jobs.run(app, other)
    with app.app_context(), db.new_session() as s:
        later, new_later = jobs.add(s, "assist.fit", key=str(project_id), project_id=project_id, pairs=[])
    assert new_later and later not in (first, other)  # ended jobs free their key
    assert jobs.run(app, later)
    with app.app_context(), db.new_session() as s:
        results = [r for r in s.scalars(select(Job.result).order_by(Job.id))]
        # The first fit stored the index; the next two found the project unchanged and fitted nothing.
        assert [r["fitted"] for r in results] == [["index"], [], []]
        assert fit_count(s, project_id) == {INDEX: 1}


def test_enqueue_without_a_broker_runs_in_a_thread_and_a_failure_is_recorded(app: Flask) -> None:
    assert jobs.broker_url(app) == ""
    project_id = _project(app)
    with app.app_context():
        ok = jobs.enqueue("assist.fit", key=str(project_id), project_id=project_id, pairs=[])
        bad = jobs.enqueue("invitations.send", key="nope", slug="nope", kind="invitation")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with app.app_context(), db.new_session() as s:
            if not jobs.pending(s):
                break
        time.sleep(0.1)
    assert any(t.name.startswith("surveykit-job") for t in threading.enumerate())
    shutdown(app)
    assert not any(t.name.startswith("surveykit-job") for t in threading.enumerate())
    with app.app_context(), db.new_session() as s:
        done, failed = s.get(Job, ok), s.get(Job, bad)
        assert done is not None and done.state == "done"
        assert failed is not None and (failed.state, failed.error) == ("failed", "InvitationError: no survey 'nope'")
        assert failed.active is None  # the key is free for the next try


def test_unknown_jobs_and_arguments_that_are_not_json_are_refused(app: Flask) -> None:
    with app.app_context(), db.new_session() as s:
        with pytest.raises(ValueError, match="no job named 'nope'"):
            jobs.add(s, "nope")
        with pytest.raises(TypeError):
            jobs.add(s, "assist.fit", project_id=object())
        assert s.scalar(select(Job.id)) is None  # nothing half-written


def test_the_worker_command_needs_a_broker(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 1 and "SURVEYKIT_BROKER_URL is not set" in result.output


def test_the_scheduled_reminders_job_sends_each_due_reminder_once(database_url, tmp_path, smtp):  # noqa: F811
    app = make_test_app(database_url, tmp_path, SURVEYKIT_BROKER_URL="redis://127.0.0.1:1/0", **smtp.config())
    runner = app.test_cli_runner()
    made = runner.invoke(args=["surveys", "create", "department-survey", "--id", "sched", "--title", "Scheduled",
                               "--mode", "invitation", "--reminder-days", "0"])
    assert made.exit_code == 0, made.output
    roster = tmp_path / "roster.csv"
    roster.write_text("email,department\n" + "".join(f"p{i}@hospital.example,EM\n" for i in range(4)), "utf-8")
    sent = runner.invoke(args=["surveys", "invite", "sched", str(roster)])
    assert sent.exit_code == 0, sent.output
    smtp.handler.clear()
    # The task beat sends, run here (the broker is never reached: Celery only registers its tasks on creation).
    scheduled = jobs.celery_app(jobs.broker_url(app), jobs.queue_name(app.config["DATABASE_URL"])).tasks[
        "surveykit.scheduled"]
    jobs._WORKER_APP[:] = [app]
    try:
        scheduled("reminders.due")
        scheduled("reminders.due")  # the next tick: nothing left to send
    finally:
        jobs._WORKER_APP.clear()
    assert sorted(smtp.handler.to()) == [f"p{i}@hospital.example" for i in range(4)]
    with app.app_context(), db.new_session() as s:
        results = [(j.name, j.state, j.result["sent"]) for j in s.scalars(select(Job).order_by(Job.id))]
    assert results == [("reminders.due", "done", 4), ("reminders.due", "done", 0)]
    app.extensions["surveykit.engine"].dispose()
