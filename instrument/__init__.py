"""Instruments: YAML survey definitions, parsed into plain data and checked answers.

This package imports neither Flask nor the database, so the CLI, the web pages and the importers share it.
"""

from .answers import condition_holds, is_shown, parse_section, settle, visible_sections
from .folder import Broken, Shelf, read_instruments
from .model import Condition, Cutoff, Instrument, Item, Option, Question, Scale, Score, ScoreItem, Section
from .parser import instrument_files, load_instrument, parse_instrument
from .qtype import QuestionType, UnsupportedType
from .scores import score_value, score_values
from .types import TYPES, question_type
from .yamlcheck import InvalidInstrument

__all__ = [
    "TYPES", "Broken", "Condition", "Cutoff", "Instrument", "InvalidInstrument", "Item", "Option", "Question",
    "QuestionType", "Scale", "Score", "ScoreItem", "Section", "Shelf", "UnsupportedType", "question_type",
    "read_instruments", "condition_holds", "instrument_files", "is_shown", "load_instrument", "parse_instrument",
    "parse_section", "score_value", "score_values", "settle", "visible_sections",
]
