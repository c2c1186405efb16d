"""Built-in answer scales and choice lists that instruments may name.

Their labels are the app's own words, not an instrument's: marked ``builtin`` and for extraction (``N_``),
the web edge shows them in the respondent's language from its gettext catalogue.
"""

from __future__ import annotations

from .messages import N_
from .model import Option, Scale


def _scale(sid: str, labels: list[str]) -> Scale:
    return Scale(sid, tuple(Option(str(i), label, builtin=True) for i, label in enumerate(labels, start=1)))


BUILTIN_SCALES: dict[str, Scale] = {
    s.id: s
    for s in (
        _scale("agreement", [N_("Strongly disagree"), N_("Disagree"), N_("Neither agree nor disagree"), N_("Agree"),
                             N_("Strongly agree")]),
        _scale("satisfaction", [N_("Very dissatisfied"), N_("Dissatisfied"), N_("Neither satisfied nor dissatisfied"),
                                N_("Satisfied"), N_("Very satisfied")]),
        _scale("helpfulness", [N_("Not at all helpful"), N_("Slightly helpful"), N_("Moderately helpful"),
                               N_("Very helpful"), N_("Extremely helpful")]),
        _scale("likelihood", [N_("Very unlikely"), N_("Unlikely"), N_("Neither likely nor unlikely"), N_("Likely"),
                              N_("Very likely")]),
        _scale("quality", [N_("Poor"), N_("Fair"), N_("Good"), N_("Very good"), N_("Excellent")]),
    )
}

BUILTIN_CHOICES: dict[str, tuple[Option, ...]] = {
    "yes_no": (Option("yes", N_("Yes"), builtin=True), Option("no", N_("No"), builtin=True)),
    "yes_no_unsure": (Option("yes", N_("Yes"), builtin=True), Option("no", N_("No"), builtin=True),
                      Option("unsure", N_("Not sure"), builtin=True)),
}
