"""Respondent pages in the respondent's language: the catalogues, the choice of language, no English in a
Spanish survey on any page or error state, translations in instruments validated, one column per question."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from lxml import html as lxml_html
from test_respond import stored

from instrument import InvalidInstrument, load_instrument, parse_instrument
from instrument.messages import Message
from instrument.model import Instrument
from surveyapp.languages import say, use

from conftest import INSTRUMENTS, make_instruments_app
from respondent import Respondent

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "surveyapp" / "translations"
SPANISH_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Message": None}
# The shipped instruments that carry Spanish (each is walked in Spanish below).
# The PFI stays English: its wording is licensed, and a validated translation needs its own permission.
SPANISH_INSTRUMENTS = ["department-survey", "nomination", "interaction-record", "supporter-training"]


def _spanish() -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    with SPANISH_PO.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale="es") if m.id}


def extracted_msgids() -> set[str]:
    """Return every message id the source marks for translation, read afresh (what `make messages` extracts)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def untranslated(msgids: set[str], catalogue: dict[str | tuple[str, ...], str | tuple[str, ...]]) -> list[str]:
    """Return the msgids that *catalogue* leaves without a translation (any plural form empty counts)."""
    singular = {(k[0] if isinstance(k, tuple) else k): v for k, v in catalogue.items()}
    missing = []
    for msgid in sorted(msgids):
        translation = singular.get(msgid)
        forms = translation if isinstance(translation, tuple) else (translation,)
        if not all(forms):
            missing.append(msgid)
    return missing


def test_every_message_of_the_source_is_translated_in_spanish() -> None:
    msgids = extracted_msgids()
    assert {"Page %(position)s of %(total)s", "(required)", "Other, please specify", "Continue", "Yes",
            "This question needs an answer.", "Enter a number of at most %(max)s."} <= msgids
    assert untranslated(msgids, _spanish()) == []


def test_an_untranslated_message_is_found() -> None:
    # The control: the check above reports a message the catalogue lacks, and one left empty.
    catalogue = _spanish()
    catalogue["Continue"] = ""
    assert untranslated(extracted_msgids() | {"A sentence nobody translated."}, catalogue) == [
        "A sentence nobody translated.", "Continue"]


def test_the_compiled_catalogue_is_the_po_compiled() -> None:
    # The .mo is checked in (served as is from a clean clone or a wheel); `make messages` rebuilds it.
    with SPANISH_PO.open("rb") as handle:
        catalogue = read_po(handle, locale="es")
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert (SPANISH_PO.with_suffix(".mo")).read_bytes() == compiled.getvalue(), "run `make messages`"


# --- What counts as English on a Spanish page -------------------------------------------------------------------

COMMON_ENGLISH = re.compile(r"\b(the|your|you|this|that|please|with|what|which|answers?|page|choose|enter|"
                            r"question|survey|continue|submit|back)\b", re.IGNORECASE)


def _texts(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def english_patterns(instrument: Instrument) -> list[re.Pattern[str]]:
    """Return patterns for every English text a Spanish page must not show: the catalogue's msgids (figures as
    wildcards) and the instrument's English texts, leaving out those that read the same in Spanish ("No")."""
    patterns: list[re.Pattern[str]] = []
    for msgid, translation in _spanish().items():
        for english in _texts(msgid):
            if english.strip() and english not in _texts(translation) and english.strip() not in {"and", "or"}:
                parts = re.split(r"%\(\w+\)s", english.strip())
                patterns.append(re.compile(r".{1,200}?".join(re.escape(p) for p in parts)))
    # English the catalogue does not know (a string someone forgot to mark): its commonest words.
    patterns.append(COMMON_ENGLISH)
    spanish = instrument.in_language("es")
    for text in sorted(set(_instrument_texts(instrument)) - set(_instrument_texts(spanish))):
        for line in text.splitlines():
            if line.strip():
                patterns.append(re.compile(re.escape(line.strip())))
    return patterns


def _instrument_texts(inst: Instrument) -> list[str]:
    texts = [inst.title, inst.intro, inst.consent, inst.thanks]
    for section in inst.sections:
        texts += [section.title, section.intro]
        for q in section.questions:
            texts += [q.text, q.help, q.unit, *(o.label for o in q.choices), *(i.text for i in q.items)]
    return [t for t in texts if t]


def visible_texts(page: str, language: str = "es") -> list[str]:
    """Return what a reader sees or hears of *page*: text, the title, labels read aloud, button words after
    the script runs; leaving out what is marked as another language (the language links name themselves)."""
    tree = lxml_html.fromstring(page)
    for other in tree.xpath("//body//*[@lang]"):
        if other.get("lang") != language:
            other.drop_tree()
    for dropped in tree.xpath("//script | //style"):
        dropped.drop_tree()
    texts = [" ".join(t.split()) for t in tree.xpath("//title//text() | //body//text()")]
    for attribute in ("aria-label", "title", "alt", "placeholder", "data-more", "data-last"):
        texts += tree.xpath(f"//body//@{attribute}")
    texts += tree.xpath("//body//input[@type='submit']/@value")
    return [t for t in texts if t.strip()]


def english_on(page: str, patterns: list[re.Pattern[str]]) -> list[str]:
    """Return the English found on *page*, each as the visible text that holds it."""
    return sorted({t for t in visible_texts(page) for p in patterns if p.search(t)})


def assert_spanish(page: str, patterns: list[re.Pattern[str]], where: str) -> None:
    tree = lxml_html.fromstring(page)
    assert tree.get("lang") == "es", where
    assert english_on(page, patterns) == [], where


@pytest.fixture
def department() -> Instrument:
    return load_instrument(INSTRUMENTS / "department-survey.yaml")


def test_the_english_finder_finds_english(department: Instrument) -> None:
    # The control of the walk below: English pages, a Spanish page with one English button, both are caught.
    patterns = english_patterns(department)
    english = ('<html lang="es"><title>Sobre usted</title><body><h1>About you</h1>'
               '<p>Page 1 of 5</p><span>(required)</span><button>Continuar</button></body></html>')
    assert english_on(english, patterns) == ["(required)", "About you", "Page 1 of 5"]
    one_button = '<html lang="es"><body><p>Página 1 de 5</p><button data-last="Submit my answers">x</button></body>'
    assert english_on(one_button, patterns) == ["Submit my answers"]
    assert english_on('<html lang="es"><body><p>Página 1 de 5</p><a lang="en">English</a></body>', patterns) == []
    unmarked = '<html lang="es"><body><p>(The CSRF token is missing.)</p><p>Gracias por su interés.</p></body>'
    assert english_on(unmarked, patterns) == ["(The CSRF token is missing.)"]


# --- Walking the surveys in Spanish ------------------------------------------------------------------------------

def open_survey(runner, instrument: str, slug: str, *extra: str) -> str:
    result = runner.invoke(args=["surveys", "create", instrument, "--id", slug, *extra])
    assert result.exit_code == 0, result.output
    return slug


class Spanish(Respondent):
    """A respondent whose browser asks for Spanish first; every page is checked on the way."""

    def __init__(self, client, slug: str, patterns: list[re.Pattern[str]]) -> None:
        super().__init__(client, slug)
        self.patterns = patterns
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-ES,es;q=0.9,en;q=0.5"

    @classmethod
    def begin(cls, client, runner, instrument: str, slug: str) -> Spanish:
        """Open a survey of the shipped *instrument*, check its intro page, start it; return the respondent."""
        open_survey(runner, instrument, slug)
        r = cls(client, slug, english_patterns(load_instrument(INSTRUMENTS / f"{instrument}.yaml")))
        assert_spanish(client.get(f"/s/{slug}").text, r.patterns, f"{instrument}: intro")
        r.start()
        r.check(f"{instrument}: first page")
        return r

    def check(self, where: str) -> None:
        assert self.page is not None
        assert_spanish(self.page.text, self.patterns, where)

    def refused(self, data: dict, expected: str) -> None:
        """Send the page with *data*, which it refuses with *expected* (Spanish); check the refused page."""
        section = self.section
        self.answer(data)
        assert self.section == section and expected in self.page.text, self.page.text
        assert "Hay un problema con sus respuestas" in self.page.text
        self.check(f"{section}, refused with {expected}")


def test_department_survey_in_spanish_every_page_and_error(app, client, runner) -> None:
    r = Spanish.begin(client, runner, "department-survey", "dept")
    intro = client.get("/s/dept")
    assert "Equipo de Apoyo entre Pares" in intro.text and "Antes de empezar" in intro.text
    r.start()  # again: resumes the same answer sheet
    assert r.section == "about_you" and "Página 1 de 6" in r.page.text and "(obligatoria)" in r.page.text
    r.check("about_you")
    r.refused({}, "Esta pregunta necesita una respuesta.")
    r.refused({"department": "nowhere"}, "Elija una de las opciones.")
    r.answer({"department": "icu", "gender": "woman"})
    assert r.section == "awareness" and "Sí" in r.page.text
    r.check("awareness")
    r.refused({}, "Esta pregunta necesita una respuesta.")
    r.answer({"aware": "yes"})
    r.check("program_use")
    r.refused({"referred_colleague": "yes"}, "Esta pregunta necesita una respuesta.")
    r.answer({"interaction": "had"})
    assert r.section == "interactions" and "Muy útil" in r.page.text
    r.check("interactions")
    r.refused({"helpfulness": "9"}, "Elija un punto de la escala.")
    r.answer({"interaction_count": "two", "helpfulness": "4"})
    assert r.section == "opinion" and "Muy de acuerdo" in r.page.text and "Otro (especifique)" in r.page.text
    r.check("opinion")
    r.refused({"barriers": ["time", "other"]}, "Indique qué es «Otro».")
    r.refused({"barriers": ["time", "bogus"]}, "Elija entre las opciones que se muestran.")
    r.answer({"department_impact": "5", "barriers": ["time", "other"], "barriers__other": "guardias"})
    assert r.section == "comments" and "Enviar mis respuestas" in r.page.text
    r.check("comments")
    # Too long to ride in the cookie: refused at once (422) rather than through a redirect.
    too_long = r.answer({"benefits_text": "á" * 4001})
    assert too_long.status_code == 422 and "Escriba menos de 4.000 caracteres (ahora hay 4.001)" in too_long.text
    r.check("comments, too long")
    r.answer({"benefits_text": "Me ayudó mucho."}, action="back")
    assert r.section == "opinion"
    r.check("opinion, back")
    r.answer({"department_impact": "5", "barriers": ["time"]})
    thanks = r.answer({"benefits_text": "Me ayudó mucho."})
    assert "Gracias por sus respuestas" in thanks.text
    r.check("thanks")
    [response] = stored(app)
    assert response.answers["language"] == "es" and response.answers["barriers"] == ["time"]


def test_nomination_in_spanish(app, client, runner) -> None:
    r = Spanish.begin(client, runner, "nomination", "nom")
    r.refused({}, "Esta pregunta necesita una respuesta.")
    r.refused({"nominee_1": "Ana", "qualities": ["other"]}, "Indique qué es «Otro».")
    r.refused({"nominee_1": "x" * 121}, "Escriba menos de 120 caracteres (ahora hay 121)")
    thanks = r.answer({"nominee_1": "Ana Pérez", "qualities": ["listener"]})
    r.check("thanks")
    assert thanks.request.path.endswith("/thanks")
    assert stored(app)[0].answers["language"] == "es"


def test_interaction_record_in_spanish_dates_and_numbers(app, client, runner) -> None:
    r = Spanish.begin(client, runner, "interaction-record", "rec")
    assert "minutos" in r.page.text
    good = {"interaction_date": "2024-05-02", "department": "em", "contact": "first"}
    r.refused({**good, "interaction_date": "2 de mayo"}, "Escriba la fecha como AAAA-MM-DD.")
    r.refused({**good, "interaction_date": "1900-01-01"},
              "Escriba una fecha entre el 1 de enero de 1990 y el 31 de diciembre de 2100.")
    r.refused({**good, "length_minutes": "media hora"}, "Escriba un número entero.")
    r.refused({**good, "length_minutes": "5"}, "Escriba un número igual o mayor que 10.")
    r.refused({**good, "length_minutes": "6000"}, "Escriba un número igual o menor que 600.")
    r.refused({**good, "department": ""}, "Esta pregunta necesita una respuesta.")
    r.answer({**good, "length_minutes": "45"})
    r.check("thanks")
    assert stored(app)[0].answers["language"] == "es"


def test_supporter_training_in_spanish_matrix(app, client, runner) -> None:
    r = Spanish.begin(client, runner, "supporter-training", "train")
    assert "Muy de acuerdo" in r.page.text and "Excelente" in r.page.text
    r.refused({}, "Esta pregunta necesita una respuesta.")
    r.refused({"overall_rating": "5", "confidence__role": "7"}, "Elija un punto de la escala para cada afirmación.")
    r.answer({"overall_rating": "5", "confidence__role": "4"})
    r.check("your_words")
    r.answer({"department": "icu"}, action="back")
    r.check("overall, back")
    r.answer({"overall_rating": "4"})
    r.answer({"department": "icu"})
    r.check("thanks")


@pytest.mark.parametrize("instrument", SPANISH_INSTRUMENTS)
def test_shipped_instruments_in_spanish_have_every_text(instrument: str) -> None:
    inst = load_instrument(INSTRUMENTS / f"{instrument}.yaml")
    assert inst.languages == ("en", "es")
    english, spanish = _instrument_texts(inst), _instrument_texts(inst.in_language("es"))
    assert len(english) == len(spanish) and english != spanish


def spanish_browser(client, instrument: Instrument) -> list[re.Pattern[str]]:
    """Make *client* ask for Spanish first; return the English that the pages of *instrument* must not show."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    return english_patterns(instrument)


def spanish_page(client, url: str, status: int, expected: str, patterns: list[re.Pattern[str]],
                 post: bool = False) -> None:
    """Check that *url* answers *status* in Spanish, saying *expected* and no English."""
    page = client.post(url, data={}) if post else client.get(url)
    assert page.status_code == status and expected in page.text, (url, page.status_code)
    assert_spanish(page.text, patterns, url)


def test_closed_and_not_yet_open_pages_in_spanish(app, client, runner, department) -> None:
    patterns = spanish_browser(client, department)
    open_survey(runner, "department-survey", "later", "--opens", "2099-03-05")
    spanish_page(client, "/s/later", 410, "5 de marzo de 2099", patterns)
    open_survey(runner, "department-survey", "over")
    assert runner.invoke(args=["surveys", "close", "over"]).exit_code == 0
    spanish_page(client, "/s/over", 410, "Esta encuesta está cerrada", patterns)


def test_invitation_landing_pages_in_spanish(app, client, runner, department) -> None:
    patterns = spanish_browser(client, department)
    open_survey(runner, "department-survey", "invited", "--mode", "invitation")
    spanish_page(client, "/s/invited", 403, "Esta encuesta es solo por invitación", patterns)
    spanish_page(client, "/i/not-a-token", 404, "Este enlace no funciona", patterns)
    spanish_page(client, "/s/invited/start", 400, "Esta página ha caducado", patterns, post=True)
    spanish_page(client, "/s/nada-aqui", 404, "No hay ninguna encuesta en esta dirección", patterns)


# --- Choosing the language -----------------------------------------------------------------------------------------

def _lang(page: str) -> str:
    return lxml_html.fromstring(page).get("lang")


def test_accept_language_picks_among_the_instruments_languages(app, client, runner) -> None:
    open_survey(runner, "department-survey", "dept")
    open_survey(runner, "pfi", "english-only")
    for header, expected in [("es-MX,es;q=0.9,en;q=0.5", "es"), ("es", "es"), ("fr,de;q=0.8", "en"),
                             ("en-GB,es;q=0.5", "en"), ("es-AR", "es"), ("*", "en"), ("", "en")]:
        page = client.get("/s/dept", headers={"Accept-Language": header})
        assert _lang(page.text) == expected, header
    assert "Accept-Language" in page.headers["Vary"]
    # An instrument in English only is in English whatever the browser prefers, and offers no choice.
    page = client.get("/s/english-only", headers={"Accept-Language": "es"})
    assert _lang(page.text) == "en" and 'class="languages"' not in page.text


def test_the_chosen_language_lasts_through_the_survey(app, client, runner) -> None:
    slug = open_survey(runner, "department-survey", "dept")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    intro = client.get(f"/s/{slug}")
    links = lxml_html.fromstring(intro.text).xpath("//nav[@class='languages']//a")
    assert [(a.get("lang"), a.text_content()) for a in links] == [("en", "English")]
    assert "Español" in intro.text  # the current language, named in itself, not a link
    chosen = client.get(links[0].get("href"))
    assert _lang(chosen.text) == "en" and "Before you start" in chosen.text
    r = Respondent(client, slug)
    r.start()
    assert _lang(r.page.text) == "en" and "Page 1 of 6" in r.page.text
    r.answer({"department": "em"})
    assert _lang(r.page.text) == "en" and "Yes" in r.page.text
    r.answer({"aware": "no"})
    [response] = stored(app)
    assert response.answers["language"] == "en"
    # A language the instrument does not have is ignored.
    assert _lang(client.get(f"/s/{slug}?lang=fr").text) == "en"


def test_english_pages_stay_english(app, client, runner) -> None:
    slug = open_survey(runner, "department-survey", "dept")
    r = Respondent(client, slug)
    r.start()
    assert _lang(r.page.text) == "en" and "Page 1 of 6" in r.page.text and "(required)" in r.page.text


# --- Translations in instrument files --------------------------------------------------------------------------

BILINGUAL = """\
id: bilingual
version: 1
languages: [en, es]
title: {en: Two languages, es: Dos idiomas}
sections:
  - id: only
    title: {en: The page, es: La página}
    questions:
      - id: colour
        type: single_choice
        text: {en: Your colour?, es: ¿Su color?}
        choices:
          - {code: red, label: {en: Red, es: Rojo}}
      - id: count
        type: number
        max: 1000
        text: {en: How many?, es: ¿Cuántos?}
"""


EVERY_TYPE = BILINGUAL + """\
      - id: why
        type: text
        text: {en: Why red?, es: ¿Por qué rojo?}
        show_if: {question: colour, equals: red}
      - id: order
        type: ranking
        max_ranks: 2
        text: {en: Rank them, es: Ordénelos}
        choices:
          - {code: a, label: {en: Apples, es: Manzanas}}
          - {code: b, label: {en: Pears, es: Peras}}
          - {code: c, label: {en: Plums, es: Ciruelas}}
"""


@pytest.fixture
def every_type_app(database_url, tmp_path):
    application = make_instruments_app(database_url, tmp_path, {"bilingual.yaml": EVERY_TYPE})
    yield application
    application.extensions["surveykit.engine"].dispose()


def test_ranking_numbers_and_conditions_in_spanish(every_type_app) -> None:
    client, runner = every_type_app.test_client(), every_type_app.test_cli_runner()
    slug = open_survey(runner, "bilingual", "bi")
    r = Spanish(client, slug, english_patterns(parse_instrument(EVERY_TYPE, "bilingual.yaml")))
    r.start()
    page = r.page.text
    assert "1.ª opción" in page and "2.ª opción" in page and "Elija hasta 2, empezando por su primera opción." in page
    assert "Solo si respondió “Rojo” a “¿Su color?”." in page and "(ninguna)" in page
    r.check("the page")
    r.refused({"count": "1001"}, "Escriba un número igual o menor que 1.000.")
    r.refused({"count": "cien"}, "Escriba un número.")
    r.refused({"order__rank1": "a", "order__rank2": "a"}, "Ordene cada opción una sola vez como máximo.")
    r.refused({"order__rank2": "a"}, "Rellene los puestos en orden desde la 1.ª opción, sin dejar huecos.")
    r.answer({"colour": "red", "why": "Me gusta", "count": "3", "order__rank1": "b"})
    r.check("thanks")


def test_a_bilingual_instrument_reads_each_language() -> None:
    inst = parse_instrument(BILINGUAL, "bilingual.yaml")
    spanish = inst.in_language("es")
    assert (inst.language, spanish.language) == ("en", "es")
    assert spanish.title == "Dos idiomas" and spanish.question("colour").choices[0].label == "Rojo"
    assert inst.question("colour").text == "Your colour?" and inst.sha256 == spanish.sha256
    assert [q.id for q in inst.questions] == ["colour", "count", "language"]


@pytest.mark.parametrize(("change", "error"), [
    (("es: ¿Su color?", "fr: Votre couleur ?"),
     "bilingual.yaml:11: question 'colour': 'text' has a text in 'fr', which is not one of the instrument's "
     "languages (en, es)"),
    (("{en: Your colour?, es: ¿Su color?}", "{en: Your colour?}"),
     "bilingual.yaml:11: question 'colour': 'text' has no 'es' translation"),
    (("{en: How many?, es: ¿Cuántos?}", "How many?"),
     "bilingual.yaml:17: question 'count': 'text' has no 'es' translation (give one text per language: "
     "text: {en: ..., es: ...})"),
    (("{code: red, label: {en: Red, es: Rojo}}", "{code: red, label: {en: Red}}"),
     "bilingual.yaml:13: question 'colour': 'label' has no 'es' translation"),
    (("{code: red, label: {en: Red, es: Rojo}}", "Red"),
     "bilingual.yaml:12: question 'colour': choice 'Red' has no 'es' translation (write {code: ..., "
     "label: {en: ..., es: ...}})"),
    (("title: {en: The page, es: La página}", "title: {es: La página}"),
     "bilingual.yaml:7: 'title' has no 'en' translation"),
    (("languages: [en, es]", "languages: [es]"), "bilingual.yaml:3: 'languages' must include the instrument's "
     "language 'en'"),
    (("languages: [en, es]", "languages: [en, es]\nlanguage: english"),
     "bilingual.yaml:4: language 'english' is not a BCP 47 tag such as en, es or pt-BR"),
    (("id: count", "id: language"), "bilingual.yaml:14: question 'language': the id 'language' is kept for the "
     "built-in question recording the language each response was given in"),
])
def test_a_missing_translation_names_file_line_and_language(change: tuple[str, str], error: str) -> None:
    with pytest.raises(InvalidInstrument) as caught:
        parse_instrument(BILINGUAL.replace(*change), "bilingual.yaml")
    assert str(caught.value) == error


def test_every_shipped_department_text_missing_in_spanish_is_named(tmp_path: Path) -> None:
    text = (INSTRUMENTS / "department-survey.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "department-survey.yaml"
    broken.write_text(text.replace('es: "¿Qué dificulta el uso de POST?"', "fr: Qu'est-ce qui gêne ?"),
                      encoding="utf-8")
    with pytest.raises(InvalidInstrument, match=r"department-survey\.yaml:\d+: question 'barriers_text': 'text' "
                                                r"has a text in 'fr'"):
        load_instrument(broken)


# --- Exports -------------------------------------------------------------------------------------------------------

def test_export_has_one_column_per_question_and_the_language(app, client, runner, tmp_path) -> None:
    slug = open_survey(runner, "department-survey", "dept")
    for header, department in [("es", "icu"), ("en", "em")]:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = header
        client.delete_cookie("session")
        r = Respondent(client, slug)
        r.start()
        r.answer({"department": department})
        r.answer({"aware": "no"})
    out = tmp_path / "dept.csv"
    result = runner.invoke(args=["export", slug, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    header = rows[0]
    assert header.count("department") == 1 and header.count("aware") == 1 and header[-1] == "language"
    assert not any(h.endswith((".es", ".en")) or "_es" in h for h in header)
    cells = {row[header.index("department")]: row for row in rows[1:]}
    assert {d: (row[header.index("aware")], row[header.index("language")]) for d, row in cells.items()} == {
        "icu": ("no", "es"), "em": ("no", "en")}


def test_a_refused_page_keeps_its_message_through_the_redirect(app, client, runner) -> None:
    # The message rides in the cookie as a msgid with its figures, and is said in the page's language.
    slug = open_survey(runner, "nomination", "nom")
    r = Respondent(client, slug)
    r.start()
    r.answer({"nominee_1": "x" * 121})
    assert "Keep this under 120 characters (now 121)." in r.page.text
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    again = client.get(r.page.request.path)
    assert "Escriba menos de 120 caracteres (ahora hay 121)." in again.text


def test_numbers_and_messages_are_formatted_for_the_language(app) -> None:
    message = Message("Enter a number of at most %(max)s.", max=12345.5)
    with app.test_request_context():
        use("es")
        assert say(message) == "Escriba un número igual o menor que 12.345,5."
        assert say(Message("Enter a date from %(first)s to %(last)s.", first="1990-01-01", last="2100-12-31")) \
            == "Escriba una fecha entre el 1 de enero de 1990 y el 31 de diciembre de 2100."
        use("en")
        assert say(message) == "Enter a number of at most 12,345.5."
        assert str(message) == "Enter a number of at most 12345.5."  # the library's own text, unformatted
