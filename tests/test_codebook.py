"""Codebook YAML and REFI-QDA .qdc import/export."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from coding.codebook.files import convert, load_codebook, save_codebook
from coding.codebook.model import Code, Codebook, path_guid
from coding.codebook.qdc import codebook_from_qdc, codebook_to_qdc, describe, parse_description
from coding.codebook.yamlfile import codebook_from_yaml, codebook_to_yaml, read_yaml
from coding.errors import InvalidCodebook

from conftest import CODEBOOK_XSD

DATA = Path(__file__).parent / "data" / "coding"
NS = {"q": "urn:QDA-XML:codebook:1.0"}


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(CODEBOOK_XSD)))


@pytest.fixture
def book() -> Codebook:
    return read_yaml(DATA / "codebook.yaml")


def flatten(book: Codebook) -> list[tuple]:
    return [(path, c.guid, c.definition, c.use_when, c.not_when, c.example, c.color, c.retired)
            for path, c in book.walk()]


def test_reads_hierarchy_and_fields(book):
    assert book.name == "Empathy training study"
    assert [path for path, _ in book.walk()] == [
        "Effectiveness", "Effectiveness/Perspective taking", "Effectiveness/Perspective taking/Family view",
        "Effectiveness/Compassion", "Barriers", "Barriers/Time", "Barriers/Staffing",
    ]
    code = book.find("Effectiveness/Perspective taking")
    assert code.not_when == "Only mentions feeling sorry: use Compassion."
    assert code.color == "#AEC7E8"
    assert book.find("Effectiveness").definition.splitlines()[1] == "Covers both praise and criticism."
    assert book.find("Effectiveness/Compassion").retired
    assert book.parent_guid(code.guid) == book.find("Effectiveness").guid
    assert book.parent_guid(book.find("Barriers").guid) is None
    with pytest.raises(KeyError):
        book.find("Effectiveness/Nope")


def test_guids_without_ids_are_derived_from_the_path_and_stable(book):
    again = read_yaml(DATA / "codebook.yaml")
    assert [c.guid for _, c in book.walk()] == [c.guid for _, c in again.walk()]
    assert book.find("Barriers/Time").guid == path_guid("Barriers/Time")
    assert len({c.guid for _, c in book.walk()}) == 7


def test_new_codes_get_random_guids():
    assert Code(name="A").guid != Code(name="A").guid


def test_qdc_export_validates_against_the_refi_schema(book, schema):
    document = etree.fromstring(codebook_to_qdc(book))
    schema.assertValid(document)
    first = document.find("q:Codes/q:Code", NS)
    assert first.get("isCodable") == "true"
    assert first.get("color") == "#1F77B4"
    assert [child.tag.split("}")[1] for child in first][0] == "Description"


def test_qdc_without_sets_has_no_sets_element(book, schema):
    document = etree.fromstring(codebook_to_qdc(book))
    assert document.find("q:Sets", NS) is None
    assert not document.xpath("//q:Sets", namespaces=NS)


def test_minimal_codebook_validates(schema):
    minimal = Codebook(name="m", codes=[Code(name="Only")])
    schema.assertValid(etree.fromstring(codebook_to_qdc(minimal)))


def test_empty_codebook_cannot_be_exported():
    with pytest.raises(ValueError, match="at least one code"):
        codebook_to_qdc(Codebook(name="empty"))


def test_yaml_qdc_yaml_round_trip_keeps_everything(tmp_path, book):
    qdc_path = tmp_path / "empathy.qdc"
    convert(DATA / "codebook.yaml", qdc_path)
    yaml_path = tmp_path / "back.yaml"
    convert(qdc_path, yaml_path)
    back = read_yaml(yaml_path)
    assert flatten(back) == flatten(book)
    # And the YAML we write reads back identically, guids included.
    assert flatten(codebook_from_yaml(codebook_to_yaml(back))) == flatten(book)


def test_random_guids_survive_round_trips(tmp_path, schema):
    book = Codebook(name="fresh", codes=[Code(name="A", children=[Code(name="B", color="#00ff00")])])
    save_codebook(book, tmp_path / "a.qdc")
    schema.assertValid(etree.parse(str(tmp_path / "a.qdc")))
    save_codebook(load_codebook(tmp_path / "a.qdc"), tmp_path / "a.yaml")
    back = load_codebook(tmp_path / "a.yaml")
    assert [c.guid for _, c in back.walk()] == [c.guid for _, c in book.walk()]
    assert back.find("A/B").color == "#00ff00"


@pytest.mark.parametrize(
    "texts",
    [
        {"definition": "One line."},
        {"definition": "Two\nlines", "example": "Example: looks like a label\n  indented"},
        {"use_when": "Only this", "not_when": "Status: retired (not really)"},
        {"definition": "a", "use_when": "b", "not_when": "c", "example": "d"},
    ],
)
@pytest.mark.parametrize("retired", [False, True])
def test_description_round_trips(texts, retired):
    code = Code(name="X", retired=retired, **texts)
    parsed, parsed_retired = parse_description(describe(code))
    assert parsed == {key: texts.get(key, "") for key in ("definition", "use_when", "not_when", "example")}
    assert parsed_retired == retired


def test_foreign_qdc_description_becomes_the_definition():
    data = b"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="Other QDA">
  <Codes>
    <Code guid="{8B1A1A2E-0D7C-4E2F-9A4B-2C1D3E4F5A6B}" name="Trust" isCodable="true" color="#f80">
      <Description>Plain text written in another program.
  Indented second line.</Description>
      <Code guid="0B1A1A2E-0D7C-4E2F-9A4B-2C1D3E4F5A6B" name="Distrust" isCodable="false"/>
    </Code>
  </Codes>
</CodeBook>"""
    book = codebook_from_qdc(data, source="other.qdc")
    trust = book.find("Trust")
    assert book.name == "other"
    assert trust.guid == "{8B1A1A2E-0D7C-4E2F-9A4B-2C1D3E4F5A6B}"
    assert trust.definition == "Plain text written in another program.\n  Indented second line."
    assert trust.color == "#ff8800"  # short form expanded, case kept
    assert book.find("Trust/Distrust").definition == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<CodeBook", "not well-formed XML"),
        (b'<CodeBook xmlns="urn:other"><Codes/></CodeBook>', "expected CodeBook in urn:QDA-XML:codebook:1.0"),
        (b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code name="A" isCodable="true"/></Codes>'
         b"</CodeBook>", "code 'A': Code needs both 'name' and 'guid'"),
    ],
)
def test_bad_qdc_names_the_file(data, message):
    with pytest.raises(InvalidCodebook, match=message) as info:
        codebook_from_qdc(data, source="bad.qdc")
    assert str(info.value).startswith("bad.qdc")


BAD_YAML = [
    ("codes:\n  - name: A\n    colour: '#FFFFFF'\n", 3, "code 'A': unknown key 'colour'"),
    ("codes:\n  - name: A\n    children:\n      - name: B\n        color: red\n", 5,
     "code 'A/B': colour 'red' is not #RRGGBB"),
    ("codes:\n  - name: A\n    color: #FFFFFF\n", 3, "code 'A': empty colour; quote it"),
    ("codes:\n  - name: A\n    children:\n      - name: B\n      - name: C\n      - name: B\n", 6,
     "code 'A/B': duplicate name among siblings (first on line 4)"),
    ("codes:\n  - name: A\n  - definition: no name\n", 3, "code '#2': missing or empty 'name'"),
    ("codes:\n  - name: A/B\n", 2, "code 'A/B': '/' separates levels"),
    ("codes:\n  - name: A\n    retired: maybe\n", 3, "code 'A': 'retired' must be true or false"),
    ("codes:\n  - name: A\n    guid: 1234\n", 3, "code 'A': guid 1234 is not a GUID"),
    ("codes:\n  - name: A\n    definition: [x]\n", 3, "code 'A': 'definition' must be text"),
    ("codes:\n  - name: A\n    name: B\n", 3, "duplicate key 'name'"),
    ("codes:\n  - name: A\n   bad indent: x\n", 3, ""),
    ("title: x\ncodes: []\n", 1, "unknown key 'title'"),
    ("codes: {name: A}\n", 1, "'codes' must be a list of codes"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_YAML)
def test_bad_yaml_errors_carry_file_line_and_code_path(tmp_path, text, line, message):
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidCodebook) as info:
        read_yaml(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)
    assert info.value.line == line


def test_duplicate_guids_are_rejected():
    text = ("codes:\n  - name: A\n    guid: 0B1A1A2E-0D7C-4E2F-9A4B-2C1D3E4F5A6B\n"
            "  - name: B\n    guid: '{0b1a1a2e-0d7c-4e2f-9a4b-2c1d3e4f5a6b}'\n")
    with pytest.raises(InvalidCodebook, match="code 'B': guid .* already used by 'A'"):
        codebook_from_yaml(text, "cb.yaml")


def test_yaml_is_loaded_safely():
    with pytest.raises(InvalidCodebook):
        codebook_from_yaml("codes: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(InvalidCodebook, match="unsupported codebook type '.json'"):
        convert(DATA / "codebook.yaml", tmp_path / "out.json")
