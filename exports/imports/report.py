"""What an import reports: each problem with its place, and the whole import's outcome."""

from __future__ import annotations

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
            for note in self.notes:
                writer.writerow([self.source, "", note, "note"])
            for p in [*self.left_out, *self.skipped, *self.dropped_answers]:
                writer.writerow([p.where, p.question, p.what, p.action])
