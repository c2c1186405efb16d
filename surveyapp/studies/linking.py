"""How a response of a confidential study's wave gets its study id and arm, and never an address.

Two ways in: an invitation of the wave (the invitee's address finds their study id in the key table when the
answer is parked; the sealed sheet carries the study id, the mixer writes the response and its link), and an
import whose file has a ``study_id`` column. Either way ``study_links`` holds response key, study id and arm;
the address stays in the key table and the invitation, which the analysis never reads.
"""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from exports.readers import InvalidImport, SourceRow, Tabular
from exports.tabular.reading import cell_text

from ..db import Handle
from ..models import Invitation, Response
from .models import Study, StudyKey, StudyLink, StudyParticipant, StudyWave

STUDY_ID_COLUMN = "study_id"
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def confidential_wave(db: Session, survey_slug: str) -> StudyWave | None:
    """Return the wave survey *survey_slug* is of, when its study is confidential."""
    return db.scalar(select(StudyWave).join(Study, Study.slug == StudyWave.study_slug)
                     .where(StudyWave.survey_slug == survey_slug, Study.linkage == "confidential"))


def _arms(db: Session, study_slug: str) -> dict[str, str | None]:
    rows = db.execute(select(StudyParticipant.study_id, StudyParticipant.arm)
                      .where(StudyParticipant.study_slug == study_slug))
    return {sid: arm for sid, arm in rows}


# Every final submission asks this: built once, and reading one column, not an ORM object.
_RANDOM_CODE_QUESTIONS = (select(Study.code_questions).join(StudyWave, StudyWave.study_slug == Study.slug)
                          .where(StudyWave.survey_slug == bindparam("slug"), StudyWave.number == 1, Study.random_code))


def random_code_question(db: Handle, survey_slug: str) -> str | None:
    """Return the question a random code is stored under when survey *survey_slug* is wave 1 of a random-code
    panel (the code is drawn at the end and shown to the respondent to keep), else None."""
    questions = db.connection().execute(_RANDOM_CODE_QUESTIONS, {"slug": survey_slug}).scalar()
    return questions[0] if questions else None


def new_panel_code() -> str:
    """Return a random panel code such as "K7QM-2XHP" (40 bits; no 0/O or 1/I/L, to be copied by hand)."""
    letters = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def study_id_of_invitation(db: Session, survey_slug: str, invitation_key: str) -> str | None:
    """Return the study id of the invitee of *invitation_key* when the survey is a confidential wave, else None.

    None too when the key table was destroyed: the answer is then kept unlinked (the study said it would not
    link anyone any more).
    """
    wave = confidential_wave(db, survey_slug)
    if wave is None:
        return None
    email = db.scalar(select(Invitation.email).where(Invitation.key == invitation_key))
    if email is None:
        return None
    return db.scalar(select(StudyKey.study_id).where(StudyKey.study_slug == wave.study_slug,
                                                     StudyKey.email == email))


def link(db: Session, survey_slug: str, links: list[tuple[str, str]]) -> None:
    """Record (response key, study id) pairs of a confidential wave with each participant's arm (not committed)."""
    wave = confidential_wave(db, survey_slug)
    if wave is None or not links:
        return
    arms = _arms(db, wave.study_slug)
    db.flush()
    db.add_all(StudyLink(response_key=key, study_slug=wave.study_slug, wave=wave.number, study_id=sid,
                         arm=arms.get(sid)) for key, sid in links)


class ImportLinker:
    """Links each imported row of a confidential wave to its study id, checking it names an enrolled participant
    at most once per wave; a problem raises InvalidImport naming file:line, and the import stores nothing."""

    def __init__(self, db: Session, wave: StudyWave, table: Tabular, column: int) -> None:
        self.db, self.wave, self.table, self.column = db, wave, table, column
        self.arms = _arms(db, wave.study_slug)
        self.seen = {sid: "an earlier import" for sid in db.scalars(
            select(StudyLink.study_id).where(StudyLink.study_slug == wave.study_slug,
                                             StudyLink.wave == wave.number))}
        self.pending: list[tuple[str, str]] = []

    def add(self, row: SourceRow, response: Response) -> None:
        """Check the row's study id and remember the link (written by :meth:`finish`)."""
        sid = cell_text(row.cells[self.column]).strip() if self.column < len(row.cells) else ""
        where = self.table.where(row.line, self.column)
        if not sid:
            raise InvalidImport(f"{where}: no study id")
        if sid not in self.arms:
            raise InvalidImport(f"{where}: '{sid}' is not a participant of study '{self.wave.study_slug}'")
        if sid in self.seen:
            raise InvalidImport(f"{where}: '{sid}' already answered wave {self.wave.number} (in {self.seen[sid]})")
        self.seen[sid] = f"line {row.line}"
        self.pending.append((response.key, sid))

    def finish(self) -> None:
        """Write the links, after the responses they refer to (no ORM relationship orders the inserts)."""
        self.db.flush()
        self.db.add_all(StudyLink(response_key=key, study_slug=self.wave.study_slug, wave=self.wave.number,
                                  study_id=sid, arm=self.arms[sid]) for key, sid in self.pending)
        self.db.flush()


def import_linker(db: Session, survey_slug: str, table: Tabular) -> ImportLinker | None:
    """Return the linker of an import into a confidential wave (None for any other survey)."""
    wave = confidential_wave(db, survey_slug)
    if wave is None:
        return None
    column = next((i for i, h in enumerate(table.headers) if h.strip().lower() == STUDY_ID_COLUMN), None)
    if column is None:
        raise InvalidImport(f"{table.where(None)}: survey '{survey_slug}' is wave {wave.number} of the confidential "
                            f"study '{wave.study_slug}': the file needs a '{STUDY_ID_COLUMN}' column saying whose "
                            "answers each row holds")
    return ImportLinker(db, wave, table, column)
