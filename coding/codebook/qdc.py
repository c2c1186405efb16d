"""REFI-QDA codebook exchange (.qdc, QDA-XML 1.0, namespace urn:QDA-XML:codebook:1.0).

QDA-XML gives a code only a name, a colour and one free-text Description, so the four codebook texts are
written as labelled paragraphs that read well in other QDA software and parse back exactly::

    Definition: What the code means
    Use when: When to apply it
      (continuation lines of a multi-line text are indented by two spaces)
    Not when: When not to apply it
    Example: A typical answer
    Status: retired

A Description without labels (from another program) becomes the definition. QDA-XML has no codebook name,
so the name is the file name on import. Sets are never written: an empty ``<Sets/>`` is invalid (Taguette's
bug) and surveykit has no code sets.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from os import PathLike
from pathlib import Path

from coding.codebook.model import Code, Codebook
from coding.errors import InvalidCodebook

NAMESPACE = "urn:QDA-XML:codebook:1.0"
_NS = f"{{{NAMESPACE}}}"
LABELS = {"definition": "Definition", "use_when": "Use when", "not_when": "Not when", "example": "Example"}
_RETIRED_LINE = "Status: retired"
_LABEL_RE = re.compile(rf"^({'|'.join(re.escape(v) for v in LABELS.values())}|Status):(?: (.*))?$")
_COLOR3 = re.compile(r"#([0-9A-Fa-f])([0-9A-Fa-f])([0-9A-Fa-f])")
_COLOR6 = re.compile(r"#[0-9A-Fa-f]{6}")
# Write the codebook namespace as the default one (no ns0: prefixes).
ET.register_namespace("", NAMESPACE)


def describe(code: Code) -> str:
    """Return the Description text for a code (labelled paragraphs; empty when there is nothing to say)."""
    lines = []
    for key, label in LABELS.items():
        value: str = getattr(code, key)
        if value:
            first, *rest = value.split("\n")
            lines.append(f"{label}: {first}")
            lines.extend(f"  {line}" for line in rest)
    if code.retired:
        lines.append(_RETIRED_LINE)
    return "\n".join(lines)


def parse_description(text: str) -> tuple[dict[str, str], bool]:
    """Split a Description back into the four texts and the retired flag."""
    fields: dict[str, list[str]] = {key: [] for key in LABELS}
    by_label = {label: key for key, label in LABELS.items()}
    current = "definition"
    retired = False
    unlabelled_first = True
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _LABEL_RE.match(line)
        if match and match.group(1) == "Status":
            retired = retired or (match.group(2) or "").strip().lower() == "retired"
            continue
        if match:
            current = by_label[match.group(1)]
            fields[current] = [match.group(2) or ""]
            unlabelled_first = False
            continue
        # Our continuation lines carry a two-space indent; foreign text is taken as it is.
        fields[current].append(line[2:] if line.startswith("  ") and not unlabelled_first else line)
    return {key: "\n".join(value).strip() for key, value in fields.items()}, retired


def codebook_to_qdc(book: Codebook, origin: str = "surveykit") -> bytes:
    """Serialise a codebook as QDA-XML 1.0 codebook bytes (UTF-8)."""
    if not book.codes:
        # The schema requires at least one Code inside Codes.
        raise ValueError("a REFI-QDA codebook needs at least one code")
    root = ET.Element(f"{_NS}CodeBook", {"origin": origin})
    codes = ET.SubElement(root, f"{_NS}Codes")

    def add(parent: ET.Element, code: Code) -> None:
        attrs = {"guid": code.guid, "name": code.name, "isCodable": "true"}
        if code.color:
            attrs["color"] = code.color
        element = ET.SubElement(parent, f"{_NS}Code", attrs)
        # The schema wants Description before any child Code.
        description = describe(code)
        if description:
            ET.SubElement(element, f"{_NS}Description").text = description
        for child in code.children:
            add(element, child)

    for code in book.codes:
        add(codes, code)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def codebook_from_qdc(
    data: bytes, source: str | PathLike[str] = "<qdc>", name: str | None = None
) -> Codebook:
    """Parse QDA-XML codebook bytes; raise InvalidCodebook naming the file and code path on bad input."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise InvalidCodebook(source, e.position[0], f"not well-formed XML: {e}") from e
    if root.tag != f"{_NS}CodeBook":
        raise InvalidCodebook(source, None, f"root element is {root.tag!r}, expected CodeBook in {NAMESPACE}")
    codes_element = root.find(f"{_NS}Codes")
    if codes_element is None:
        raise InvalidCodebook(source, None, "no Codes element")

    def read(element: ET.Element, parent_path: str) -> Code:
        code_name = (element.get("name") or "").strip()
        path = f"{parent_path}/{code_name}" if parent_path else code_name
        where = f"code {path or '(unnamed)'!r}"
        guid = element.get("guid")
        if not code_name or not guid:
            raise InvalidCodebook(source, None, "Code needs both 'name' and 'guid'", where=where)
        color = element.get("color")
        if color and (short := _COLOR3.fullmatch(color)):
            color = "#" + "".join(2 * c for c in short.groups())
        if color and not _COLOR6.fullmatch(color):
            raise InvalidCodebook(source, None, f"colour {color!r} is not #RRGGBB", where=where)
        description = element.find(f"{_NS}Description")
        texts, retired = parse_description((description.text or "") if description is not None else "")
        children = [read(child, path) for child in element.findall(f"{_NS}Code")]
        return Code(
            name=code_name, guid=guid, color=color or None, retired=retired, children=children, **texts
        )

    codes = [read(element, "") for element in codes_element.findall(f"{_NS}Code")]
    return Codebook(name=name or Path(str(source)).stem, codes=codes)


def write_qdc(book: Codebook, path: str | PathLike[str]) -> None:
    """Write a codebook as a REFI-QDA .qdc file."""
    Path(path).write_bytes(codebook_to_qdc(book))


def read_qdc(path: str | PathLike[str]) -> Codebook:
    """Read a REFI-QDA .qdc codebook file."""
    return codebook_from_qdc(Path(path).read_bytes(), source=path)
