"""What a question type is: one object holding every part that differs from one type to the next.

Each part the pure package can hold is a function here (YAML keys and their reading, form parsing, the
required check, which show_if tests apply). The parts that live in other libraries are named by *kind*
(export column layout, summary, import cell reading); each library maps a kind to its code and fails with
:class:`UnsupportedType` on a kind it does not know, and tests check that every registered type's kinds are
mapped, so a new type with a missing part fails loudly instead of falling back to something else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .messages import N_
from .model import Option, Question, Scale
from .yamlcheck import Ctx
from .yamlsource import LineDict


class UnsupportedType(LookupError):
    """A question type, or a kind a type names, that nothing is registered for."""


class FormData(Protocol):
    """What is read of a posted form (werkzeug's MultiDict has it)."""

    def get(self, key: str, /) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class Catalog:
    """The named choice lists and scales a question may refer to."""

    lists: Mapping[str, tuple[Option, ...]]
    scales: Mapping[str, Scale]


YamlReader = Callable[[Ctx, LineDict, str, Catalog], dict[str, Any]]
FormParser = Callable[[Question, FormData], tuple[Any, str]]


def is_empty(value: Any) -> bool:
    """Say whether a stored answer counts as not given."""
    if value is None or value == "" or value == []:
        return True
    return isinstance(value, dict) and all(v is None for v in value.values())


@dataclass(frozen=True)
class QuestionType:
    """One question type: its own YAML keys and every part that depends on the type."""

    name: str
    keys: frozenset[str]  # YAML keys besides id, type, text, help, required, show_if
    read: YamlReader  # the type's keys -> extra Question fields, failing with file:line
    parse: FormParser  # posted fields -> (value to store, error or '')
    conditions: frozenset[str]  # show_if tests another question may apply to an answer of this type
    columns: str  # export column layout kind (exports.columns)
    summary: str  # summary kind (exports.stats)
    cells: str  # import cell kind (exports.importing)
    needs_answer: str = N_("This question needs an answer.")
    incomplete: Callable[[Question, Any], str] | None = None  # message when required and given only in part
    first_field: Callable[[Question], str] | None = None  # id of the question's first form field, if not the usual

    def focus_id(self, q: Question) -> str:
        """Return the id of *q*'s first form field (where an error-summary link sends the focus)."""
        if self.first_field is not None:
            return self.first_field(q)
        if q.items:
            return f"{q.id}-{q.items[0].id}"
        if q.choices:
            return f"{q.id}-{q.choices[0].code}"
        return q.id

    def missing(self, q: Question, value: Any) -> str:
        """Return the message for a required question left empty (or incomplete), or ''."""
        if not q.required:
            return ""
        if self.incomplete is not None:
            partial = self.incomplete(q, value)
            if partial:
                return partial
        return self.needs_answer if is_empty(value) else ""
