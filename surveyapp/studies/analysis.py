"""A study's two waves as the rows :mod:`exports.trial` compares: linked by study id, or by matched panel codes.

The analysis reads the participants (study id, arm), ``study_links`` and the responses' answers, never the key
table or the invitations. An anonymous panel is linked by :mod:`exports.panel` (matched codes only; ambiguous,
duplicate and unmatched codes are reported and left unpaired, never merged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.forest import Forest, forest
from exports.panel import PanelMatching, match_codes, panel_code
from exports.tables import Table
from exports.trial import Comparison, Participant, PrePost, compare, pre_post
from exports.trialtable import comparison_table, pre_post_table
from instrument import Instrument
from instrument.scores import score_value

from ..exporting import mix_waiting, stream_answers
from ..models import Response, Survey, answers_of
from ..surveys import instrument_of
from .models import Study, StudyError, StudyLink, StudyParticipant, StudyRandomization, StudyWave


def outcome_reader(instrument: Instrument, outcome: str) -> Callable[[Mapping[str, Any]], float | None]:
    """Return how to read *outcome* (a score of the instrument, else a number question) from one answer sheet."""
    for score in instrument.scores:
        if score.id == outcome:
            return lambda answers: score_value(score, answers)
    for question in instrument.questions:
        if question.id == outcome and question.type == "number":
            def number(answers: Mapping[str, Any], qid: str = question.id) -> float | None:
                value = answers.get(qid)
                return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
            return number
    scores = ", ".join(s.id for s in instrument.scores) or "none"
    raise StudyError(f"instrument '{instrument.id}' has no score or number question '{outcome}' (scores: {scores})")


def _survey(db: Session, wave: StudyWave) -> Survey:
    survey = db.get(Survey, wave.survey_slug)
    assert survey is not None  # the foreign key keeps it
    mix_waiting(db, survey)
    return survey


def linked_participants(db: Session, study: Study, first: StudyWave, second: StudyWave,
                        outcome: str) -> list[Participant]:
    """Return one row per participant: arm ("All" when none), the outcome at each wave (None when missing)."""
    values: dict[tuple[int, str], float | None] = {}
    for wave in (first, second):
        read = outcome_reader(instrument_of(_survey(db, wave)), outcome)
        query = (select(StudyLink.study_id, Response.answers).join(Response, Response.key == StudyLink.response_key)
                 .where(StudyLink.study_slug == study.slug, StudyLink.wave == wave.number))
        for sid, answers in db.execute(query):
            values[(wave.number, sid)] = read(answers)
    people = db.execute(select(StudyParticipant.study_id, StudyParticipant.arm)
                        .where(StudyParticipant.study_slug == study.slug).order_by(StudyParticipant.study_id))
    return [Participant(arm or "All", values.get((first.number, sid)), values.get((second.number, sid)))
            for sid, arm in people]


@dataclass
class PanelWaves:
    """An anonymous panel's two waves: the matching, and the outcome of matched pairs and of the rest."""

    matching: PanelMatching
    pairs: list[tuple[float | None, float | None]] = field(default_factory=list)
    baseline_only: list[float] = field(default_factory=list)
    follow_up_only: list[float] = field(default_factory=list)


def panel_codes(db: Session, study: Study, wave: StudyWave, outcome: str | None
                ) -> list[tuple[str | None, float | None]]:
    """Return each response of *wave* as (its code, its outcome), in random-key order."""
    survey = _survey(db, wave)
    read = outcome_reader(instrument_of(survey), outcome) if outcome else None
    return [(panel_code(answers, study.code_questions), read(answers) if read else None)
            for answers in stream_answers(db, survey.slug)]


def panel_waves(db: Session, study: Study, first: StudyWave, second: StudyWave, outcome: str | None) -> PanelWaves:
    """Match the two waves' codes; pair the outcome of matched codes, keep the others' values unpaired."""
    one, two = panel_codes(db, study, first, outcome), panel_codes(db, study, second, outcome)
    result = PanelWaves(match_codes([c for c, _ in one], [c for c, _ in two]))
    paired_one = {m.first: m.second for m in result.matching.matched}
    wanted = set(paired_one.values())
    later: dict[str, float | None] = {c: v for c, v in two if c in wanted}
    for code, value in one:
        if code in paired_one:
            result.pairs.append((value, later[paired_one[code]]))
        elif value is not None:
            result.baseline_only.append(value)
    result.follow_up_only = [v for c, v in two if v is not None and c not in later]
    return result


@dataclass
class StudyComparison:
    """Each outcome's result and manuscript table, the forest over them, and how the waves were linked."""

    results: list[tuple[str, Comparison | PrePost]]
    tables: list[Table]
    matching: PanelMatching | None  # an anonymous panel's matching; None when linked by study id

    @property
    def forest(self) -> Forest:
        """Return the forest chart of every outcome (between-arm differences, or one group's changes)."""
        return forest(self.results)


def compare_outcomes(db: Session, study: Study, first: StudyWave, second: StudyWave, outcomes: list[str],
                     arms: list[str] | None = None) -> StudyComparison:
    """Compare each outcome between two waves: by arm (first minus second), or one group, paired where linked."""
    found = StudyComparison([], [], None)
    if arms is None:  # the order given at randomization ("coaching,control": coaching minus control)
        arms = db.scalar(select(StudyRandomization.arms).where(StudyRandomization.study_slug == study.slug))
    for outcome in outcomes:
        result: Comparison | PrePost
        if study.linkage == "anonymous_panel":
            panel = panel_waves(db, study, first, second, outcome)
            found.matching = panel.matching
            result = pre_post(panel.pairs, panel.baseline_only, panel.follow_up_only)
        else:
            rows = linked_participants(db, study, first, second, outcome)
            result = (pre_post((p.baseline, p.follow_up) for p in rows) if {p.arm for p in rows} == {"All"}
                      else compare(rows, arms))
        found.results.append((outcome, result))
        found.tables.append(comparison_table(result, outcome) if isinstance(result, Comparison)
                            else pre_post_table(result, outcome))
    return found


@dataclass
class WaveCount:
    """One wave: its responses, and (confidential studies) how many of each arm answered it."""

    wave: StudyWave
    responses: int
    by_arm: dict[str, int]


def wave_counts(db: Session, study: Study) -> tuple[dict[str, int], list[WaveCount]]:
    """Return the participants per arm ("All" without arms) and each wave's counts, exact (for the team)."""
    enrolled = {arm or "All": n for arm, n in db.execute(
        select(StudyParticipant.arm, func.count()).where(StudyParticipant.study_slug == study.slug)
        .group_by(StudyParticipant.arm).order_by(StudyParticipant.arm))}
    linked: dict[int, dict[str, int]] = {}
    for number, arm, n in db.execute(select(StudyLink.wave, StudyLink.arm, func.count())
                                     .where(StudyLink.study_slug == study.slug)
                                     .group_by(StudyLink.wave, StudyLink.arm)):
        linked.setdefault(number, {})[arm or "All"] = n
    found = []
    for wave in db.scalars(select(StudyWave).where(StudyWave.study_slug == study.slug).order_by(StudyWave.number)):
        survey = _survey(db, wave)
        responses = db.scalar(select(func.count()).select_from(Response).where(answers_of(survey.slug))) or 0
        found.append(WaveCount(wave, responses, {arm: linked.get(wave.number, {}).get(arm, 0) for arm in enrolled}))
    return enrolled, found
