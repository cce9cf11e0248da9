"""Rules import-linter cannot express (widgets, heavy imports, cycles); docs that match the tree."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from tests.import_graph import cycles, describe, import_edges, module_names

ROOT = Path(__file__).resolve().parents[1] / "studio"
HEAVY = ("torch", "diffusers", "transformers")


def imports(path: Path, top_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def sources(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("path", sources("document", "session", "worker"), ids=str)
def test_no_widgets_below_the_ui(path):
    bad = [n for n in imports(path, False) if n.startswith("PySide6.QtWidgets")]
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", sources("engine", "io", "training"), ids=str)
def test_no_qt_in_engine_io_training(path):
    bad = [n for n in imports(path, False) if n.split(".")[0] == "PySide6"]
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=str)
def test_heavy_libraries_only_under_engine_and_training(path):
    found = [n for n in imports(path, False) if n.split(".")[0] in HEAVY]
    if found:
        package = path.relative_to(ROOT).parts[0]
        assert package in ("engine", "training"), f"{path} imports {found}"


def heavy_modules() -> set[str]:
    """Modules that import torch, diffusers or transformers at module level."""
    return {
        name
        for name, path in module_names(ROOT).items()
        if any(n.split(".")[0] in HEAVY for n in imports(path, True))
    }


def test_heavy_modules_are_imported_only_inside_functions():
    """The libraries load when a job needs them, never when the window opens: a module that
    imports them at module level (a network's nn.Module classes) is imported at module level
    only by another such module, and by everyone else inside a function."""
    heavy = heavy_modules()
    eager = [
        f"{edge.source} imports {edge.target} at module level (line {edge.line})"
        for edge in import_edges(ROOT)
        if not edge.lazy and edge.target in heavy and edge.source not in heavy
    ]
    assert not eager, "\n".join(eager)


def test_the_heavy_module_check_finds_an_eager_import(tmp_path, monkeypatch):
    package = tmp_path / "studio"
    (package / "engine").mkdir(parents=True)
    for init in (package / "__init__.py", package / "engine" / "__init__.py"):
        init.write_text("")
    (package / "engine" / "net.py").write_text("import torch\n")
    (package / "engine" / "light.py").write_text("def run():\n    from studio.engine import net\n")
    (package / "engine" / "front.py").write_text("from studio.engine import net\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", package)
    assert heavy_modules() == {"studio.engine.net"}
    with pytest.raises(AssertionError, match="studio.engine.front imports studio.engine.net"):
        test_heavy_modules_are_imported_only_inside_functions()


def test_no_import_cycles_in_studio():
    """No module of studio/ imports itself through others, counting imports inside functions.

    Imports under `if TYPE_CHECKING:` never run and are not counted: an undo command may name
    the Document it edits in a type hint while the Document module imports the commands.
    """
    found = [describe(loop) for loop in cycles(import_edges(ROOT))]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_cycle_check_finds_a_cycle_through_a_lazy_import(tmp_path):
    package = tmp_path / "toy"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("")
    (package / "a.py").write_text("import os\n\n\ndef late():\n    from toy.inner import b\n")
    (package / "inner" / "b.py").write_text("from .c import VALUE\n")
    (package / "inner" / "c.py").write_text("from toy import a\n\nVALUE = 1\n")
    (package / "d.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from toy import e\n"
    )
    (package / "e.py").write_text("import toy.d\n")

    found = cycles(import_edges(package))

    assert [describe(loop) for loop in found] == [
        "toy.a -> toy.inner.b (toy.a line 5, lazy) -> toy.inner.c (toy.inner.b line 1)"
        " -> toy.a (toy.inner.c line 1)"
    ]


def test_the_app_window_module_does_not_load_torch():
    import subprocess
    import sys

    code = (
        "import sys, studio.app.main, studio.app.cli; "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.strip()
    assert out == "[]"


REPO = ROOT.parent
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".sh", ".txt", ".yaml"}
CITED_OUTSIDE = re.compile(r"/work/|\.\./shared|\b[\w-]+\.md \u00a7")  # "/work/…", "notes.md §2"


def test_comments_and_docs_cite_only_the_repository():
    """A reader of a clone has only the clone: no machine paths, no sections of outside notes."""
    folders = ("studio", "tests", "benchmarks", "resources", "models", "installer")
    files = [REPO / "README.md", REPO / "pyproject.toml"]
    files += [p for f in folders for p in (REPO / f).rglob("*") if p.suffix in TEXT_SUFFIXES]
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        if path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CITED_OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)


DOCS = ("README.md", "ARCHITECTURE.md")
TOP_FOLDERS = ("studio", "tests", "benchmarks", "models", "resources", "installer", ".ci")
QUOTED = re.compile(r"`([^`\n]+)`")


def mentioned(doc: str) -> list[str]:
    """Paths (`studio/…`, `tests/…`) and dotted names (`studio.engine.router`) quoted in `doc`."""
    text = (REPO / doc).read_text(encoding="utf-8")
    blocks = text.split("```")[1::2]  # fenced blocks: a line's first word may be a path
    words = [q.split()[0] for q in QUOTED.findall(text)]  # `x.py --out DIR` names the script
    words += [line.split()[0] for block in blocks for line in block.splitlines() if line.strip()]
    found = []
    for word in (w.rstrip(".,;:") for w in words):
        if any(mark in word for mark in "<*…{"):
            continue  # a pattern (`studio/engine/<name>/`), not a path
        is_path = "/" in word and word.split("/")[0] in TOP_FOLDERS
        if is_path or re.fullmatch(r"studio(\.\w+)+", word):
            found.append(word)
    return found


def missing(name: str) -> str | None:
    """Why `name` is not in the tree, or None: a path must exist; a dotted name must be a module
    or a top-level class, function or constant of one."""
    if "/" in name:
        return None if (REPO / name).exists() else "no such file or folder"
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        base = REPO.joinpath(*parts[:end])
        module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if module.is_file():
            rest = parts[end:]
            if not rest:
                return None
            names = top_level_names(module)
            return None if rest[0] in names else f"{module.relative_to(REPO)} defines no {rest[0]}"
    return "no such module"


def top_level_names(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize("doc", DOCS)
def test_the_docs_name_only_files_and_modules_that_exist(doc):
    """Every `studio/…`, `tests/…` path and `studio.…` name the docs quote is in the tree."""
    names = mentioned(doc)
    assert len(names) >= 10, f"{doc} quotes only {names}: is the pattern still right?"
    wrong = [f"`{name}`: {why}" for name in names if (why := missing(name))]
    assert not wrong, f"{doc} names what the tree does not have:\n" + "\n".join(wrong)


def test_the_docs_check_finds_a_missing_path_and_a_missing_name():
    assert missing("studio/engine/router.py") is None
    assert missing("studio/engine/no_such_module.py") == "no such file or folder"
    assert missing("studio.units.format_bytes") is None
    assert missing("studio.units.format_kilobytes") == "studio/units.py defines no format_kilobytes"
    assert missing("studio.no_such_module") == "studio/__init__.py defines no no_such_module"
    assert missing("stdio.units") == "no such module"


def test_the_readme_layout_names_every_package():
    packages = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
    named = set(mentioned("README.md"))
    unnamed = [p for p in packages if f"studio/{p}/" not in named]
    assert not unnamed, f"README.md's Layout does not name {unnamed}"


def test_architecture_md_places_every_package_and_engine_module():
    """A new package, or a new module at the engine's root, must find its place in the map."""
    named = set(mentioned("ARCHITECTURE.md"))
    packages = [p for p in ROOT.rglob("__init__.py") if len(p.relative_to(ROOT).parts) <= 3]
    wanted = [f"{p.parent.relative_to(ROOT.parent).as_posix()}/" for p in packages]
    wanted += [p.relative_to(ROOT.parent).as_posix() for p in (ROOT / "engine").glob("*.py")]
    unplaced = [w for w in wanted if w not in named and w != "studio/engine/__init__.py"]
    assert not unplaced, f"ARCHITECTURE.md does not place {unplaced}"
