"""What the library says to a respondent, as gettext message ids the web edge translates.

The library stays free of Flask and of any catalogue: a message is its English text (the msgid, which is
also what it reads as when printed) plus the figures it names, and the edge looks the msgid up in the
respondent's language and formats the figures for it. ``pybabel extract`` finds these through the keywords
``N_`` and ``Message`` (babel.cfg).
"""

from __future__ import annotations

from typing import Any


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention for "mark for translation, translate later")
    """Return *msgid* unchanged: marks it for extraction into the catalogue."""
    return msgid


class Message(str):
    """An English message with named figures (``%(max)s``); reads as the English text, keeps its parts.

    A ``str`` so every caller that compares, stores or prints messages keeps working; the edge translates
    with :attr:`msgid` and :attr:`params`.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        """Make the message *msgid* with its figures *params*."""
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def parts(self) -> list[Any]:
        """Return ``[msgid, params]``: the message as JSON (a refused page's errors ride in the cookie)."""
        return [self.msgid, self.params]


def as_message(value: str | list[Any]) -> str:
    """Return a message from :meth:`Message.parts` (or a plain msgid) read back from JSON."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        return Message(str(value[0]), **value[1])
    return str(value)
