"""Option parsers shared by the command groups."""

from __future__ import annotations

import datetime as dt

import click


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    """Read a YYYY-MM-DD option value (a click callback)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None
