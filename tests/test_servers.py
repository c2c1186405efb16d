"""The tests' process helpers: a process that ignores SIGTERM is killed and reaped; gunicorn stops with its block."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from servers import gunicorn, stop

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"


def test_stop_kills_a_process_that_ignores_terminate() -> None:
    process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "up\n"
    started = time.monotonic()
    stop(process, timeout=0.5)
    assert process.returncode == -9
    assert time.monotonic() - started < 10


def test_gunicorn_serves_on_its_own_port_and_stops_even_when_the_block_fails(tmp_path: Path) -> None:
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
           "SURVEYKIT_SECRET_KEY": "servers-test"}
    with pytest.raises(RuntimeError, match="the test failed"), gunicorn(env, tmp_path, ready="/auth/login") as server:
        with urllib.request.urlopen(server.base + "/auth/login", timeout=5) as response:
            assert response.status == 200
        base = server.base
        raise RuntimeError("the test failed")
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/auth/login", timeout=1).close()
    assert "Listening at: " + base in server.output
