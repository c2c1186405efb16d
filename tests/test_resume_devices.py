"""One invitation link, several devices: the same link opens the same answer sheet anywhere, and nothing stored
links that sheet to the invitation.

Each "device" is a test client with its own cookie jar. The database scan reads the SQLite file and its -wal as
bytes, the way README's adversary does; its control plants a linking value (the old scheme's kind of mistake) and
shows the same scan finds it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from invite_scenario import create_survey, invite, mail_app, write_roster
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.invitations.parking import parking_key
from surveyapp.invitations.storage import hash_token
from surveyapp.models import Draft, Invitation, ParkedAnswer

from conftest import csrf_from
from respondent import Respondent

SLUG = "dept-2023"
ADDRESSES = ("phone.owner@hospital.example", "someone.else@hospital.example", "third.person@hospital.example")


@pytest.fixture
def mapp(database_url, tmp_path, smtp):  # noqa: F811
    application = mail_app(database_url, tmp_path, smtp)
    create_survey(application)
    roster = write_roster(tmp_path, "email,department\n" + "".join(f"{a},EM\n" for a in ADDRESSES))
    assert invite(application, roster).exit_code == 0
    by_address = {m["To"]: link_in(m) for m in smtp.handler.messages}
    application.config["links"] = [by_address[a] for a in ADDRESSES]
    yield application
    application.extensions["surveykit.engine"].dispose()


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def device(app: Any, link: str) -> Respondent:
    """A new browser (its own cookie jar) that follows *link* and presses Start (or Continue)."""
    client = app.test_client()
    assert client.get(path_of(link)).status_code == 302
    r = Respondent(client, SLUG)
    r.start()
    return r


def checked(page_text: str, question: str) -> list[str]:
    return re.findall(rf'name="{question}" value="([^"]+)" checked', page_text)


def test_the_same_link_continues_on_another_device_and_another_link_sees_nothing(mapp):
    phone_link, other_link, _third = mapp.config["links"]
    phone = device(mapp, phone_link)
    assert phone.section == "about_you"
    phone.answer({"department": "icu", "gender": "woman"})
    assert phone.section == "awareness"

    laptop_client = mapp.test_client()
    laptop_client.get(path_of(phone_link))
    intro = laptop_client.get(f"/s/{SLUG}")
    assert "Continue where you left off" in intro.text
    laptop = Respondent(laptop_client, SLUG)
    laptop.start()
    # The laptop continues where the phone left off, and sees the phone's first page.
    assert laptop.section == "awareness", laptop.section
    first = laptop_client.get(f"/s/{SLUG}/p/about_you")
    assert checked(first.text, "department") == ["icu"] and checked(first.text, "gender") == ["woman"]

    # Another invitation's link, in a third browser, sees nothing of it.
    stranger_client = mapp.test_client()
    stranger_client.get(path_of(other_link))
    assert "Continue where" not in stranger_client.get(f"/s/{SLUG}").text
    stranger = Respondent(stranger_client, SLUG)
    stranger.start()
    assert stranger.section == "about_you" and checked(stranger.page.text, "department") == []

    # The laptop sends the last page; the phone's next post lands on "already answered", never a 500.
    thanks = laptop.answer({"aware": "no"})
    assert "Thank you" in thanks.text
    stale = phone.client.post(f"/s/{SLUG}/p/awareness", data={"csrf_token": csrf_from(phone.page.text),
                                                              "action": "next", "aware": "yes"})
    assert stale.status_code == 410 and "already been used" in stale.text
    assert phone.client.get(f"/s/{SLUG}/p/awareness").status_code == 410
    with mapp.app_context(), new_session() as s:
        assert s.query(ParkedAnswer).count() == 1


def test_two_devices_editing_at_once_keep_each_page_last_write_wins(mapp):
    link = mapp.config["links"][2]
    phone = device(mapp, link)
    phone.answer({"department": "em"})
    laptop = device(mapp, link)
    assert laptop.section == "awareness"
    # The phone goes back and changes page 1 while the laptop, which read the sheet before, sends page 2.
    phone_page1 = phone.client.get(f"/s/{SLUG}/p/about_you")
    laptop_page2 = laptop.page
    phone.client.post(f"/s/{SLUG}/p/about_you", data={"csrf_token": csrf_from(phone_page1.text), "action": "next",
                                                      "department": "anesthesia"})
    after = laptop.client.post(f"/s/{SLUG}/p/awareness", data={"csrf_token": csrf_from(laptop_page2.text),
                                                                "action": "next", "aware": "yes"})
    assert after.status_code == 302
    first = laptop.client.get(f"/s/{SLUG}/p/about_you")
    assert checked(first.text, "department") == ["anesthesia"], "the laptop's stale copy overwrote page 1"
    second = phone.client.get(f"/s/{SLUG}/p/awareness")
    assert checked(second.text, "aware") == ["yes"]

    # Both at once, many times, each on its own page: no 5xx, and the last write of each page is what stays.
    forms = {"about_you": (phone, "department", ["em", "icu", "obgyn", "hospitalists"]),
             "awareness": (laptop, "aware", ["no", "yes", "no", "yes"])}
    pages = {section: who.client.get(f"/s/{SLUG}/p/{section}") for section, (who, _, _) in forms.items()}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send(section: str) -> None:
        who, question, values = forms[section]
        barrier.wait()
        for value in values:
            answer = who.client.post(f"/s/{SLUG}/p/{section}", data={
                "csrf_token": csrf_from(pages[section].text), "action": "back", question: value})
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=send, args=(section,)) for section in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(statuses) == 8 and all(status < 500 for status in statuses), statuses
    assert checked(phone.client.get(f"/s/{SLUG}/p/about_you").text, "department") == ["hospitalists"]
    assert checked(laptop.client.get(f"/s/{SLUG}/p/awareness").text, "aware") == ["yes"]


def test_following_the_other_link_in_the_same_browser_keeps_its_sheet(mapp, smtp):  # noqa: F811
    """The reminder carries a new link; a browser that began with the invitation's link keeps its sheet."""
    link = mapp.config["links"][0]
    phone = device(mapp, link)
    phone.answer({"department": "em"})
    reminder = mapp.test_cli_runner().invoke(args=["surveys", "remind", SLUG])
    assert reminder.exit_code == 0, reminder.output
    reminded = [link_in(m) for m in smtp.handler.messages if m["To"] == ADDRESSES[0]][-1]
    assert reminded != link
    assert phone.client.get(path_of(reminded)).status_code == 302
    phone.start()
    assert phone.section == "awareness"


# ------------------------------------------------------------------------------------------- what a reader sees


def raw_database(app: Any) -> bytes:
    """Every byte of the SQLite database as the adversary copies it: the file, its -wal (and -journal)."""
    path = Path(app.config["SURVEYKIT_DATABASE_URL"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists())


def linking_values(app: Any, tokens: list[str]) -> dict[str, bytes]:
    """What would tie a draft to an invitation: tokens, their hashes, addresses and invitation keys."""
    found: dict[str, bytes] = {}
    with app.app_context(), new_session() as s:
        for inv in s.scalars(select(Invitation)):
            found[f"key of {inv.email}"] = inv.key.encode()
            found[f"address {inv.email}"] = (inv.email or "").encode()
    for n, token in enumerate(tokens):
        found[f"token {n}"] = token.encode()
        found[f"token hash {n}"] = hash_token(token).encode()
    return found


def draft_records(data: bytes, draft_ids: list[str], span: int = 200) -> list[bytes]:
    """The bytes around every copy of a draft's id in *data* (a SQLite record keeps its fields side by side)."""
    out = []
    for draft_id in draft_ids:
        for match in re.finditer(re.escape(draft_id.encode()), data):
            out.append(data[max(0, match.start() - span):match.end() + span])
    return out


def scan(app: Any, tokens: list[str]) -> tuple[int, list[str]]:
    """Return how many copies of draft records the raw files hold, and every linking value found in or next to
    them or anywhere at all for a token (tokens are never stored)."""
    data = raw_database(app)
    with app.app_context(), new_session() as s:
        draft_ids = list(s.scalars(select(Draft.key)))
    records = draft_records(data, draft_ids)
    values = linking_values(app, tokens)
    hits = [name for name, value in values.items() if any(value in record for record in records)]
    hits += [f"{name} anywhere" for name, value in values.items() if name.startswith("token ") and
             not name.startswith("token hash") and value in data]
    return len(records), hits


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_database_reader_cannot_link_a_draft_to_its_invitation(mapp):
    links = mapp.config["links"]
    tokens = [link.rsplit("/", 1)[1] for link in links]
    phone = device(mapp, links[0])
    phone.answer({"department": "icu"})
    device(mapp, links[0]).answer({"aware": "yes"}, action="back")  # a second device writes too
    device(mapp, links[1])
    copies, hits = scan(mapp, tokens)
    print(f"database scan: {copies} copies of draft records in the file and WAL, linking values found: {hits}")
    assert copies >= 2, "the scan must see the drafts it looks at"
    assert hits == []
    # The draft's id and key need the token and the parking key: the stored hash gives neither.
    with mapp.app_context():
        key = parking_key(SLUG)
        assert key is not None and key not in raw_database(mapp)

    # Control: a draft row that carries a linking value (an invitation key in its id, as a careless scheme might,
    # and the token beside it) is found by the same scan.
    with mapp.app_context(), new_session() as s:
        inv = s.scalars(select(Invitation).where(Invitation.email == ADDRESSES[2])).one()
        planted = Draft(key=inv.key, survey_slug=SLUG, sealed=b"x" * 64 + tokens[2].encode(),
                        expires_on=s.scalars(select(Draft.expires_on)).first())
        s.add(planted)
        s.commit()
    copies, hits = scan(mapp, tokens)
    print(f"control scan: linking values found: {hits}")
    assert f"key of {ADDRESSES[2]}" in hits and "token 2" in hits and "token 2 anywhere" in hits
