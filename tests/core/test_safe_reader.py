"""The safe reader (core/files/limits.py): every YAML, JSON and CSV input is refused, with its
file, line and limit, when it breaks a limit; nothing is stored. Each case of issue 11 "What
broke" is reproduced here on every path that reads it (API, commands, loaders)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from core.files.jsonio import json_load
from core.files.limits import (
    MAX_ALIAS_NODES,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    InputRefused,
    file_read,
)
from core.files.yamlio import load_documents
from playbooks.format import PlaybookError, playbook_parse
from playbooks.models import Playbook
from teams.models import Organization, Person, Team
from tests.playbooks import test_playbook_api as playbook_api
from tests.playbooks.samples import VALID
from transform.instruments.format import InstrumentError, instrument_parse

orgs = playbook_api.orgs  # the fixture: acme with a user per role
_client = playbook_api._client

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The ~500-byte "billion laughs" document of issue 11: each level repeats the one before
    ``width`` times, so 9 levels stand for 9**9 nodes."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


DEEP_FLOW = "[" * 100_000 + "]" * 100_000
DEEP_BLOCK = "".join("  " * level + "a:\n" for level in range(200)) + "  " * 200 + "b\n"
LONG_NUMBER = "9" * 5_000


def refused(text: str, path: str = "x.yaml") -> InputRefused:
    with pytest.raises(InputRefused) as caught:
        load_documents(path, text)
    return caught.value


# The reader itself


def test_the_alias_bomb_is_refused_naming_file_line_and_limit() -> None:
    error = refused(alias_bomb())

    assert str(error).startswith("x.yaml, document 1, line 5: aliases repeat more than 10,000")
    assert error.limit == f"alias expansion (at most {MAX_ALIAS_NODES:,} repeated nodes)"


def test_a_few_aliases_are_still_read() -> None:
    [doc] = load_documents("x.yaml", "labels: &l {1: no, 2: yes}\nagain: *l\nmore: *l\n")

    assert doc.data["more"] == {1: "no", 2: "yes"}


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert "recursive structure" in refused("a: &a [1, *a]\n").message


@pytest.mark.parametrize("text", [DEEP_FLOW, DEEP_BLOCK, "- " * 1000 + "x\n"])
def test_nesting_deeper_than_the_limit_is_refused(text: str) -> None:
    error = refused(text)

    assert f"nested too deeply (more than {MAX_DEPTH} levels)" in error.message


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 1
    load_documents("x.yaml", "[" * depth + "]" * depth)


@pytest.mark.parametrize(
    "text", [f"v: {LONG_NUMBER}\n", f"v: 1.{LONG_NUMBER}\n", f"v: !!int '{LONG_NUMBER}'\n"]
)
def test_a_number_longer_than_the_limit_is_refused(text: str) -> None:
    error = refused(text)

    assert f"at most {MAX_NUMBER_CHARS} are allowed" in error.message


def test_a_long_quoted_text_of_digits_is_a_text() -> None:
    [doc] = load_documents("x.yaml", f"v: '{LONG_NUMBER}'\n")

    assert doc.data["v"] == LONG_NUMBER


@pytest.mark.parametrize(
    "tag", ["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!custom x"]
)
def test_tags_outside_the_core_schema_are_refused(tag: str) -> None:
    error = refused(f"key: demo\nrun: {tag}\n")

    assert error.origin.line == 2  # type: ignore[union-attr]
    assert "is not allowed; only the YAML core-schema tags" in error.message


@pytest.mark.parametrize("text", ["key: a\x00b\n", 'key: "a\\0b"\n', 'key: "a\\x00"\n'])
def test_nul_is_refused_raw_or_escaped(text: str) -> None:
    assert "NUL character" in refused(text).message


def test_json_is_read_within_the_same_limits() -> None:
    for text, words in [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' + LONG_NUMBER + "}", "at most 100 are allowed"),
        ('{"a": "\\u0000"}', "NUL character"),
    ]:
        with pytest.raises(InputRefused, match=words):
            json_load("x.json", text)
    assert json_load("x.json", '{"a": "\\\\u0000", "b": [1.5, -2]}') == {
        "a": "\\u0000",
        "b": [1.5, -2],
    }


def test_devices_pipes_and_oversized_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("x" * 101)

    with pytest.raises(InputRefused, match="larger than 100 bytes"):
        file_read(big, max_bytes=100)
    with pytest.raises(Exception, match="not a regular file"):
        file_read(Path("/dev/zero"))


# Definitions: playbooks and instruments


@pytest.mark.parametrize("parse", [playbook_parse, instrument_parse])
def test_definition_loaders_refuse_the_bomb_deep_nesting_and_long_numbers(parse: Any) -> None:
    for text, words in [
        (alias_bomb(), "aliases repeat"),
        (DEEP_FLOW, "nested too deeply"),
        (f"key: x\nversion: {LONG_NUMBER}\n", "at most 100 are allowed"),
    ]:
        with pytest.raises((PlaybookError, InstrumentError), match=words) as caught:
            parse("def.yaml", text)
        assert caught.value.limit is not None


ORG_API = "/api/v1/orgs/acme/"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["playbooks", "instruments"])
@pytest.mark.parametrize("how", ["source", "file"])
@pytest.mark.parametrize(
    ("text", "limit"),
    [
        (alias_bomb(), "alias expansion"),
        (DEEP_FLOW, "nesting depth"),
        (f"key: x\nversion: {LONG_NUMBER}\n", "number length"),
    ],
    ids=["alias-bomb", "deep", "long-number"],
)
def test_api_uploads_refuse_hostile_definitions_in_the_error_shape(
    orgs: Any, kind: str, how: str, text: str, limit: str
) -> None:
    before = Playbook.objects.count()
    client = _client("admin")
    if how == "source":
        response = client.post(ORG_API + kind + "/", {"source": text}, format="json")
    else:
        upload = SimpleUploadedFile("hostile.yaml", text.encode())
        response = client.post(ORG_API + kind + "/", {"file": upload}, format="multipart")

    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert body["extra"]["limit"].startswith(limit)
    assert body["extra"]["line"] is not None
    assert Playbook.objects.count() == before


@pytest.mark.django_db
def test_a_body_larger_than_the_limit_is_a_413_in_the_error_shape(orgs: Any) -> None:
    body = json.dumps({"source": "x" * (MAX_BODY_BYTES + 1)})

    response = _client("admin").post(ORG_API + "playbooks/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "message": f"The request body is larger than {MAX_BODY_BYTES:,} bytes.",
        "extra": {"file": "request body", "line": None, "limit": "size (at most 2,621,440 bytes)"},
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "limit"),
    [
        ('{"source": ' + "[" * 100_000 + "]" * 100_000 + "}", "nesting depth"),
        ('{"source": ' + LONG_NUMBER + "}", "number length"),
        ('{"source": "a\\u0000"}', "no NUL"),
    ],
)
def test_hostile_json_bodies_are_a_400_naming_the_limit(orgs: Any, body: str, limit: str) -> None:
    response = _client("admin").post(ORG_API + "playbooks/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["extra"]["limit"].startswith(limit)


# Commands


def _import(*paths: Path) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("import_org", "--org", "acme", *map(str, paths))
    return str(caught.value)


def _state() -> tuple[int, int, int]:
    return (Organization.objects.count(), Team.objects.count(), Person.objects.count())


ORG_HEAD = "format: transform.org/v1\nteams:\n  - slug: core\n    name: Core\n    type: platform\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("bomb.yaml", ORG_HEAD + alias_bomb(), "aliases repeat"),
        ("nul.yaml", ORG_HEAD.replace("name: Core", 'name: "Co\\0re"'), "NUL"),
        ("nul.json", '{"format": "transform.org/v1", "units": [{"slug": "a\\u0000"}]}', "NUL"),
        ("nul.csv", "email,name,team\na@example.com,A\x00,core\n", "NUL"),
        ("number.yaml", ORG_HEAD + f"x: {LONG_NUMBER}\n", "at most 100 are allowed"),
        ("number.json", '{"format": "transform.org/v1", "x": ' + LONG_NUMBER + "}", "at most 100"),
        ("deep.yaml", ORG_HEAD + "x: " + DEEP_FLOW + "\n", "nested too deeply"),
        ("deep.json", '{"format": "transform.org/v1", "x": ' + DEEP_FLOW + "}", "nested too"),
        ("tag.yaml", ORG_HEAD + "x: !!python/object/apply:os.system ['true']\n", "the tag"),
    ],
)
def test_import_org_refuses_hostile_files_with_a_message(
    tmp_path: Path, name: str, content: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    before = _state()

    message = _import(path)

    assert message.startswith(f"Import failed, nothing was written.\n{path}")
    assert words in message
    assert _state() == before


LOCATION = """\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: elsewhere
spec:
  type: file
  target: {target}
"""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target", ["/dev/zero", "../../../../etc/passwd", "/proc/self/environ", "/etc/hostname"]
)
def test_backstage_location_targets_stay_inside_the_named_files_folder(
    tmp_path: Path, target: str
) -> None:
    catalog = tmp_path / "catalog" / "all.yaml"
    catalog.parent.mkdir()
    catalog.write_text(LOCATION.format(target=target))

    message = _import(catalog)

    assert f"spec.target: {target!r} resolves to" in message
    assert "outside the folder" in message
    assert _state() == (0, 0, 0)


@pytest.mark.django_db
def test_a_symlink_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "all.yaml").write_text(LOCATION.format(target="zero.yaml"))

    assert "resolves to '/dev/zero', outside the folder" in _import(folder / "all.yaml")


@pytest.mark.django_db
def test_a_location_inside_the_folder_is_followed(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    (folder / "teams").mkdir(parents=True)
    (folder / "all.yaml").write_text(LOCATION.format(target="teams/core.yaml"))
    (folder / "teams" / "core.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: core\n"
        "spec:\n  type: platform\n  children: []\n"
    )

    call_command("import_org", "--org", "acme", str(folder / "all.yaml"))

    assert Team.objects.filter(slug="core").exists()


@pytest.mark.django_db
def test_load_playbook_refuses_the_alias_bomb_with_a_message(tmp_path: Path) -> None:
    Organization.objects.create(slug="acme", name="Acme")
    path = tmp_path / "bomb.yaml"
    path.write_text(VALID + alias_bomb())

    with pytest.raises(CommandError, match=r"Nothing was stored.\n.*aliases repeat"):
        call_command("load_playbook", "--org", "acme", str(path))
    assert not Playbook.objects.filter(organization__slug="acme").exists()


@pytest.mark.django_db
def test_ingest_signals_refuses_nul_with_a_message(tmp_path: Path) -> None:
    Organization.objects.create(slug="acme", name="Acme")
    path = tmp_path / "events.csv"
    path.write_text("kind,id,team,occurred_at\ndeploy,1,co\x00re,2026-01-01T00:00:00Z\n")

    with pytest.raises(CommandError, match="line 2: a NUL character"):
        call_command("ingest_signals", "--org", "acme", str(path))
