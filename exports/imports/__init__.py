"""Import answers collected elsewhere (Microsoft Forms, Qualtrics, our own raw export): everything but the storing.

Every row is checked like a web submission: the mapped cells become the form a browser would have posted,
each section is parsed in order with the instrument's own validator (so skip logic applies, and answers to
questions the respondent would not have been shown are dropped and reported), then settled. A bad row is
reported with its line and column.

Columns are matched to questions by a mapping file, then by our raw-export headers (question ids), then by
question text. Columns that identify a respondent (names, e-mails, IP addresses, exact times, response ids,
locations, external references) are dropped and listed; other survey-tool bookkeeping (progress, duration,
language) is dropped too; any other column that matches no question stops the import, so no answers are
lost silently. The database side (one transaction, the day kept) is ``surveyapp.importing``.
"""

from .mapping import Mapping, Target, load_mapping, normalize, squash, target_of
from .plan import Plan, left_out, plan_columns, question_texts_row
from .report import ImportFailed, ImportReport, Problem
from .rows import CELLS, Form, check_row

__all__ = ["CELLS", "Form", "ImportFailed", "ImportReport", "Mapping", "Plan", "Problem", "Target", "check_row",
           "left_out", "load_mapping", "normalize", "plan_columns", "question_texts_row", "squash",
           "target_of"]
