"""The respondent's language: which one a page is in, and the app's own words in it (Flask-Babel).

A respondent page picks its language among the instrument's (the one chosen on the intro page and kept in
the session cookie for this survey, else the browser's preferred one by Accept-Language, else the
instrument's own); the instrument's texts come from its copy in that language and the app's words from the
gettext catalogue in ``translations/``. Pages that are not a survey's (the investigators') stay English.

The catalogues are compiled ``.mo`` files checked in beside their ``.po`` (``make messages`` rebuilds both;
``tests/test_languages.py`` fails when a ``.mo`` is not the compiled ``.po``): nothing is written at start
and a clean clone, a wheel or a read-only install serves them as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations
from flask import Flask, Response, g, has_app_context, request, session
from flask_babel import Babel, format_date, format_decimal, get_translations, gettext, refresh
from jinja2.runtime import Context
from jinja2.utils import pass_context

from instrument import Instrument
from instrument.messages import N_, Message
from instrument.model import Option, Question, Section
from instrument.types.ranking import ordinal

TRANSLATIONS = Path(__file__).parent / "translations"
# The languages the app's own words are shipped in (English is the source: its msgids are the text).
APP_LANGUAGES = ("en", "es")
# The names of the HTTP errors a respondent may meet (werkzeug's, shown by errors/http.html), for extraction.
HTTP_NAMES = (N_("Bad Request"), N_("Forbidden"), N_("Not Found"), N_("Method Not Allowed"), N_("Gone"),
              N_("Request Entity Too Large"), N_("Internal Server Error"))
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COPIES: dict[tuple[str, str, str], Instrument] = {}
_COPIES_KEPT = 128
_TEXTS_KEPT = 4096  # the templates' translated texts kept per process (see _template_gettext)
_NUMBERS: dict[tuple[str, int], str] = {}  # small whole numbers formatted per language (see number)
_SMALL = 1000


def _locale() -> str:
    return babel_locale(g.get("language", "en"))


@lru_cache(maxsize=256)
def babel_locale(tag: str) -> str:
    """Return Babel's name for the BCP 47 *tag* (pt-BR -> pt_BR); English for one CLDR does not know."""
    try:
        return str(Locale.parse(tag, sep="-"))
    except (ValueError, UnknownLocaleError):
        return "en"


def init_app(app: Flask) -> None:
    """Set up Flask-Babel and the template helpers of the respondent's language."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=_locale)
    # The templates' _() and ngettext() with the request's catalogue looked up once, not at each call (Flask-Babel
    # finds the locale, its name and its catalogue anew for every string); use() drops it when the language changes.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True)
    # A page's _("...") without figures: the same text every time for one catalogue, so each is worked out once per
    # process (Jinja's newstyle gettext looks the text up, marks it safe and formats it anew at each call).
    newstyle: Callable[..., str] = app.jinja_env.globals["gettext"]  # type: ignore[assignment]
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _template_gettext(newstyle)
    app.add_template_filter(number)
    app.add_template_filter(day)
    app.add_template_filter(rank_choice)

    @app.after_request
    def vary(response: Response) -> Response:
        # A page in a negotiated language differs by Accept-Language: say so to any cache on the way.
        if "language" in g:
            response.vary.add("Accept-Language")
        return response

    @app.context_processor
    def page_language() -> dict[str, Any]:
        return {"page_language": g.get("language", "en"), "language_name": language_name,
                "survey_title": g.get("survey_title", "")}


def _template_gettext(newstyle: Callable[..., str]) -> Callable[..., str]:
    """Return the templates' gettext: Jinja's *newstyle* one, its result kept per catalogue when no figure is given."""
    kept: dict[tuple[int, str, bool], str] = {}
    # The catalogues this process has used (Flask-Babel keeps each for the life of the process): keeping them here
    # too means an id in *kept* can never name another catalogue.
    catalogues: dict[int, NullTranslations] = {}

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        if variables:
            return newstyle(context, string, **variables)
        catalogue = _catalogue()
        key = (id(catalogue), string, context.eval_ctx.autoescape)
        found = kept.get(key)
        if found is None:
            if len(kept) >= _TEXTS_KEPT:
                kept.clear()
                catalogues.clear()
            catalogues[id(catalogue)] = catalogue
            found = kept[key] = newstyle(context, string)
        return found

    return gettext


def _catalogue() -> NullTranslations:
    found = g.get("surveykit_catalogue")
    if found is None:
        found = g.surveykit_catalogue = get_translations()
    return found  # type: ignore[no-any-return]


def use(tag: str) -> None:
    """Serve the rest of this request in the language *tag*."""
    g.language = tag
    g.pop("surveykit_catalogue", None)
    refresh()


def use_browser_language() -> None:
    """Serve a page not tied to a survey in the browser's preferred language among the app's."""
    use(negotiate(APP_LANGUAGES) or "en")


def choose(inst: Instrument, slug: str, title: str) -> Instrument:
    """Pick the respondent's language for survey *slug*, use it for this request, and return *inst* in it.

    ``?lang=`` (the intro page's links) sets the choice; it is kept in the session cookie under the survey's
    slug, never with the answers. The survey's *title* is shown translated when it is the instrument's own.
    """
    key = f"lang:{slug}"
    asked = request.args.get("lang")
    if asked in inst.languages and len(inst.languages) > 1:
        session[key] = asked
    chosen = session.get(key)
    if chosen not in inst.languages:
        chosen = negotiate(inst.languages) or inst.language
    use(chosen)
    copy = localized(inst, chosen)
    g.survey_title = copy.title if title == inst.title else title
    return copy


def negotiate(offered: tuple[str, ...]) -> str | None:
    """Return the first of *offered* that the browser's Accept-Language prefers, or None.

    In the browser's order of preference, a tag matches exactly or by its language (en-GB takes en, es takes
    es-MX); werkzeug's ``best_match`` would prefer any exact match to a better-liked language's region.
    """
    for wanted, _quality in request.accept_languages:  # werkzeug sorts them by quality, best first
        for tag in offered:
            if tag.lower() == wanted.lower():
                return tag
        primary = wanted.lower().split("-")[0]
        for tag in offered:
            if tag.lower().split("-")[0] == primary:
                return tag
    return None


def localized(inst: Instrument, tag: str) -> Instrument:
    """Return *inst* in language *tag* with the built-in lists' labels and default thanks from the catalogue."""
    copy = inst.in_language(tag)
    if tag == "en":
        return copy
    key = (copy.sha256, copy.source, tag)
    found = _COPIES.get(key)
    if found is None:
        found = _translate_builtins(copy, Translations.load(str(TRANSLATIONS), [babel_locale(tag)]))
        if len(_COPIES) >= _COPIES_KEPT:
            _COPIES.clear()
        _COPIES[key] = found
    return found


def _translate_builtins(inst: Instrument, catalogue: NullTranslations) -> Instrument:
    def option(o: Option) -> Option:
        return dataclasses.replace(o, label=catalogue.gettext(o.label)) if o.builtin else o

    def question(q: Question) -> Question:
        if not any(o.builtin for o in q.choices):
            return q
        if q.scale is not None:
            scale = dataclasses.replace(q.scale, levels=tuple(option(o) for o in q.scale.levels))
            return dataclasses.replace(q, scale=scale)
        return dataclasses.replace(q, options=tuple(option(o) for o in q.options))

    sections = tuple(Section(s.id, s.title, tuple(question(q) for q in s.questions), s.intro) for s in inst.sections)
    thanks = catalogue.gettext(inst.thanks) if inst.thanks == Instrument.thanks else inst.thanks
    return dataclasses.replace(inst, sections=sections, thanks=thanks)


def say(message: str) -> str:
    """Return a library message (``instrument.messages``) in this request's language, figures formatted."""
    if isinstance(message, Message):
        return gettext(message.msgid, **{k: _figure(v) for k, v in message.params.items()})
    return gettext(message)


def _figure(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, str) and _ISO_DAY.match(value):
        return format_date(dt.date.fromisoformat(value), format="long")
    return value


def number(value: Any) -> str:
    """Format a number for the page's language (1,000 in English, 1.000 in Spanish)."""
    if type(value) is not int or not 0 <= value < _SMALL or not has_app_context():
        return str(format_decimal(value))
    # Every page shows "Page 2 of 5": small whole numbers are formatted once per language and process.
    key = (g.get("language", "en"), value)
    found = _NUMBERS.get(key)
    if found is None:
        if len(_NUMBERS) >= _TEXTS_KEPT:
            _NUMBERS.clear()
        found = _NUMBERS[key] = str(format_decimal(value))
    return found


def day(value: dt.date) -> str:
    """Format a day for the page's language (3 March 2027, 3 de marzo de 2027)."""
    return str(format_date(value, format="long"))


def rank_choice(rank: int) -> str:
    """Name a ranking's rank in the page's language: "1st choice" ("1.ª opción")."""
    # English ordinals need their suffix ("st", "nd", "rd", "th"); other catalogues leave it out (1.ª opción).
    figure = format_decimal(rank)
    return gettext("%(number)s%(suffix)s choice", number=figure, suffix=ordinal(rank)[len(str(rank)):])


def language_name(tag: str) -> str:
    """Return the language *tag* named in itself ("español"), for the language links; the tag if unknown."""
    try:
        name = Locale.parse(tag, sep="-").get_display_name(Locale.parse(tag, sep="-"))
    except (ValueError, UnknownLocaleError):
        return tag
    return (name or tag)[:1].upper() + (name or tag)[1:]
