"""The nomination tally: per department, nominees ranked by nominations, and how many supporters to invite.

A nomination survey (instruments/nomination.yaml) asks each physician for up to three colleagues' names. The
tally is made in two steps, as a person must decide which spellings name the same colleague:

1. names are normalised (case, spacing, punctuation, a leading "Dr"/"Doctor"/"Prof", a trailing "MD"/"DO"/
   "PhD", "Smith, Jane" read as "Jane Smith"), which merges the obvious variants by itself;
2. spellings that still look alike (one letter apart, or the same surname and first initial) are *proposed* as
   merges, never applied: the team confirms them (``A=B`` pairs, on the command line or in a merge file) and
   the tally is final once no proposal is left that they have not decided on.

One supporter per ten physicians (POST's 10:1 ratio) gives the number to invite: ceil(physicians / 10), so a
department of 45 gets 5. Physicians are counted from a roster or the survey's invitations; without either the
tally says the number is not known rather than guessing from the respondents. Nominees are ranked 1, 2, 2, 4
(ties share a rank); where the last place to invite falls inside a tie, every tied nominee is marked so.

Anonymity: a nomination is counted once per nominator (naming a colleague twice on one form counts once) and no
output holds anything about the nominators besides their department's count: no row, order, answer or time,
and the spellings merged are listed normalised (lower case, no titles), not as each nominator typed them.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .tabular.csvwrite import write_rows

PHYSICIANS_PER_SUPPORTER = 10
SIMILAR = 0.85  # difflib ratio from which two spellings are proposed as one person
_TITLE = re.compile(r"^(?:dr|doctor|prof|professor)\b\.?\s*")
_DEGREE = re.compile(r"(?:\s+(?:md|do|phd|mbbs|mbchb|frcp|facp))+$")
HEADER = ["Department", "Rank", "Nominee", "Nominations", "Invite", "Spellings merged", "Physicians",
          "To invite (1 per 10)"]


class NominationError(ValueError):
    """A merge that cannot be applied; the message says where and what."""


def normalise(name: str) -> str:
    """Return the key a name is counted under: lower case, no title or degree, single spaces, first name first."""
    text = " ".join(name.casefold().replace(".", ". ").split())
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and not _DEGREE.fullmatch(" " + first.replace(".", "")):
            text = f"{first} {last}"
    text = re.sub(r"[^\w\s'-]", " ", text)
    text = " ".join(text.split())
    text = _TITLE.sub("", text)
    return _DEGREE.sub("", text).strip()


def _display(key: str) -> str:
    """Return how a nominee is shown: the kept spelling, each word capitalised ("o'brien" -> "O'brien")."""
    return " ".join(w[:1].upper() + w[1:] for w in key.split())


def parse_merge(text: str, where: str) -> tuple[str, str]:
    """Return (variant key, kept key) of one ``variant=kept`` merge; fail naming *where* when malformed."""
    variant, sep, kept = text.partition("=")
    if not sep or not normalise(variant) or not normalise(kept):
        raise NominationError(f"{where}: a merge is 'spelling to merge=spelling to keep', got '{text.strip()}'")
    if normalise(variant) == normalise(kept):
        raise NominationError(f"{where}: '{variant.strip()}' and '{kept.strip()}' are already the same name")
    return normalise(variant), normalise(kept)


def read_merge_file(path: Path) -> list[tuple[str, str, str]]:
    """Return (variant, kept, where) for each ``A=B`` line of a merge file ('#' starts a comment)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise NominationError(f"{path}: cannot be read: {exc}") from None
    found = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            where = f"{path}:{number}"
            found.append((*parse_merge(text, where), where))
    return found


def resolve(merges: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Return variant -> final key, following chains (A=B, B=C); fail on a name merged two ways or a cycle."""
    into: dict[str, tuple[str, str]] = {}
    for variant, kept, where in merges:
        if variant in into and into[variant][0] != kept:
            raise NominationError(f"{where}: '{variant}' is already merged into '{into[variant][0]}' "
                                  f"({into[variant][1]})")
        into[variant] = (kept, where)
    final: dict[str, str] = {}
    for variant in into:
        seen = [variant]
        key = into[variant][0]
        while key in into:
            if key in seen:
                raise NominationError(f"{into[variant][1]}: the merges go round in a circle: "
                                      + " -> ".join([*seen, key]))
            seen.append(key)
            key = into[key][0]
        final[variant] = key
    return final


@dataclass
class Nominee:
    """One colleague in one department's tally."""

    key: str
    name: str
    nominations: int
    spellings: list[str]
    rank: int = 0
    tied: bool = False
    invite: str = ""  # yes, no, "tied at the cut" or "" when the number to invite is not known


@dataclass
class DepartmentTally:
    """One department: its ballots, nominees in rank order and the number to invite."""

    department: str
    ballots: int
    nominees: list[Nominee] = field(default_factory=list)
    physicians: int | None = None
    physicians_from: str = "not known"
    proposals: list[tuple[str, str]] = field(default_factory=list)  # (variant, kept) still to be decided

    @property
    def to_invite(self) -> int | None:
        """Return ceil(physicians / 10), or None when the department's size is not known."""
        if self.physicians is None:
            return None
        return math.ceil(self.physicians / PHYSICIANS_PER_SUPPORTER)


def _looks_alike(a: str, b: str) -> bool:
    if difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR:
        return True
    wa, wb = a.split(), b.split()
    return len(wa) > 1 and len(wb) > 1 and wa[-1] == wb[-1] and wa[0][0] == wb[0][0]


def propose(nominees: list[Nominee], decided: set[frozenset[str]]) -> list[tuple[str, str]]:
    """Return (variant, kept) pairs of spellings that look like one person: the less nominated into the more."""
    found = []
    for i, a in enumerate(nominees):
        for b in nominees[i + 1:]:
            if frozenset((a.key, b.key)) in decided or not _looks_alike(a.key, b.key):
                continue
            found.append((b.key, a.key))  # nominees are in rank order: b has no more nominations than a
    return found


def _rank(nominees: list[Nominee], to_invite: int | None) -> None:
    nominees.sort(key=lambda n: (-n.nominations, n.name))
    counts = Counter(n.nominations for n in nominees)
    for nominee in nominees:
        nominee.rank = next(i for i, n in enumerate(nominees, start=1) if n.nominations == nominee.nominations)
        nominee.tied = counts[nominee.nominations] > 1
        if to_invite is None:
            continue
        above = sum(1 for n in nominees if n.nominations > nominee.nominations)
        if above + counts[nominee.nominations] <= to_invite:
            nominee.invite = "yes"
        elif above >= to_invite:
            nominee.invite = "no"
        else:
            nominee.invite = "tied at the cut"


def tally(ballots: Iterable[tuple[str, list[str]]], merges: Mapping[str, str] | None = None,
          physicians: Mapping[str, int] | None = None, physicians_from: str = "no roster or invitations",
          kept_apart: Iterable[tuple[str, str]] = ()) -> list[DepartmentTally]:
    """Count *ballots* ((department, names) per response) into one tally per department, in department order.

    *merges* maps a normalised spelling to the one it is merged into; *kept_apart* names pairs the team decided
    are different people, so they are not proposed again.
    """
    merges = merges or {}
    decided = {frozenset((normalise(a), normalise(b))) for a, b in kept_apart}
    decided |= {frozenset(pair) for pair in merges.items()}
    counts: dict[str, Counter[str]] = {}
    spellings: dict[str, dict[str, Counter[str]]] = {}
    voters: Counter[str] = Counter()
    for department, names in ballots:
        keys: dict[str, str] = {}
        for name in names:
            if not name or not normalise(name):
                continue
            key = normalise(name)
            # The normalised spelling, never the typed one: an idiosyncratic spelling could point to its writer.
            keys.setdefault(merges.get(key, key), key)
        if not keys:
            continue
        voters[department] += 1
        dept_counts = counts.setdefault(department, Counter())
        dept_spellings = spellings.setdefault(department, {})
        for key, spelled in keys.items():
            dept_counts[key] += 1
            dept_spellings.setdefault(key, Counter())[spelled] += 1
    tallies = []
    for department in sorted(set(counts) | set(physicians or {})):
        dept = DepartmentTally(department, voters.get(department, 0), physicians_from=physicians_from)
        if physicians is not None and department in physicians:
            dept.physicians = physicians[department]
        for key, n in counts.get(department, Counter()).items():
            forms = spellings[department][key]
            dept.nominees.append(Nominee(key, _display(key), n, sorted(forms)))
        _rank(dept.nominees, dept.to_invite)
        dept.proposals = propose(dept.nominees, decided)
        tallies.append(dept)
    return tallies


def rows(tallies: list[DepartmentTally]) -> list[list[object]]:
    """Return the tally as table rows (HEADER's columns), nominees in rank order within each department."""
    out: list[list[object]] = []
    for dept in tallies:
        physicians: object = dept.physicians if dept.physicians is not None else f"not known ({dept.physicians_from})"
        to_invite: object = dept.to_invite if dept.to_invite is not None else "not known"
        if not dept.nominees:
            out.append([dept.department, None, "(no nominations)", 0, "", "", physicians, to_invite])
        for n in dept.nominees:
            rank = f"{n.rank}=" if n.tied else n.rank
            out.append([dept.department, rank, n.name, n.nominations, n.invite, "; ".join(n.spellings),
                        physicians, to_invite])
    return out


def write_tally_csv(path: str | os.PathLike[str], tallies: list[DepartmentTally]) -> None:
    """Write the tally to *path* as CSV (atomically, through the one CSV writer)."""
    write_rows(path, HEADER, rows(tallies))


def write_tally_workbook(path: str | os.PathLike[str], tallies: list[DepartmentTally], note: str) -> None:
    """Write the tally to *path* as an .xlsx workbook: one sheet, a note first (atomically)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .tabular.cells import styled, xlsx_value
    from .tabular.saving import discard, save_atomically

    wb = Workbook(write_only=True)
    try:
        ws = wb.create_sheet("Nominations")
        ws.append([styled(ws, "Nomination tally", Font(bold=True, size=13))])
        ws.append([styled(ws, note, Font(italic=True))])
        ws.append([styled(ws, h, Font(bold=True)) for h in HEADER])
        for row in rows(tallies):
            ws.append([xlsx_value(ws, v) for v in row])
    except BaseException:
        discard(wb)
        raise
    save_atomically(wb, path)
