"""The question-type registry: every registered type has every part, and an unknown type or kind fails loudly."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from exports.columns import LAYOUTS, question_columns
from exports.imports import CELLS
from exports.stats import SUMMARIES, summary_for
from exports.tables import TABLES
from instrument import TYPES, Question, UnsupportedType, question_type
from instrument.answers import missing_required, parse_question

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "surveyapp" / "templates" / "respond" / "types"


@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_registered_type_has_every_part(name):
    qtype = TYPES[name]
    assert qtype.name == name
    assert callable(qtype.read) and callable(qtype.parse)
    assert qtype.conditions <= {"equals", "not_equals", "in", "includes", "answered"} and qtype.conditions
    assert qtype.columns in LAYOUTS, f"{name}: export column layout '{qtype.columns}' is not in exports.columns"
    assert qtype.summary in SUMMARIES, f"{name}: summary kind '{qtype.summary}' is not in exports.stats"
    assert SUMMARIES[qtype.summary] in TABLES, f"{name}: no tables for {SUMMARIES[qtype.summary].__name__}"
    assert qtype.cells in CELLS, f"{name}: import cell kind '{qtype.cells}' is not in exports.imports"
    assert (TEMPLATES / f"{name}.html").is_file(), f"{name}: no respondent partial respond/types/{name}.html"
    assert f"`{name}`" in (ROOT / "instruments" / "README.md").read_text(encoding="utf-8"), f"{name}: not documented"


def test_no_partial_without_a_type():
    partials = {p.stem for p in TEMPLATES.glob("*.html") if not p.name.startswith("_")}
    assert partials == set(TYPES)


def _question(qtype: str) -> Question:
    return Question(id="q", type=qtype, text="Q", line=1, section="s")


def test_an_unregistered_type_is_an_error_everywhere():
    with pytest.raises(UnsupportedType, match="unknown question type 'bogus'"):
        question_type("bogus")
    q = _question("bogus")
    for call in (lambda: summary_for(q), lambda: question_columns(q), lambda: missing_required(q, None),
                 lambda: parse_question(q, {})):  # type: ignore[arg-type]
        with pytest.raises(UnsupportedType, match="bogus"):
            call()


def test_a_kind_nothing_maps_fails_loudly(monkeypatch):
    fake = dataclasses.replace(TYPES["text"], name="fake", columns="scroll", summary="poem", cells="ink")
    monkeypatch.setitem(TYPES, "fake", fake)
    q = _question("fake")
    with pytest.raises(UnsupportedType, match="no summary for the kind 'poem' of type 'fake'"):
        summary_for(q)
    with pytest.raises(UnsupportedType, match="no export columns for the layout 'scroll' of type 'fake'"):
        question_columns(q)


def test_importing_instrument_loads_no_flask_and_no_sqlalchemy():
    code = "import instrument, sys; assert 'flask' not in sys.modules and 'sqlalchemy' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr


SAMPLE = """
id: every-type
version: 1
title: Every type
sections:
  - id: s
    questions:
      - {id: one, type: single_choice, text: One, choices: [A, B]}
      - {id: many, type: multiple_choice, text: Many, choices: [A, B], other: true}
      - {id: level, type: likert, text: Level, scale: agreement}
      - {id: grid, type: likert, text: Grid, scale: agreement, items: [{id: x, text: X}]}
      - {id: words, type: text, text: Words}
      - {id: essay, type: text, text: Essay, long: true}
      - {id: count, type: number, text: Count, integer: true}
      - {id: day, type: date, text: Day}
      - {id: order, type: ranking, text: Order, choices: [A, B, C], max_ranks: 2}
"""


def test_every_partial_renders_its_controls():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from instrument import parse_instrument
    from surveyapp.languages import number, rank_choice

    inst = parse_instrument(SAMPLE, "every.yaml")
    assert {q.type for q in inst.questions} == set(TYPES)
    env = Environment(loader=FileSystemLoader(ROOT / "surveyapp" / "templates"), undefined=StrictUndefined,
                      autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # English: the msgids themselves
    env.filters.update(number=number, rank_choice=rank_choice)
    template = env.get_template("respond/_question.html")

    def html(qid: str) -> str:
        return template.render(q=inst.question(qid), errors={}, answers={}, shown={q.id for q in inst.questions},
                               same_page=set())

    assert html("one").count('type="radio" name="one"') == 2
    assert html("many").count('type="checkbox" name="many"') == 3 and 'name="many__other"' in html("many")
    assert html("level").count('type="radio" name="level"') == 5 and 'class="options scale"' in html("level")
    assert '<fieldset class="matrix"' in html("grid") and 'name="grid__x"' in html("grid")
    assert '<input type="text" name="words"' in html("words")
    assert '<textarea name="essay"' in html("essay")
    assert 'inputmode="numeric" name="count"' in html("count")
    assert '<input type="date" name="day"' in html("day")
    ranking = html("order")
    assert ranking.count("<select ") == 2 and ">2nd choice</label>" in ranking
