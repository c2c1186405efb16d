"""Built-in answer scales and choice lists that instruments may name."""

from __future__ import annotations

from .model import Option, Scale


def _scale(sid: str, labels: list[str]) -> Scale:
    return Scale(sid, tuple(Option(str(i), label) for i, label in enumerate(labels, start=1)))


BUILTIN_SCALES: dict[str, Scale] = {
    s.id: s
    for s in (
        _scale("agreement", ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree",
                             "Strongly agree"]),
        _scale("satisfaction", ["Very dissatisfied", "Dissatisfied", "Neither satisfied nor dissatisfied",
                                "Satisfied", "Very satisfied"]),
        _scale("helpfulness", ["Not at all helpful", "Slightly helpful", "Moderately helpful", "Very helpful",
                               "Extremely helpful"]),
        _scale("likelihood", ["Very unlikely", "Unlikely", "Neither likely nor unlikely", "Likely",
                              "Very likely"]),
        _scale("quality", ["Poor", "Fair", "Good", "Very good", "Excellent"]),
    )
}

BUILTIN_CHOICES: dict[str, tuple[Option, ...]] = {
    "yes_no": (Option("yes", "Yes"), Option("no", "No")),
    "yes_no_unsure": (Option("yes", "Yes"), Option("no", "No"), Option("unsure", "Not sure")),
}
