"""Studies in the database: creating one, its waves, enrolling participants, the key table kept apart.

A participant of a confidential study gets a random study id; the key table (address <-> study id) is the only
place the two meet. It is exported for the team's records and destroyed when the study no longer needs to invite
anyone, after which nothing in the database links an address to a study id. Responses of a confidential wave
are linked to the study id and arm (``study_links``), never to an address.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..invitations.roster import RosterEntry
from ..invitations.wording import KINDS, promises_anonymity
from ..models import MailTemplate, Survey
from ..surveys import instrument_of
from .models import LINKAGES, Study, StudyError, StudyKey, StudyParticipant, StudyRandomization, StudyWave
from .randomizing import allocate

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ID_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L: study ids are read aloud and typed


def new_study_id() -> str:
    """Return a random study id such as "P-7KQ2M9XH" (40 random bits)."""
    return "P-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def find_study(db: Session, slug: str) -> Study:
    """Return study *slug* or raise StudyError."""
    study = db.get(Study, slug)
    if study is None:
        raise StudyError(f"no study '{slug}' (see 'surveykit studies list')")
    return study


def create_study(db: Session, slug: str, title: str, linkage: str, code_questions: list[str],
                 random_code: str = "") -> Study:
    """Add a study (not committed); *random_code*: an anonymous panel's question asking for the code shown at the
    end of wave 1, instead of self-generated code questions."""
    if not SLUG_RE.match(slug):
        raise StudyError(f"study id '{slug}': use lower-case letters, digits and '-' (at most 64)")
    if linkage not in LINKAGES:
        raise StudyError(f"linkage '{linkage}': one of {', '.join(LINKAGES)}")
    if db.get(Study, slug) is not None:
        raise StudyError(f"a study '{slug}' exists already")
    if random_code and (linkage != "anonymous_panel" or code_questions):
        raise StudyError("--random-code is for an anonymous panel, instead of --code-questions")
    if random_code:
        code_questions = [random_code]
    if linkage == "anonymous_panel" and not code_questions:
        raise StudyError("an anonymous panel needs --code-questions: the questions whose answers make the "
                         "self-generated code (e.g. mother_initials,birth_day)")
    if linkage == "confidential" and code_questions:
        raise StudyError("--code-questions is for an anonymous panel; a confidential study links by study id")
    study = Study(slug=slug, title=title or slug, linkage=linkage, code_questions=code_questions,
                  random_code=bool(random_code), created_on=dt.date.today())
    db.add(study)
    return study


def waves(db: Session, study: Study) -> list[StudyWave]:
    """Return the study's waves in order."""
    return list(db.scalars(select(StudyWave).where(StudyWave.study_slug == study.slug).order_by(StudyWave.number)))


def find_wave(db: Session, study: Study, ref: str | None, default: int) -> StudyWave:
    """Return the wave named by *ref* (its number or label), else the *default*-th wave (1-based)."""
    found = waves(db, study)
    if ref is None:
        if len(found) < default:
            raise StudyError(f"study '{study.slug}' has {len(found)} wave(s); add waves with "
                             "'surveykit studies add-wave'")
        return found[default - 1]
    for wave in found:
        if ref == str(wave.number) or ref == wave.label:
            return wave
    names = ", ".join(f"{w.number} ({w.label})" for w in found) or "none"
    raise StudyError(f"study '{study.slug}' has no wave '{ref}' (waves: {names})")


def add_wave(db: Session, study: Study, survey_slug: str, label: str, number: int | None = None) -> StudyWave:
    """Make survey *survey_slug* wave *number* (default: the next) of *study* (not committed)."""
    survey = db.get(Survey, survey_slug)
    if survey is None:
        raise StudyError(f"no survey '{survey_slug}' (see 'surveykit surveys list')")
    taken = db.scalar(select(StudyWave).where(StudyWave.survey_slug == survey_slug))
    if taken is not None:
        raise StudyError(f"survey '{survey_slug}' is already wave {taken.number} of study '{taken.study_slug}'")
    existing = waves(db, study)
    number = number if number is not None else len(existing) + 1
    if number < 1 or any(w.number == number for w in existing):
        raise StudyError(f"study '{study.slug}' already has a wave {number}" if number >= 1
                         else "a wave's number is 1 or more")
    label = label.strip() or f"wave {number}"
    if len(label) > 120 or any(w.label == label for w in existing):
        raise StudyError(f"wave label '{label[:40]}': already used in this study, or longer than 120 characters")
    if study.linkage == "anonymous_panel":
        asked = {q.id: q for q in instrument_of(survey).questions}
        missing = [q for q in study.code_questions if q not in asked]
        if study.random_code:
            (question,) = study.code_questions
            if number == 1 and question in asked:
                raise StudyError(f"survey '{survey_slug}' asks '{question}', but wave 1 gives the random code (shown "
                                 "at its end): wave 1's instrument must not ask for it")
            if number > 1 and (question not in asked or asked[question].type != "text"):
                raise StudyError(f"survey '{survey_slug}' must ask for the code shown at the end of wave 1 in a "
                                 f"text question '{question}'")
        elif missing:
            raise StudyError(f"survey '{survey_slug}' does not ask the code question(s) {', '.join(missing)}: "
                             "every wave of an anonymous panel must ask them")
    else:
        for kind in KINDS:
            row = db.get(MailTemplate, (survey_slug, kind))
            if row is not None and promises_anonymity(row.subject, row.text_body, row.html_body):
                raise StudyError(f"survey '{survey_slug}' has its own {kind} wording that says \"anonymous\"; a "
                                 "confidential study's participants are known to the team: reword it to say "
                                 "\"confidential\" first")
    wave = StudyWave(study_slug=study.slug, number=number, label=label, survey_slug=survey_slug)
    db.add(wave)
    return wave


def participants(db: Session, study: Study) -> list[StudyParticipant]:
    """Return the study's participants (ordered by study id, which is random)."""
    return list(db.scalars(select(StudyParticipant).where(StudyParticipant.study_slug == study.slug)
                           .order_by(StudyParticipant.study_id)))


@dataclass(frozen=True)
class Enrolled:
    """One participant enrolled: the study id and the arm (None until randomized, in a study without one)."""

    study_id: str
    stratum: str
    arm: str | None


def enroll(db: Session, study: Study, entries: list[RosterEntry], source: str, today: dt.date) -> list[Enrolled]:
    """Enroll the roster's people, all or none (not committed): a study id each, the key table, the arm.

    In a randomized study each gets the next place of their stratum's list, revealed only now; otherwise the
    roster's ``arm`` column (if any) gives the arm.
    """
    if study.linkage != "confidential":
        raise StudyError(f"study '{study.slug}' is an anonymous panel: it has no participants to enroll (its "
                         "respondents link their waves with their own code)")
    randomized = db.get(StudyRandomization, study.slug) is not None
    if randomized and any(e.arm for e in entries):
        line = next(e.line for e in entries if e.arm)
        raise StudyError(f"{source}:{line}: the roster gives an arm, but study '{study.slug}' is randomized: the "
                         "arm comes from the allocation list (remove the arm column)")
    known = set(db.scalars(select(StudyKey.email).where(StudyKey.study_slug == study.slug)))
    clashes = [f"{source}:{e.line}: {e.email} is already enrolled" for e in entries if e.email in known]
    if clashes:
        raise StudyError("\n".join(clashes))
    taken = set(db.scalars(select(StudyParticipant.study_id).where(StudyParticipant.study_slug == study.slug)))
    done = []
    for entry in entries:
        study_id = new_study_id()
        while study_id in taken:
            study_id = new_study_id()
        taken.add(study_id)
        participant = StudyParticipant(study_slug=study.slug, study_id=study_id, stratum=entry.department,
                                       arm=entry.arm or None, enrolled_on=today)
        db.add(participant)
        db.add(StudyKey(study_slug=study.slug, study_id=study_id, email=entry.email))
        db.flush()
        if randomized:
            allocate(db, study, participant, today)
        done.append(Enrolled(study_id, participant.stratum, participant.arm))
    return done


def key_rows(db: Session, study: Study) -> list[tuple[str, str]]:
    """Return the key table: (study id, address), ordered by study id."""
    return [(k.study_id, k.email) for k in db.scalars(select(StudyKey).where(StudyKey.study_slug == study.slug)
                                                       .order_by(StudyKey.study_id))]


def destroy_key(db: Session, study: Study) -> int:
    """Delete the study's key table (not committed); return how many links were destroyed."""
    count = db.scalar(select(func.count()).select_from(StudyKey).where(StudyKey.study_slug == study.slug)) or 0
    db.execute(delete(StudyKey).where(StudyKey.study_slug == study.slug))
    return count
