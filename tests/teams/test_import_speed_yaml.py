"""libyaml's fast read of YAML (``teams.importers.yamlread``) gives what the line-tracking loader
gives, and leaves to it everything it checks or reads in its own way."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest

from core.files.origin import ImportFailure
from core.files.yamlio import load_documents, read_text, to_plain
from teams.importers.reader import read_import_files
from teams.importers.yamlread import load_plain
from tests.builders import FIXTURES_DIR, REPO_ROOT

SCALARS = """\
# YAML 1.2: NO, on and yes stay texts; 012 is twelve; dates are dates.
texts: [NO, on, yes, Off, y, n, "quoted", 'single', "12", ~text, 12:30, 0x1G, 1e, .nan.x]
numbers: [0, 7, -7, +7, 012, 0o17, 0x1F, 1_000, 1.5, -0.5, 1e3, .inf, -.Inf, .NaN]
nulls: [~, null, Null, NULL, ]
empty:
bools: [true, True, TRUE, false, False, FALSE]
dates: [2026-01-05, 2026-01-05T10:20:30Z, 2026-1-5]
blocks:
  literal: |
    two
    lines
  folded: >-
    one
    line
anchored: &shared {key: value, list: [1, two]}
again: *shared
scalar_anchor: &seven 7
scalar_alias: *seven
nested: [[a, [b, [c]]], {d: {e: f}}]
"""


def plain(documents: list[Any] | None) -> list[tuple[int, int, Any]]:
    """Each document's number, first line and data, every value with its type."""
    assert documents is not None

    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: typed(item) for key, item in value.items()}
        if isinstance(value, list):
            return [typed(item) for item in value]
        return (type(value).__name__, repr(value))

    return [(doc.index, doc.start_line, typed(to_plain(doc.data))) for doc in documents]


def both(text: str) -> tuple[Any, Any]:
    text = textwrap.dedent(text)
    return plain(load_documents("x.yaml", text)), load_plain("x.yaml", text)


def test_scalars_of_every_kind_read_as_the_line_tracking_loader_reads_them():
    reference, fast = both(SCALARS)

    assert plain(fast) == reference
    [(_, _, data)] = reference
    assert data["texts"][0] == ("str", "'NO'")
    assert data["numbers"][4] == ("ScalarInt", "12")
    assert data["dates"][0] == ("date", repr(dt.date(2026, 1, 5)))


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES_DIR / "demo-org.yaml",
        FIXTURES_DIR / "example-org.yaml",
        *sorted((REPO_ROOT / "playbooks" / "library").glob("*.yaml")),
    ],
    ids=lambda path: path.name,
)
def test_the_projects_own_files_read_the_same(path: Path):
    text = read_text(path)

    assert plain(load_plain(str(path), text)) == plain(load_documents(str(path), text))


def test_several_documents_keep_their_numbers_and_first_lines():
    reference, fast = both("a: 1\n---\n\n# nothing\n---\n- x\n- y\n--- ~\n---\nb: [2]\n")

    assert plain(fast) == reference
    assert [(index, line) for index, line, _ in reference] == [(1, 1), (3, 6), (5, 10)]


@pytest.mark.parametrize(
    "text",
    [
        "a: !!str 1\n",  # explicit tags
        "a: !custom x\n",
        "%YAML 1.1\n---\na: yes\n",  # directives
        "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
        "a: 1\na: 2\n",  # a duplicate key
        "1: one\n",  # keys that are not plain texts
        "~: nothing\n",
        "[a, b]: list\n",
        "? {a: b}\n: map\n",
        "*x : alias\n",
        "base: &b {a: 1}\nmore:\n  <<: *b\n",  # a merge key
        "a: &a [1, *a]\n",  # an alias inside its own anchor
        "a: *nowhere\n",
        'a: "nul \\0 here"\n',
        "a: " + "1" * 101 + "\n",
        "a: b\x85c\n",  # a YAML 1.1 line break
        "a: [1, 2\n",  # syntax errors
        "a: b\n c: d\n",
        "\t- tab\n",
        "- " * 70 + "deep\n",
    ],
)
def test_what_the_line_tracking_loader_checks_or_reads_its_own_way_is_left_to_it(text: str):
    assert load_plain("x.yaml", text) is None


def test_an_alias_bomb_is_left_to_the_line_tracking_loader_before_anything_expands():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]

    assert load_plain("bomb.yaml", "\n".join(lines)) is None


def test_aliases_under_the_limit_are_shared_and_read_as_the_line_tracking_loader_reads_them():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 4)]
    reference, fast = both("\n".join(lines) + "\n")

    assert plain(fast) == reference


@pytest.mark.parametrize(
    "person",
    [
        "{email: ana@example.com, name: !!str Ana}",
        "{email: ana@example.com, name: !!str 1984}",
        "!!map {email: ana@example.com, name: Ana}",
    ],
)
def test_an_org_file_with_a_tag_gets_the_line_tracking_loaders_answer(tmp_path: Path, person: str):
    path = tmp_path / "org.yaml"
    path.write_text(f"format: transform.org/v1\npeople:\n  - {person}\n", encoding="utf-8")

    def outcome(fast: bool) -> Any:
        try:
            bundle = read_import_files([path], fast=fast)
        except ImportFailure as exc:
            return str(exc)
        return [(entry.value, entry.origin) for entry in bundle.people.values()]

    assert outcome(fast=True) == outcome(fast=False)


def test_a_yaml_syntax_error_names_its_line_on_the_fast_path(tmp_path: Path):
    path = tmp_path / "org.yaml"
    path.write_text("format: transform.org/v1\npeople:\n  - {email: a@x.org\n", encoding="utf-8")

    with pytest.raises(ImportFailure) as fast:
        read_import_files([path], fast=True)
    with pytest.raises(ImportFailure) as slow:
        read_import_files([path], fast=False)

    assert str(fast.value) == str(slow.value)
    assert "line 4" in str(fast.value)
