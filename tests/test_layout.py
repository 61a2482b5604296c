"""The layout's promises (docs/architecture.md): no module imports another that imports it back,
no import hides in a function body to dodge one, and a test module imports helper modules, never
another test module or a conftest. The layers themselves are import-linter's contracts
(``make check``)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "teams", "playbooks", "transform")
# Django wants these in AppConfig.ready(): the models must be loaded before they are imported.
READY_IMPORTS = {"transform/apps.py"}


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES)
    edges = nx.DiGraph(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
    )

    assert list(nx.simple_cycles(edges)) == []


def test_project_modules_import_at_the_top_only() -> None:
    inside_functions = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or relative in READY_IMPORTS:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.Import | ast.ImportFrom) and _is_project(inner):
                            inside_functions.append(f"{relative}:{inner.lineno}")

    assert inside_functions == []


def _is_project(node: ast.Import | ast.ImportFrom) -> bool:
    names = (
        [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    )
    return any(name.split(".")[0] in PACKAGES for name in names)


def test_test_modules_import_helpers_not_other_tests() -> None:
    borrowed = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                last = node.module.split(".")[-1]
                if node.module.startswith("tests.") and (
                    last.startswith("test_") or last == "conftest"
                ):
                    borrowed.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")

    assert borrowed == []
