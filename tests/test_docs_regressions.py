"""docs/web-regressions.md names, for every problem issue 17 listed, the tests that stop it coming
back: each named test module and test function must exist, so the page cannot drift into naming
tests that were renamed or removed."""

from __future__ import annotations

import ast
import re

from tests.builders import REPO_ROOT

DOC = REPO_ROOT / "docs" / "web-regressions.md"
REFERENCE = re.compile(r"`((?:[\w/]+\.py)?)(?:::(\w+))?`")


def _references() -> list[tuple[str, str | None]]:
    """(test file under tests/, test name or None) for every reference in a table row; a bare
    ``::name`` belongs to the file named before it in the same row."""
    found: list[tuple[str, str | None]] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        current = ""
        for path, name in REFERENCE.findall(line):
            if path:
                current = path
            if current:
                found.append((current, name or None))
    return found


def _test_names(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / "tests" / path).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_the_page_names_tests_for_every_row() -> None:
    rows = [
        line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith("| What was seen")
    ]
    assert len(rows) >= 40
    assert all("test_" in row for row in rows)


def test_every_named_test_exists() -> None:
    missing = [
        f"{path}::{name}" if name else path
        for path, name in _references()
        if not (REPO_ROOT / "tests" / path).is_file()
        or (name is not None and name not in _test_names(path))
    ]
    assert sum(1 for _path, name in _references() if name) >= 60
    assert missing == []
