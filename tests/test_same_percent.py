"""One figure, one text: 18 answers of 32 invitations read 56.3% on the rates page, in `surveys status` and in
the workbook's summary, as in every table (tests/test_tabular.py covers the workbooks and theme tables).

56.25 is exactly half way: Python's round() on the float gives 56.2, half-up rounding gives 56.3.
"""

from __future__ import annotations

import json

from invite_scenario import SLUG, answer_through, create_survey, invite, mail_app, roster_csv, write_roster
from openpyxl import load_workbook
from smtp_server import link_in, smtp  # noqa: F401  (fixture)

from surveyapp.auth.models import create_user
from surveyapp.db import new_session

from conftest import csrf_from


def test_18_of_32_is_56_3_percent_on_every_page_and_file(database_url, tmp_path, smtp):  # noqa: F811
    app = mail_app(database_url, tmp_path, smtp)
    create_survey(app)
    assert invite(app, write_roster(tmp_path, roster_csv({"EM": (32, 0)}))).exit_code == 0
    links = sorted(link_in(m) for m in smtp.handler.messages)
    assert len(links) == 32
    for link in links[:18]:
        answer_through(app.test_client(), link)

    runner = app.test_cli_runner()
    status = json.loads(runner.invoke(args=["surveys", "status", SLUG, "--json"]).output)
    assert (status["invited"], status["answered"], status["response_rate"]) == (32, 18, 56.3)
    assert status["departments"]["EM"]["response_rate"] == 56.3

    with app.app_context(), new_session() as session:
        create_user(session, "lead@example.org", "correct horse battery staple", "Lead")
        session.commit()
    client = app.test_client()
    login = client.get("/auth/login")
    client.post("/auth/login", data={"csrf_token": csrf_from(login.text), "email": "lead@example.org",
                                     "password": "correct horse battery staple"})
    page = client.get(f"/admin/s/{SLUG}").text
    assert page.count("56.3 %") == 2 and "56.2" not in page  # EM's row and the total

    # Answers are stored in batches while the survey is open; closing stores the rest, so the file has all 18.
    assert runner.invoke(args=["surveys", "close", SLUG]).exit_code == 0
    out = tmp_path / "survey.xlsx"
    assert runner.invoke(args=["export", SLUG, "--out", str(out)]).exit_code == 0
    summary = {r[0]: r[1] for r in load_workbook(out)["Summary"].iter_rows(values_only=True) if r[0]}
    assert (summary["Invited"], summary["Responses"], summary["Response rate"]) == (32, 18, "56.3%")
    app.extensions["surveykit.engine"].dispose()
