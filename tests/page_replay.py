"""Captured pages served again to a real browser, byte for byte with their headers, and what ran in it.

The app's pages are captured with the test client (logged in, after POSTs such as a refused answer page), so
every page that shows user text can be checked, including those only a POST produces. A loopback server gives
each page at ``/__page/<i>`` with the status and headers the app sent (the Content-Security-Policy among them,
or without it, to test the escaping alone), and the app's own ``/static/`` files, so the page's scripts and
styles load as they would. Chromium (headless) loads each page; a script the DevTools protocol adds before any
page script (and outside the page's policy) records every ``__xss(n)`` call and every CSP violation report.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from web_site import Captured

STATIC = Path(__file__).resolve().parent.parent / "surveyapp" / "static"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = os.path.exists(CHROMIUM) and os.path.exists(DRIVER)
NO_BROWSER = "browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"

WATCH = """
window.__xssRan = [];
window.__cspViolations = [];
window.__xss = function (n) { window.__xssRan.push(n); };
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


@dataclass
class Visit:
    """What happened on one page: the payloads it shows, those that ran, and the CSP violations."""

    name: str
    shown: set[int]
    ran: set[int] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    pages: Sequence[Captured] = ()
    with_csp = True

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        path = self.path.split("?", 1)[0]
        number = path.removeprefix("/__page/")
        if number.isdigit() and int(number) < len(self.pages):
            page = self.pages[int(number)]
            self.send_response(page.status)
            for key, value in page.headers:
                if key.lower() in ("content-length", "set-cookie", "date", "server"):
                    continue
                if key.lower() == "content-security-policy" and not self.with_csp:
                    continue
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)
            return
        file = (STATIC / path.removeprefix("/static/")).resolve()
        if path.startswith("/static/") and file.is_file() and STATIC in file.parents:
            body = file.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", mimetypes.guess_type(file.name)[0] or "application/octet-stream")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def replay(pages: Sequence[Captured], with_csp: bool = True) -> Iterator[str]:
    """Serve *pages* on a free loopback port until the block ends; yield the base URL."""
    handler = type("Handler", (_Handler,), {"pages": list(pages), "with_csp": with_csp})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def chrome_options(folder: Path) -> Any:
    """Return the options of a headless Chromium that keeps its profile in *folder* and calls nowhere."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={folder / 'chrome'}"):
        options.add_argument(flag)
    return options


@contextmanager
def chromium(folder: Path) -> Iterator[Any]:
    """Start headless Chromium with the watching script added to every page; quit it afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(DRIVER), options=chrome_options(folder))
    try:
        driver.set_page_load_timeout(20)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        yield driver
    finally:
        driver.quit()


def visit_all(driver: Any, pages: Sequence[Captured], with_csp: bool = True, settle: float = 0.15) -> list[Visit]:
    """Load every page in *driver* and return what ran on each."""
    visits = []
    with replay(pages, with_csp) as base:
        for i, page in enumerate(pages):
            driver.get(f"{base}/__page/{i}")
            time.sleep(settle)  # onerror and ontoggle handlers fire just after the load event
            ran, violations = driver.execute_script("return [window.__xssRan, window.__cspViolations];")
            visits.append(Visit(page.name, page.marks, set(ran), list(violations)))
    return visits
