"""The layout stays what ARCHITECTURE.md says: no import cycles, imports go one way, small modules, all documented.

These tests read the source as text (``ast``), so they see function-level imports too: a cycle hidden behind an
import inside a function is still a cycle for whoever reads or changes the code.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGES = ("surveyapp", "instrument", "coding", "exports")
# Which of our packages each one may import: the web edge uses the plain libraries, never the other way.
MAY_IMPORT = {
    "instrument": {"instrument"},
    "exports": {"exports", "instrument"},
    "coding": {"coding", "exports", "instrument"},
    "surveyapp": {"surveyapp", "coding", "exports", "instrument"},
}
LONG_MODULE_LINES = 400
LONG_REASON = "Over 400 lines because"
SKIP_DIRS = {"migrations", "__pycache__"}


def _module_files(root: Path = ROOT) -> dict[str, Path]:
    """Map every module name of our packages to its file (migrations are generated boilerplate, left out)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if SKIP_DIRS & set(path.relative_to(root).parts):
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Return, per module, the modules of ours it imports anywhere in its text (function bodies included)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node)
                # `from package import module` imports the module; `from module import name` the module itself.
                named = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in named:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path: Path):
    """Control: a cycle made of one top-level and one function-level import is found."""
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import x\n    return x\n")
    (tmp_path / "c.py").write_text("import a\n")
    modules = {p.stem: p for p in tmp_path.glob("*.py")}
    assert cycles(import_graph(modules)) == [["a", "b"]]


def test_no_import_cycles():
    found = cycles(import_graph(_module_files()))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_imports_go_one_way():
    wrong = []
    for name, targets in import_graph(_module_files()).items():
        allowed = MAY_IMPORT[name.split(".")[0]]
        wrong += [f"{name} -> {t}" for t in sorted(targets) if t.split(".")[0] not in allowed]
    assert not wrong, "imports against the layout: " + ", ".join(wrong)


def test_the_web_edge_and_the_cli_do_not_import_each_other():
    graph = import_graph(_module_files())
    commands = {m for m in graph if m.startswith("surveyapp.commands")}
    wrong = []
    for name, targets in graph.items():
        if name in commands:
            wrong += [f"{name} -> {t}" for t in targets if t not in commands and _is_web(t)]
        elif name != "surveyapp" and not name.startswith("surveyapp.cli"):
            wrong += [f"{name} -> {t}" for t in targets if t in commands]
    assert not wrong, ", ".join(sorted(wrong))


def _is_web(module: str) -> bool:
    """Say whether *module* holds views (a blueprint's routes)."""
    return module.endswith((".routes", ".views", "_routes")) or ".coding_web" in module


def test_modules_are_small_or_say_why():
    long = []
    for path in _module_files().values():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > LONG_MODULE_LINES and LONG_REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not long, f"modules over {LONG_MODULE_LINES} lines without '{LONG_REASON} …' in their docstring: {long}"


def undocumented(root: Path) -> list[str]:
    """Return the package folders (`coding/codebook/`) and modules (`rounds.py`) that ARCHITECTURE.md never names."""
    doc = (root / "ARCHITECTURE.md").read_text(encoding="utf-8")
    words = set(re.findall(r"[A-Za-z0-9_./-]+", doc))
    missing = []
    for path in _module_files(root).values():
        relative = path.relative_to(root)
        if path.name == "__init__.py":
            # The page has a section per top-level package, so `coding/codebook/` may be written `codebook/`.
            folder = f"{relative.parent.as_posix()}/"
            inner = "/".join(relative.parent.parts[1:]) + "/"
            if folder not in doc and f"`{inner}" not in doc:
                missing.append(folder)
        elif not ({relative.as_posix(), path.name, path.stem} & words):
            missing.append(relative.as_posix())
    return missing


def test_architecture_names_every_package_and_module():
    missing = undocumented(ROOT)
    assert not missing, f"ARCHITECTURE.md does not mention: {', '.join(missing)}"


def test_the_architecture_check_notices_what_is_not_named(tmp_path: Path):
    """Control: a module and a package folder that the page does not name are both reported."""
    (tmp_path / "ARCHITECTURE.md").write_text("`exports/` holds `stats.py`.\n")
    for relative in ("exports/__init__.py", "exports/stats.py", "exports/probe.py", "exports/sub/__init__.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("")
    for package in PACKAGES[:-1]:
        (tmp_path / package).mkdir(exist_ok=True)
    assert undocumented(tmp_path) == ["exports/probe.py", "exports/sub/"]


def test_importing_instrument_loads_no_flask_and_no_database():
    code = "import instrument, sys; assert 'flask' not in sys.modules and 'sqlalchemy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
