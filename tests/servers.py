"""Processes the tests start: stopped for sure, and the app served under gunicorn on a free loopback port."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from gunicorn.config import KNOWN_SETTINGS

GUNICORN = Path(sys.executable).with_name("gunicorn")
LISTENING_RE = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
# gunicorn >= 25 opens a control socket at one fixed path in $HOME, which two test workers would share.
NO_CONTROL_SOCKET = ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop *process*: terminate, wait up to *timeout* seconds, kill if it is still there, and reap it."""
    if process.poll() is None:
        process.terminate()
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@dataclass
class Served:
    """A running gunicorn: its base URL, and its log (complete once the server has stopped)."""

    base: str
    log: Path
    pid: int = 0  # gunicorn's master process

    def workers(self) -> list[int]:
        """Return the process ids of the master's workers now."""
        try:
            return [int(p) for p in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]
        except OSError:  # a kernel without that file: find the children by their parent
            found = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    if int(stat.read_text().rpartition(")")[2].split()[1]) == self.pid:
                        found.append(int(stat.parent.name))
                except (OSError, ValueError, IndexError):
                    continue
            return found

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def gunicorn(env: Mapping[str, str], folder: Path, *options: str, ready: str = "/",
             timeout: float = 20.0, app: str = "") -> Iterator[Served]:
    """Serve `surveyapp:create_app()` (or the WSGI *app*, "module:name") under gunicorn on a free loopback port
    until the block ends.

    The app is configured by *env*, with its instance folder and gunicorn's log in *folder*. The block starts once
    *ready* answers; afterwards the server is stopped, killed if it does not stop, whatever the block raised.
    """
    log = folder / "gunicorn.log"
    # The instance folder in *folder*: a checkout's own instance/config.py must not configure the app under test.
    factory = app or f"surveyapp:create_app({{'INSTANCE_PATH': {str(folder / 'instance')!r}}})"
    # Port 0: the kernel picks a free port at bind time, so parallel workers cannot race for one.
    with log.open("w", encoding="utf-8") as out:
        server = subprocess.Popen([str(GUNICORN), "--bind", "127.0.0.1:0", "--workers", "1", *NO_CONTROL_SOCKET,
                                   *options, factory],
                                  env=dict(env), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        served = Served(_wait_until_ready(server, log, ready, timeout), log, server.pid)
        yield served
    finally:
        stop(server)


def _wait_until_ready(server: subprocess.Popen[bytes], log: Path, ready: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    base = ""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        if not base:
            found = LISTENING_RE.search(log.read_text(encoding="utf-8", errors="replace"))
            base = found.group(1) if found else ""
        if base:
            try:
                urllib.request.urlopen(base + ready, timeout=1).close()
                return base
            except urllib.error.HTTPError as error:
                error.close()
            except OSError:
                pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not start within {timeout:.0f} s:\n" + log.read_text(encoding="utf-8", errors="replace"))
