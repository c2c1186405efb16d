"""Answering a survey through the web pages: every question type, skip logic on the server, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.models import Draft, Response

from respondent import Respondent


def open_survey(runner, instrument: str, slug: str | None = None, *extra: str) -> str:
    slug = slug or instrument
    result = runner.invoke(args=["surveys", "create", instrument, "--id", slug, "--title", "Test", *extra])
    assert result.exit_code == 0, result.output
    return slug


def stored(app: Flask) -> list[Response]:
    with app.app_context(), new_session() as session:
        return list(session.scalars(select(Response)).all())


def test_department_survey_unaware_skips_program_questions(app, client, runner):
    slug = open_survey(runner, "department-survey")
    r = Respondent(client, slug)
    assert r.start().status_code == 200
    assert r.section == "about_you"
    r.answer({"department": "em", "gender": "woman", "age_group": "a35_44", "years_in_practice": "y6_10"})
    assert r.section == "awareness"
    page = r.answer({"aware": "no"})
    assert "Thank you" in page.text
    [response] = stored(app)
    # Not shown: absent. Shown but unanswered: None. The built-in question records the language answered in.
    assert response.answers == {"department": "em", "gender": "woman", "age_group": "a35_44",
                                "years_in_practice": "y6_10", "setting": None, "aware": "no", "language": "en"}


def test_department_survey_full_path_stores_every_type(app, client, runner):
    slug = open_survey(runner, "department-survey")
    r = Respondent(client, slug)
    r.start()
    r.answer({"department": "icu"})
    r.answer({"aware": "yes"})
    assert r.section == "program_use"
    r.answer({"referred_colleague": "yes", "self_referred": "no", "interaction": "had"})
    assert r.section == "interactions"
    r.answer({"interaction_count": "two", "helpfulness": "5", "wellbeing_change": "improved",
              "emotions_comfort": "more"})
    r.answer({"department_impact": "4", "recommend": "5", "satisfaction": "5",
              "barriers": ["privacy", "time", "other"], "barriers__other": "night shifts"})
    page = r.answer({"benefits_text": "It helped me see it differently.\r\nThanks.", "barriers_text": "",
                     "suggestions_text": "More supporters"})
    assert "Thank you" in page.text
    [resp] = stored(app)
    a = resp.answers
    assert a["barriers"] == ["time", "privacy", "other"]  # option order, whatever the post order
    assert a["barriers.other"] == "night shifts"
    assert a["helpfulness"] == 5 and a["satisfaction"] == 5
    assert a["benefits_text"] == "It helped me see it differently.\nThanks."
    assert a["barriers_text"] is None
    assert resp.submitted_on == dt.date.today()


def test_hidden_answers_are_never_stored(app, client, runner):
    slug = open_survey(runner, "department-survey")
    r = Respondent(client, slug)
    r.start()
    r.answer({"department": "icu"})
    r.answer({"aware": "yes"})
    # Said they were never reached, yet a crafted post carries interaction answers: dropped by the server.
    r.answer({"interaction": "never", "interaction_count": "two", "helpfulness": "5"})
    assert r.section == "opinion"
    r.answer({})
    r.answer({})
    [resp] = stored(app)
    assert "interaction_count" not in resp.answers and "helpfulness" not in resp.answers


def test_changing_an_earlier_answer_drops_answers_now_hidden(app, client, runner):
    slug = open_survey(runner, "department-survey")
    r = Respondent(client, slug)
    r.start()
    r.answer({"department": "icu"})
    r.answer({"aware": "yes"})
    r.answer({"interaction": "had"})
    r.answer({"helpfulness": "4"})
    r.answer({}, action="back")
    r.answer({}, action="back")
    assert r.section == "program_use"
    r.answer({}, action="back")
    assert r.section == "awareness"
    page = r.answer({"aware": "no"})
    assert "Thank you" in page.text
    [resp] = stored(app)
    assert resp.answers["aware"] == "no"
    assert "helpfulness" not in resp.answers and "interaction" not in resp.answers


def test_training_survey_matrix_and_required(app, client, runner):
    slug = open_survey(runner, "supporter-training")
    r = Respondent(client, slug)
    r.start()
    page = r.answer({"confidence__role": "5"})
    assert page.status_code == 200 and page.history[0].status_code == 303  # PRG
    assert "There is a problem" in page.text
    assert 'href="#overall_rating-1"' in page.text  # its first radio button
    assert 'value="5" checked' in page.text  # the answer given is kept
    r.answer({"overall_rating": "5", "confidence__role": "5", "confidence__listening": "4", "framework": "5"})
    r.answer({"most_helpful": "Role play", "department": "afm"})
    [resp] = stored(app)
    assert resp.answers["overall_rating"] == 5
    assert resp.answers["confidence"] == {"role": 5, "outreach": None, "listening": 4, "red_flags": None,
                                          "resources": None, "closing": None}


@pytest.mark.parametrize(("data", "message"), [
    ({"interaction_date": "2022-03-01", "department": "nowhere", "contact": "first"}, "Choose one of the options"),
    ({"interaction_date": "2022-03-01", "department": "em", "contact": "first", "length_minutes": "5"},
     "at least 10"),
    ({"interaction_date": "2022-03-01", "department": "em", "contact": "first", "length_minutes": "601"},
     "at most 600"),
    ({"interaction_date": "2022-03-01", "department": "em", "contact": "first", "length_minutes": "12.5"},
     "whole number"),
    ({"interaction_date": "1 March", "department": "em", "contact": "first"}, "YYYY-MM-DD"),
    ({"department": "em", "contact": "first"}, "needs an answer"),
])
def test_bad_values_are_refused_and_nothing_stored(app, client, runner, data, message):
    slug = open_survey(runner, "interaction-record")
    r = Respondent(client, slug)
    r.start()
    page = r.answer(data)
    assert page.status_code == 200 and page.history[0].status_code == 303  # PRG
    assert message in page.text
    assert stored(app) == []


def test_text_over_the_limit_is_refused(app, client, runner):
    slug = open_survey(runner, "nomination")
    r = Respondent(client, slug)
    r.start()
    page = r.answer({"nominee_1": "x" * 121})
    assert page.history[0].status_code == 303 and "under 120 characters" in page.text
    assert stored(app) == []


def test_multiple_choice_rejects_unknown_option(app, client, runner):
    slug = open_survey(runner, "nomination")
    r = Respondent(client, slug)
    r.start()
    page = r.answer({"nominee_1": "Dr A", "qualities": ["listener", "rich"]})
    assert page.history[0].status_code == 303 and "Choose among the options" in page.text


def test_unicode_and_long_text_survive(app, client, runner):
    slug = open_survey(runner, "department-survey")
    r = Respondent(client, slug)
    r.start()
    r.answer({"department": "icu"})
    r.answer({"aware": "yes"})
    r.answer({"interaction": "never"})
    r.answer({})
    long_text = ("Überlastung — 夜勤 😊 =SUM(A1)\n" * 200)[:3999]
    r.answer({"benefits_text": long_text})
    [resp] = stored(app)
    assert resp.answers["benefits_text"] == long_text.strip()


def test_double_submission_stores_one_response(app, client, runner):
    slug = open_survey(runner, "interaction-record")
    r = Respondent(client, slug)
    r.start()
    path = r.page.request.path
    from conftest import csrf_from
    form = {"csrf_token": csrf_from(r.page.text), "action": "next", "interaction_date": "2022-01-05",
            "department": "em", "contact": "first", "length_minutes": "45"}
    first = client.post(path, data=form)
    second = client.post(path, data=form)  # double click / resend
    assert first.status_code == 302 and second.status_code == 302
    assert second.headers["Location"].endswith("/thanks")
    assert len(stored(app)) == 1
    with app.app_context(), new_session() as session:
        assert session.scalars(select(Draft)).all() == []


def test_csrf_failure_gets_friendly_page(app, client, runner):
    slug = open_survey(runner, "nomination")
    resp = client.post(f"/s/{slug}/start", data={})
    assert resp.status_code == 400
    assert "This page has expired" in resp.text and "Traceback" not in resp.text


def test_unknown_and_closed_surveys(app, client, runner):
    assert client.get("/s/nope").status_code == 404
    assert "no survey at this address" in client.get("/s/nope").text
    slug = open_survey(runner, "nomination")
    assert runner.invoke(args=["surveys", "close", slug]).exit_code == 0
    page = client.get(f"/s/{slug}")
    assert page.status_code == 410 and "closed" in page.text


def test_survey_with_past_closing_date_is_closed(app, client, runner):
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    slug = open_survey(runner, "nomination", None, "--closes", yesterday, "--opens", "2020-01-01")
    assert client.get(f"/s/{slug}").status_code == 410


def test_privacy_headers_and_no_identifying_columns(app, client, runner):
    slug = open_survey(runner, "nomination")
    r = Respondent(client, slug)
    page = r.start()
    assert page.headers["Referrer-Policy"] == "no-referrer"
    r.answer({"nominee_1": "Dr A"})
    [resp] = stored(app)
    columns = set(Response.__table__.columns.keys())
    # "test": false on every real answer (the team's test link sets it), nothing about the respondent.
    assert columns == {"key", "survey_slug", "instrument_id", "instrument_version", "instrument_sha256",
                       "submitted_on", "answers", "test"}
    assert resp.test is False
    assert len(resp.key) >= 22 and not resp.key.isdigit()
    assert isinstance(resp.submitted_on, dt.date) and not isinstance(resp.submitted_on, dt.datetime)


def test_intro_promises_at_most_the_pages_when_skip_logic_may_leave_some_out(app, client, runner):
    assert "At most 6 pages." in client.get(f"/s/{open_survey(runner, 'department-survey')}").text
    assert "1 page." in client.get(f"/s/{open_survey(runner, 'nomination')}").text
