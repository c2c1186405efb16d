"""ranking: the respondent orders up to ``max_ranks`` of the choices; stored as the codes in rank order.

The form has one select per rank (``<id>__rank1``, ``<id>__rank2``, ...), so it works without JavaScript.
A code may be ranked once, and ranks are filled from the first without gaps; required means at least one.
show_if may test a ranking with ``includes`` (all the values were ranked), ``in`` (any was) or ``answered``;
``equals`` would compare a whole ordering and is refused.
"""

from __future__ import annotations

from typing import Any

from ..messages import N_
from ..model import Question
from ..qtype import Catalog, FormData, QuestionType
from ..yamlcheck import Ctx
from ..yamlsource import LineDict
from .choice import read_choices


def rank_field(qid: str, rank: int) -> str:
    """Return the form field name of rank *rank* (1-based) of question *qid*."""
    return f"{qid}__rank{rank}"


def ordinal(n: int) -> str:
    """Return 1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _read(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> dict[str, Any]:
    choices = read_choices(ctx, node, qid, catalog)
    if len(choices) < 2:
        raise ctx.fail(node.line_of("choices"), "a ranking needs at least two choices", qid)
    limit = node.get("max_ranks", len(choices))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= len(choices):
        raise ctx.fail(node.line_of("max_ranks"),
                       f"max_ranks must be a whole number from 1 to the number of choices ({len(choices)})", qid)
    return {"options": choices, "max_ranks": limit}


def _parse(q: Question, form: FormData) -> tuple[Any, str]:
    codes = {o.code for o in q.choices}
    given = [(form.get(rank_field(q.id, r)) or "").strip() for r in range(1, q.max_ranks + 1)]
    if any(c and c not in codes for c in given):
        return None, N_("Choose among the options shown.")
    picked = [c for c in given if c]
    # On a duplicate or a gap the ranks as posted come back, so the page shows them to be put right.
    if len(set(picked)) != len(picked):
        return given, N_("Rank each option at most once.")
    if given[:len(picked)] != picked:
        return given, N_("Fill the ranks in order from the 1st choice, leaving no gaps.")
    return picked, ""


RANKING = QuestionType(
    "ranking", frozenset({"choices", "max_ranks"}), _read, _parse, frozenset({"in", "includes", "answered"}),
    columns="ranks", summary="ranking", cells="ranks", needs_answer=N_("Rank at least one option."),
    first_field=lambda q: f"{q.id}-rank1")
