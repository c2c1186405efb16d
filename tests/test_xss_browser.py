"""Payloads in every place user text comes from, on every page that shows it, loaded in headless Chromium.

Escaping is measured with the Content-Security-Policy taken off (so the policy cannot hide a hole): 0 payloads
may run. Two controls show the method can see one run: the same pages rendered by a weakened build (Jinja's
autoescape off), and the show/hide data block as it was written before the fix (``json.dumps`` marked safe).
The policy is measured on the real pages with their real headers: 0 violation reports; its control is the
weakened pages under the policy, where the inline payloads are reported and none runs. The harden run loads
every page; the normal suite a sample of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from auth_helpers import cheap_argon2
from flask import render_template_string
from page_replay import HAVE_BROWSER, NO_BROWSER, Visit, chromium, visit_all
from web_site import Captured, Payloads, Site, build_site, capture_pages, instruments_folder

from surveyapp import shutdown

from conftest import make_test_app

pytestmark = pytest.mark.skipif(not HAVE_BROWSER, reason=NO_BROWSER)

SAMPLE = ("respondent: first page refused (422)", "respondent: second page (earlier answers)",
          "coding probe-codes: codebook", "admin: roster refused", "404: survey address", "admin: study")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("xss")
    with pytest.MonkeyPatch.context() as monkeypatch, cheap_argon2(monkeypatch):
        payloads = Payloads()
        folder = instruments_folder(tmp / "instruments", payloads)
        app = make_test_app(f"sqlite:///{tmp / 'xss.sqlite3'}", tmp, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
        built = build_site(app, tmp, payloads)
        yield built
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()


@pytest.fixture(scope="module")
def weakened(site: Site) -> list[Captured]:
    """The same pages from a build whose templates do not escape (the first control)."""
    app = site.app
    escaping = app.jinja_env.autoescape
    app.jinja_env.autoescape = False
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    try:
        with pytest.MonkeyPatch.context() as monkeypatch, cheap_argon2(monkeypatch):
            return capture_pages(site)
    finally:
        app.jinja_env.autoescape = escaping
        app.jinja_env.cache.clear()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chrome")) as driver:
        yield driver


def _old_showif_block(site: Site) -> Captured:
    """The second page's show/hide data written the way it was before the fix: json.dumps marked safe."""
    answers = {"story": site.payloads.text("old show/hide block"), "where.other": site.payloads.text("old other")}
    with site.app.test_request_context():
        body = render_template_string(
            '<!doctype html><title>old</title><script type="application/json" id="showif-data">{{ data|safe }}'
            "</script>", data=json.dumps({"rules": {}, "earlier": answers}))
    return Captured("control: show/hide data as json.dumps|safe", 200, [("Content-Type", "text/html")],
                    body.encode())


def _figures(label: str, visits: list[Visit]) -> tuple[int, int]:
    pairs = sum(len(v.shown) for v in visits)
    ran = sum(len(v.ran) for v in visits)
    print(f"\nharden: XSS in Chromium ({label}): {len(visits)} pages, {pairs} payload x page pairs shown, "
          f"{ran} executed" + "".join(f"\n  {v.name}: ran {sorted(v.ran)}" for v in visits if v.ran)[:3000])
    return pairs, ran


def _pick(pages: list[Captured], everything: bool) -> list[Captured]:
    return pages if everything else [p for p in pages if p.name in SAMPLE]


def _check_escaping(site: Site, weakened: list[Captured], browser: object, everything: bool) -> None:
    pages = _pick(site.pages, everything)
    assert all(p.status < 500 for p in pages), [(p.name, p.status) for p in pages if p.status >= 500]
    visits = visit_all(browser, pages, with_csp=False)
    pairs, ran = _figures("our pages, policy off", visits)
    places = {site.payloads.places[n] for v in visits for n in v.shown if n in site.payloads.places}
    print(f"  user-text places shown: {len(places)}")
    control = visit_all(browser, _pick(weakened, everything), with_csp=False)
    _, control_ran = _figures("control: autoescape off, policy off", control)
    old = visit_all(browser, [_old_showif_block(site)], with_csp=False)
    _, old_ran = _figures("control: old show/hide block", old)
    assert pairs > 0 and ran == 0, [(v.name, sorted(v.ran)) for v in visits if v.ran]
    assert control_ran > 0 and old_ran > 0


def _check_policy(site: Site, weakened: list[Captured], browser: object, everything: bool) -> None:
    pages = _pick(site.pages, everything)
    visits = visit_all(browser, pages, with_csp=True)
    violations = [f"{v.name}: {x}" for v in visits for x in v.violations]
    print(f"\nharden: CSP in Chromium: {len(visits)} pages, {len(violations)} violation reports")
    control = visit_all(browser, _pick(weakened, everything), with_csp=True)
    reported = sum(len(v.violations) for v in control)
    ran = sum(len(v.ran) for v in control)
    print(f"harden: CSP control (autoescape off, policy on): {reported} violation reports, {ran} payloads ran")
    assert not violations, violations[:20]
    assert reported > 0 and ran == 0


def test_no_payload_runs_on_a_sample_of_pages(site: Site, weakened: list[Captured], browser: object) -> None:
    _check_escaping(site, weakened, browser, everything=False)


def test_no_csp_violation_on_a_sample_of_pages(site: Site, weakened: list[Captured], browser: object) -> None:
    _check_policy(site, weakened, browser, everything=False)


@pytest.mark.harden
def test_harden_no_payload_runs_on_any_page(site: Site, weakened: list[Captured], browser: object) -> None:
    _check_escaping(site, weakened, browser, everything=True)


@pytest.mark.harden
def test_harden_no_csp_violation_on_any_page(site: Site, weakened: list[Captured], browser: object) -> None:
    _check_policy(site, weakened, browser, everything=True)


def test_every_page_was_captured_without_a_server_error(site: Site) -> None:
    assert len(site.pages) >= 40
    assert [p.name for p in site.pages if p.status >= 500] == []
