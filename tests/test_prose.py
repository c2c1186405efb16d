"""Instrument prose as a Markdown subset: paragraphs without mid-sentence breaks, emphasis, safe links, lists;
no raw HTML and no script link ever reaches a respondent's page; the loader names a refused link."""

from __future__ import annotations

import json

import pytest
from lxml import html as lxml_html

from instrument.parser import InvalidInstrument, parse_instrument
from instrument.prose import refused_links, to_html

from conftest import make_test_app
from respondent import Respondent

WRAPPED = "Thank you for completing the training.\nThis survey takes\nabout 4 minutes.\n\nIt is anonymous.\n"

PAYLOADS = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '[t](https://example.org "x\\" onmouseover=\\"alert(1)")',
    "<a href='javascript:alert(1)'>x</a>",
]


def _instrument(intro: str, section_intro: str = "") -> str:
    # JSON strings are YAML strings.
    section = f"    intro: {json.dumps(section_intro)}\n" if section_intro else ""
    return (f"id: prose\nversion: 1\ntitle: Prose\nintro: {json.dumps(intro)}\nsections:\n  - id: only\n{section}"
            "    questions:\n      - {id: q, type: text, text: Anything?}\n")


def _links(fragment: str) -> list[str]:
    return [a.get("href") for a in lxml_html.fragment_fromstring(fragment, create_parent="div").iter("a")]


def test_wrapped_lines_are_one_paragraph_and_blank_lines_split():
    out = to_html(WRAPPED)
    assert "<br" not in out
    paragraphs = lxml_html.fragment_fromstring(out, create_parent="div").findall("p")
    assert [p.text_content() for p in paragraphs] == [
        "Thank you for completing the training. This survey takes about 4 minutes.", "It is anonymous."]
    # Two trailing spaces or a backslash would be a hard break in CommonMark: here too it is a space.
    assert "<br" not in to_html("one  \ntwo\\\nthree")


def test_emphasis_links_and_lists():
    out = to_html("Answer *honestly*, **please**.\n\n- first\n- second\n\n1. one\n2. two\n\n"
                  "See [the policy](https://example.org/policy) or <mailto:irb@example.org>.")
    tree = lxml_html.fragment_fromstring(out, create_parent="div")
    assert tree.findtext("p/em") == "honestly" and tree.findtext("p/strong") == "please"
    assert [li.text for li in tree.findall("ul/li")] == ["first", "second"]
    assert [li.text for li in tree.findall("ol/li")] == ["one", "two"]
    assert _links(out) == ["https://example.org/policy", "mailto:irb@example.org"]


def test_plain_text_stays_as_written():
    text = "p < 0.05 & R&D: 2 * 3 * 4, snake_case_id, [not a link], # not a heading\n> not a quote"
    tree = lxml_html.fragment_fromstring(to_html(text), create_parent="div")
    assert tree.text_content().strip() == text.replace("\n", " ")
    assert len(tree) == 1 and tree[0].tag == "p"
    assert refused_links(text) == []
    parse_instrument(_instrument(text, section_intro=text))  # the loader flags nothing in plain text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_raw_html_and_no_script_link(payload):
    out = to_html(f"Before {payload} after")
    tree = lxml_html.fragment_fromstring(out, create_parent="div")
    assert [e.tag for e in tree.iter()] in (["div", "p"], ["div", "p", "a"]), out
    assert all(href.startswith("https:") for href in _links(out)), out
    assert not any(name.startswith("on") for e in tree.iter() for name in e.attrib), out


def test_a_safe_link_is_a_link():
    # The control for the payloads above: the same syntax with an https target does become a link.
    assert _links(to_html("[click](https://example.org)")) == ["https://example.org"]
    assert _links(to_html("<https://example.org>")) == ["https://example.org"]


def test_loader_names_a_refused_link():
    with pytest.raises(InvalidInstrument) as error:
        parse_instrument(_instrument("Read [this](javascript:alert(1)) first."), "instruments/prose.yaml")
    assert str(error.value).startswith("instruments/prose.yaml:4: intro: the link to 'javascript:alert(1)'")
    with pytest.raises(InvalidInstrument, match=r"prose.yaml:7: section 'only' intro: the link to 'data:x'"):
        parse_instrument(_instrument("Fine.", section_intro="[x](data:x)"), "prose.yaml")
    with pytest.raises(InvalidInstrument, match="the link to 'vbscript:x'"):
        parse_instrument(_instrument("Steps:\n\n- one\n- *see [here](vbscript:x)*"))  # inside a list, emphasised
    parse_instrument(_instrument("Read [this](https://example.org) first."))


def test_respondent_pages_show_prose_as_paragraphs_and_no_payload(database_url, tmp_path):
    folder = tmp_path / "instruments"
    folder.mkdir()
    payloads = " ".join(p for p in PAYLOADS if not refused_links(p))  # the loader refuses the others
    (folder / "prose.yaml").write_text(_instrument(WRAPPED + "\n" + payloads, section_intro="*Page* one\nof one"))
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    try:
        runner = app.test_cli_runner()
        created = runner.invoke(args=["surveys", "create", "prose", "--id", "prose"])
        assert created.exit_code == 0, created.output
        respondent = Respondent(app.test_client(), "prose")
        intro = respondent.client.get("/s/prose").text
        page = respondent.start().text
    finally:
        app.extensions["surveykit.engine"].dispose()
    prose = lxml_html.fromstring(intro).find_class("prose")[0]
    assert prose.findtext("p") == "Thank you for completing the training. This survey takes about 4 minutes."
    assert prose.xpath(".//script | .//img | .//*[@onerror] | .//*[@onmouseover]") == []
    assert "<script>alert(1)</script>" in prose.text_content()  # shown as the text it is
    assert lxml_html.fromstring(page).find_class("prose")[0].xpath("string(p)") == "Page one of one"
    assert "<em>Page</em>" in page
