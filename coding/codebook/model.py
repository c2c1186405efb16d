"""The codebook model: hierarchical codes (domain -> theme -> subtheme, any depth) with stable GUIDs.

Codes without a guid get a deterministic one, uuid5 of their path, so importing the same file twice gives the
same GUIDs; codes created in code get uuid4. Exports always write the guid, so it survives every round trip.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

# Fixed namespace for path-derived GUIDs; changing it would change every derived GUID.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://surveykit/codebook")
TEXT_FIELDS = ("definition", "use_when", "not_when", "example")
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")


def new_guid() -> str:
    """Return a fresh random GUID."""
    return str(uuid.uuid4())


def path_guid(path: str) -> str:
    """Return the deterministic GUID of a code path, for imports that carry none."""
    return str(uuid.uuid5(GUID_NAMESPACE, path))


@dataclass(kw_only=True)
class Code:
    """One code; ``children`` make the hierarchy."""

    name: str
    guid: str = field(default_factory=new_guid)
    definition: str = ""
    use_when: str = ""
    not_when: str = ""
    example: str = ""
    color: str | None = None
    retired: bool = False
    children: list[Code] = field(default_factory=list)


@dataclass(kw_only=True)
class Codebook:
    """A named tree of codes."""

    name: str
    codes: list[Code] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[str, Code]]:
        """Yield (path, code) for every code, parents before children."""
        stack = [(c.name, c) for c in reversed(self.codes)]
        while stack:
            path, code = stack.pop()
            yield path, code
            stack.extend((f"{path}/{child.name}", child) for child in reversed(code.children))

    def find(self, path: str) -> Code:
        """Return the code at a path such as "Domain/Theme"; raise KeyError if there is none."""
        for candidate, code in self.walk():
            if candidate == path:
                return code
        raise KeyError(path)

    def parent_guid(self, guid: str) -> str | None:
        """Return the GUID of a code's parent, None for a top-level code; raise KeyError if unknown."""
        for _, code in self.walk():
            if any(child.guid == guid for child in code.children):
                return code.guid
        if any(code.guid == guid for code in self.codes):
            return None
        raise KeyError(guid)
