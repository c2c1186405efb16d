"""The instrument pages at /admin/instruments: the list, the editor (upload or textarea), the preview.

A text with errors is shown again with every error beside it and nothing is stored; a valid one is kept as a
version saved in the browser (``surveys.save_instrument``), which the CLI and the new-survey page offer too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from instrument import Instrument, InvalidInstrument, parse_instrument
from instrument.yamlsource import MAX_CHARS

from ..auth.access import allowed
from ..db import get_session
from ..instrument_list import Offered, next_version, offered, stored_versions
from ..security import framable
from ..surveys import SurveyError, save_instrument
from .preview import preview

bp = Blueprint("instruments", __name__, url_prefix="/admin/instruments")

# How a text typed in the editor is named in its errors ("editor:8: question 'aware': ...").
EDITOR = "editor"
EXTENSIONS = (".yaml", ".yml")
STARTER = """\
id: my-survey
version: 1
title: My survey
sections:
  - id: first
    title: About you
    questions:
      - id: aware
        type: single_choice
        text: Have you heard of the service?
        choices: yes_no
        required: true
      - id: how
        type: text
        text: How did you hear of it?
        show_if: {question: aware, equals: "yes"}
"""


def _offer() -> Offered:
    return offered(get_session(), Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"]), lambda p: p.name)


def _current(instrument_id: str) -> tuple[Offered, Instrument]:
    offer = _offer()
    inst = offer.shelf.find(instrument_id)
    if inst is None:
        abort(404, f"There is no instrument '{instrument_id}' that can be served.")
    return offer, inst


@bp.get("/")
@allowed("instruments")
def index() -> Any:
    """List every instrument (the folder's and those saved here) with its stored versions."""
    offer = _offer()
    versions = stored_versions(get_session())
    offered_ids = {i.id for i in offer.shelf.instruments}
    return render_template("admin/instruments.html", offer=offer, versions=versions,
                           retired=sorted(set(versions) - offered_ids))


def _lines_of(errors: tuple[str, ...] | list[str], text: str) -> list[tuple[str, int, str]]:
    """Pair each error with its line number and that line of *text* (0 and '' when it names none)."""
    lines = text.splitlines()
    paired = []
    for error in errors:
        found = re.match(r"[^:\n]*:(\d+):", error)
        number = int(found.group(1)) if found else 0
        paired.append((error, number, lines[number - 1] if 0 < number <= len(lines) else ""))
    return paired


def _editor(text: str, *, errors: tuple[str, ...] | list[str] = (), instrument_id: str = "",
            status: int = 200) -> Any:
    return render_template("admin/instrument_edit.html", text=text, errors=_lines_of(errors, text),
                           instrument_id=instrument_id, extensions=", ".join(EXTENSIONS)), status


@bp.get("/new")
@allowed("instruments")
def new() -> Any:
    """Show the editor with a small example to start from."""
    return _editor(STARTER)


@bp.get("/<instrument_id>")
@allowed("instruments")
def edit(instrument_id: str) -> Any:
    """Show the editor holding the instrument's current text, with its preview."""
    offer, inst = _current(instrument_id)
    return _editor(offer.text_of(inst), instrument_id=inst.id)


def _submitted() -> tuple[str, str, str]:
    """Return the text sent (an uploaded file, else the textarea), the name its errors use, and a refusal."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        name = Path(upload.filename.replace("\\", "/")).name or "upload"
        if not name.lower().endswith(EXTENSIONS):
            return "", name, f"{name}: an instrument is a {' or '.join(EXTENSIONS)} file; nothing was saved"
        data = upload.read(MAX_CHARS + 1)
        upload.close()  # a large upload is a temporary file: closed now, not when the collector gets to it
        if len(data) > MAX_CHARS:
            return "", name, f"{name}: larger than {MAX_CHARS:,} bytes, the limit for an instrument; nothing was saved"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            return "", name, (f"{name}:{line}: not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8 and "
                              "upload it again; nothing was saved")
        return text.replace("\r\n", "\n"), name, ""
    # Browsers send a textarea's lines with CRLF; the text is kept (and hashed) as typed, with plain newlines.
    return request.form.get("source", "").replace("\r\n", "\n"), EDITOR, ""


@bp.post("/")  # the list and the saving share one address: no GET of "/save" to fall to an instrument
@allowed("instruments")
def save() -> Any:
    """Keep a valid text as a new version; show every error of an invalid one and store nothing."""
    text, source, refused = _submitted()
    if refused:
        return _editor(text, errors=[refused], status=422)
    db = get_session()
    try:
        row = save_instrument(db, text, source)
    except InvalidInstrument as exc:
        db.rollback()
        return _editor(text, errors=exc.errors, status=422)
    except SurveyError as exc:
        db.rollback()
        inst = parse_instrument(text, source)
        wanted = next_version(db, _offer(), inst.id)
        return _editor(text, instrument_id=inst.id, status=409, errors=[
            f"{exc}. Nothing was saved: change 'version: {inst.version}' to 'version: {wanted}' and save again."])
    db.commit()
    flash(f"Saved '{row.instrument_id}' version {row.version}: new surveys of it can use it.", "info")
    return redirect(url_for("instruments.edit", instrument_id=row.instrument_id))


@bp.route("/preview", methods=["GET", "POST"])
@allowed("instruments")
@framable
def preview_text() -> Any:
    """Show the respondent's pages of the text sent (not saved), page by page; store nothing."""
    if request.method == "GET":
        return render_template("admin/preview_empty.html")
    text, source, refused = _submitted()
    errors: tuple[str, ...] | list[str] = [refused] if refused else []
    if not refused:
        try:
            inst = parse_instrument(text, source)
        except InvalidInstrument as exc:
            errors = exc.errors
    if errors:
        return render_template("admin/preview_errors.html", errors=errors), 422
    return preview(inst, request.form, url_for("instruments.preview_text"), {"source": text})


@bp.route("/<instrument_id>/preview", methods=["GET", "POST"])
@allowed("instruments")
@framable
def preview_current(instrument_id: str) -> Any:
    """Show the respondent's pages of the instrument's current version, page by page; store nothing."""
    _, inst = _current(instrument_id)
    form = request.form if request.method == "POST" else {}
    return preview(inst, form, url_for("instruments.preview_current", instrument_id=inst.id), {})
