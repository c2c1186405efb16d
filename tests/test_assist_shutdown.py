"""The coding assistant's background worker stops with the app: no thread outlives surveyapp.shutdown."""

import threading

from flask import Flask

from coding import projects as P
from coding.assist_project import CONSENSUS
from surveyapp import db, shutdown
from surveyapp.coding_web.assist import EXTENSION, service


def _assist_threads() -> set[threading.Thread]:
    """Return the live worker threads of every assistant service in this process (earlier tests' included)."""
    return {t for t in threading.enumerate() if t.name.startswith("coding-assist") and t.is_alive()}


def test_shutdown_stops_the_worker_thread(app: Flask) -> None:
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "stop")
        P.add_units(s, project, [P.NewUnit("a", "The food was cold."), P.NewUnit("b", "Nice staff.")])
        s.commit()
        before = _assist_threads()
        running = service(app)
        running.poke(s, project, "a@example.org", CONSENSUS)
        started = _assist_threads() - before
        assert started, "poking the assistant starts its worker thread"
        assert running.wait(120)
    assert all(t.is_alive() for t in started), "an idle worker waits for the next job"
    shutdown(app)
    assert not any(t.is_alive() for t in started)
    assert EXTENSION not in app.extensions


def test_a_stopped_service_queues_nothing(app: Flask) -> None:
    with app.app_context(), db.new_session() as s:
        project = P.create_project(s, "closed")
        s.commit()
        before = _assist_threads()
        stopped = service(app)
        stopped.shutdown()
        # A request that races the shutdown is still served (by the current models) and starts no thread.
        stopped.poke(s, project, "a@example.org", CONSENSUS)
        assert stopped.wait(1)
    assert _assist_threads() - before == set()


def test_shutdown_without_an_assistant_is_harmless(app: Flask) -> None:
    shutdown(app)
    shutdown(app)
    assert EXTENSION not in app.extensions
