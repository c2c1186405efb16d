"""What an import reports: each problem with its place, and the whole import's outcome."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..tabular.csvwrite import CsvWriter

MAX_LISTED = 20


class ImportFailed(ValueError):
    """The file has bad rows and nothing was imported; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        tail = f"\n... and {more} more (--report FILE lists them all)" if more > 0 else ""
        super().__init__(f"nothing imported: {len(problems)} problem{'s' * (len(problems) != 1)}\n{shown}{tail}")


@dataclass(frozen=True)
class Problem:
    """One thing the report lists: where, which question, what, and what was done about it."""

    where: str
    what: str
    question: str = ""
    action: str = "row skipped"
    line: int | None = None

    def __str__(self) -> str:
        about = f": question '{self.question}'" if self.question else ""
        return f"{self.where}{about}: {self.what}"


@dataclass
class ImportReport:
    """What an import did: rows imported, rows skipped and why, columns and answers dropped."""

    source: str
    imported: int = 0
    skipped: list[Problem] = field(default_factory=list)
    left_out: list[Problem] = field(default_factory=list)
    dropped_columns: list[tuple[str, str]] = field(default_factory=list)
    dropped_answers: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    layout: str = ""
    as_other: list[Problem] = field(default_factory=list)  # texts stored as Other, one per cell

    def other_summary(self) -> list[tuple[str, str, str, int]]:
        """Return every text stored as Other with its count: (question, column, text, count), most frequent first."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for p in self.as_other:
            column = p.where.partition(", ")[2]
            counts[(p.question, column, p.what)] += 1
        return [(q, c, t, n) for (q, c, t), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][2]))]

    @property
    def skipped_rows(self) -> int:
        """Return how many rows were skipped as invalid."""
        return len({p.line for p in self.skipped})

    def write(self, path: str | Path) -> None:
        """Write the report as CSV: one line per skipped row problem, dropped column or dropped answer."""
        with Path(path).open("w", encoding="utf-8-sig", newline="") as out:
            writer = CsvWriter(out)
            writer.writerow(["where", "question", "what", "action"])
            writer.writerow([self.source, "", f"{self.imported} responses imported", "summary"])
            for header, reason in self.dropped_columns:
                writer.writerow([f"column '{header}'", "", reason, "column dropped"])
            if self.layout:
                writer.writerow([self.source, "", f"read as: {self.layout}", "note"])
            for note in self.notes:
                writer.writerow([self.source, "", note, "note"])
            for question, column, text, count in self.other_summary():
                writer.writerow([f"{self.source}, {column}", question, f"{text!r} x{count}", "stored as Other"])
            for p in [*self.left_out, *self.skipped, *self.dropped_answers]:
                writer.writerow([p.where, p.question, p.what, p.action])
