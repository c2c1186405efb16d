"""Mapping files (which column holds which question, which text means which option) and column targets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from instrument import Instrument, Question, question_type
from instrument.yamlsource import LineDict, load_yaml

from ..columns import question_columns
from ..readers import InvalidImport


def squash(header: str) -> str:
    """Return a header reduced to lower-case letters and digits (for the lists of known columns)."""
    return re.sub(r"[^a-z0-9]", "", header.casefold())


_PLAIN = str.maketrans("‘’“”–—", "''\"\"--")


def normalize(text: str) -> str:
    """Return text compared loosely: NFKC, case-folded, plain quotes and dashes, single spaces, no trailing '*'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_PLAIN)
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip("* ").strip()


@dataclass
class Mapping:
    """A mapping file: column header -> target ('drop', 'id', 'id.code', 'id.item', 'id.other_text')."""

    source: str = ""
    columns: dict[str, tuple[str, int]] = field(default_factory=dict)  # header -> (target, line)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # question id -> {normalized text: code}
    separator: str | None = None


def load_mapping(path: str | Path, instrument: Instrument) -> Mapping:
    """Read a mapping file (YAML: columns, values, separator); raise InvalidImport naming file:line."""
    path = Path(path)
    name = path.name
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidImport(f"{name}:1: cannot be read: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InvalidImport(f"{name}:{mark.line + 1 if mark else 1}: not valid YAML: {exc.problem}") from None
    if not isinstance(data, LineDict):
        raise InvalidImport(f"{name}:1: a mapping file is a YAML mapping with 'columns' and/or 'values' "
                            "(and 'separator')")
    for key in data:
        if key not in ("columns", "values", "separator"):
            raise InvalidImport(f"{name}:{data.line_of(key)}: unknown key '{key}' (columns, values, separator)")
    if not ({"columns", "values"} & data.keys()):
        raise InvalidImport(f"{name}:{data.line or 1}: a mapping file needs 'columns' (column header -> question "
                            "id), 'values' (per question: text in the file -> option code), or both")
    mapping = Mapping(source=name)
    # Either section may stand alone: a file whose columns match by text may need only 'values', and back.
    columns = data.get("columns") if "columns" in data else _empty(data)
    if not isinstance(columns, LineDict):
        raise InvalidImport(f"{name}:{data.line_of('columns')}: 'columns' maps column headers to question ids")
    for header, target in columns.items():
        line = columns.line_of(header)
        if not isinstance(target, str):
            raise InvalidImport(f"{name}:{line}: column '{header}': give a question id or 'drop'")
        target_of(target, instrument, f"{name}:{line}: column '{header}'")
        mapping.columns[str(header)] = (target, line)
    values = data.get("values") if "values" in data else _empty(data)
    if not isinstance(values, LineDict):
        raise InvalidImport(f"{name}:{data.line_of('values')}: 'values' maps question ids to {{text: code}}")
    known = {q.id: q for q in instrument.questions}
    for qid, table in values.items():
        line = values.line_of(qid)
        if qid not in known:
            raise InvalidImport(f"{name}:{line}: values: no question '{qid}' in '{instrument.id}'")
        if not isinstance(table, LineDict):
            raise InvalidImport(f"{name}:{line}: values of '{qid}': map each text in the file to an option code")
        codes = {o.code for o in known[qid].choices} | ({"other"} if known[qid].other else set())
        for text, code in table.items():
            if str(code) not in codes:
                raise InvalidImport(f"{name}:{table.line_of(text)}: values of '{qid}': '{code}' is not an "
                                    f"option code ({', '.join(sorted(codes))})")
        mapping.values[qid] = {normalize(str(t)): str(c) for t, c in table.items()}
    separator = data.get("separator")
    if separator is not None:
        if not isinstance(separator, str) or not separator:
            raise InvalidImport(f"{name}:{data.line_of('separator')}: 'separator' is the text between the "
                                "options of a multiple-choice answer, e.g. ';'")
        mapping.separator = separator
    return mapping


def _empty(parent: LineDict) -> LineDict:
    empty = LineDict()
    empty.line, empty.key_lines = parent.line, {}
    return empty


# Column targets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What one column holds: a question's answer, an option flag, a matrix statement, an 'Other' text, a rank."""

    kind: str  # value, flag, item, other_text, part, rank (key: the rank), choice_rank (key: the option code)
    question: Question
    key: str = ""
    part: int = 1


def target_of(spec: str, instrument: Instrument, where: str) -> Target | None:
    """Return the target named by *spec* ('drop' -> None); raise InvalidImport when it names nothing.

    A spec is a header of our raw export ('id', 'id.option', 'id.statement', 'id.other_text', 'id.rank2',
    'id#2'), or 'id.option' of a ranking question: a column holding the rank given to that option, as
    Qualtrics writes a rank-order question.
    """
    if spec == "drop":
        return None
    known = {q.id: q for q in instrument.questions}
    if spec in known and known[spec].items:
        statements = ", ".join(f"{spec}.{i.id}" for i in known[spec].items)
        raise InvalidImport(f"{where}: '{spec}' is a Likert matrix, answered one statement per column: "
                            f"map its columns as {statements}")
    if spec in known:
        return Target("value", known[spec])
    if "#" in spec:
        qid, _, part = spec.partition("#")
        if qid in known and _is_free_text(known[qid]) and part.isdigit() and int(part) >= 2:
            return Target("part", known[qid], part=int(part))
    qid, _, _key = spec.partition(".")
    q = known.get(qid)
    if q is not None:
        for column in question_columns(q, split_text=False):
            if column.header == spec and column.kind in ("flag", "item", "other_text", "rank"):
                return Target(column.kind, q, column.key)
        if question_type(q.type).cells == "ranks" and _key in {o.code for o in q.choices}:
            return Target("choice_rank", q, _key)
    raise InvalidImport(f"{where}: '{spec}' names no question, option or statement of '{instrument.id}' "
                        "(use 'id', 'id.option', 'id.statement', 'id.other_text', 'id.rank1' or 'drop')")


def _is_free_text(q: Question) -> bool:
    return any(c.is_text and c.kind == "value" for c in question_columns(q, split_text=False))
