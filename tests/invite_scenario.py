"""The department-wide survey of the paper as a test scenario: 255 physicians in five departments, 75 answer."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from smtp_server import SmtpServer, link_in

from conftest import make_test_app
from respondent import Respondent

# Invited and answering per department: 255 invited, 75 answered (29.4%), as in the paper.
DEPARTMENTS = {"Obstetrics and Gynecology": (60, 18), "Emergency Medicine": (55, 16), "Hospitalists": (50, 15),
               "Intensive Care Unit": (50, 14), "Anesthesia": (40, 12)}
CODES = {"Obstetrics and Gynecology": "obgyn", "Emergency Medicine": "em", "Hospitalists": "hospitalists",
         "Intensive Care Unit": "icu", "Anesthesia": "anesthesia"}
SLUG = "dept-2023"


def roster_csv(departments: dict[str, tuple[int, int]] = DEPARTMENTS) -> str:
    """Return a roster with one row per invitee: email,department."""
    lines = ["email,department"]
    for d, (n, _a) in departments.items():
        for i in range(n):
            lines.append(f"{CODES.get(d, d.lower())}.{i:03d}@hospital.example,{d}")
    return "\n".join(lines) + "\n"


def write_roster(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mail_app(database_url: str, tmp_path: Path, smtp: SmtpServer, **extra: Any) -> Flask:
    return make_test_app(database_url, tmp_path, **smtp.config(), **extra)


def create_survey(app: Flask, slug: str = SLUG, mode: str = "invitation", *extra: str) -> None:
    result = app.test_cli_runner().invoke(args=["surveys", "create", "department-survey", "--id", slug, "--title",
                                                "POST department survey", "--mode", mode, *extra])
    assert result.exit_code == 0, result.output


def invite(app: Flask, roster: Path | None, slug: str = SLUG, today: dt.date | None = None) -> Any:
    args = ["surveys", "invite", slug] + ([str(roster)] if roster else [])
    if today:
        args += ["--today", today.isoformat()]
    return app.test_cli_runner().invoke(args=args)


def answer_through(client: FlaskClient, link: str, department_code: str = "em") -> str:
    """Follow an invitation link and answer the survey's shortest path; return the last page's text."""
    path = link.split("://", 1)[1].split("/", 1)[1]
    first = client.get("/" + path)
    assert first.status_code == 302, first.text
    r = Respondent(client, first.headers["Location"].rsplit("/", 1)[-1])
    r.start()
    r.answer({"department": department_code})
    page = r.answer({"aware": "no"})
    return page.text


def run_scenario(app: Flask, smtp: SmtpServer, tmp_path: Path, invited_on: dt.date) -> dict[str, list[str]]:
    """Invite the 255, let 75 answer through their links; return the links by department, answered first."""
    create_survey(app)
    result = invite(app, write_roster(tmp_path, roster_csv()), today=invited_on)
    assert result.exit_code == 0, result.output
    assert len(smtp.handler.messages) == 255
    links: dict[str, list[str]] = {d: [] for d in DEPARTMENTS}
    by_address = {str(m["To"]): link_in(m) for m in smtp.handler.messages}
    for address, link in sorted(by_address.items()):
        code = address.split(".", 1)[0]
        dept = next(d for d, c in CODES.items() if c == code)
        links[dept].append(link)
    for dept, (_n, answering) in DEPARTMENTS.items():
        for link in links[dept][:answering]:
            text = answer_through(app.test_client(), link, CODES[dept])
            assert "Thank you" in text
    return links


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
