"""The org format reader and format detection: happy paths, the schema, and every error's place."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from core.files.origin import ImportFailure
from teams.graph import InteractionEdge, MembershipEdge, PersonNode, ServesEdge, TeamNode, UnitNode
from teams.importers.bundle import ImportBundle
from teams.importers.orgfile import org_json_schema
from teams.importers.reader import read_import_files
from tests.builders import FIXTURES_DIR, REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "docs" / "schemas" / "org.schema.json"

TEAM = """\
format: transform.org/v1
people:
  - email: ana@example.com
    name: Ana
teams:
  - slug: checkout
    name: Checkout
    type: stream_aligned
"""


def write(tmp_path: Path, text: str, name: str = "org.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def failure(*paths: Path) -> str:
    with pytest.raises(ImportFailure) as caught:
        read_import_files(list(paths))
    return str(caught.value)


def values(entries: dict[Any, Any]) -> list[Any]:
    return [entry.value for entry in entries.values()]


def test_it_reads_every_feature_of_the_example_org_file():
    bundle = read_import_files([FIXTURES_DIR / "example-org.yaml"])

    assert values(bundle.units) == [
        UnitNode("engineering", "Engineering", "department", None),
        UnitNode("checkout-area", "Checkout", "product_area", "engineering"),
    ]
    assert bundle.people["maria.lopez@example.com"].value == PersonNode(
        "maria.lopez@example.com", "Maria Lopez"
    )
    assert bundle.teams["checkout"].value == TeamNode(
        slug="checkout",
        name="Checkout Squad",
        type="stream_aligned",
        unit="checkout-area",
        manager="maria.lopez@example.com",
        description="Cart, payment and order confirmation.",
    )
    assert bundle.teams["dba"].value.specialty == "database"
    assert bundle.memberships[("aiko.tanaka@example.com", "checkout")].value == MembershipEdge(
        "aiko.tanaka@example.com", "checkout", "devops_buddy", 50
    )
    assert bundle.memberships[("raj.patel@example.com", "sre-coaching")].value.role == "lead"
    assert set(bundle.serves) == {
        ("sam.okafor@example.com", "checkout"),
        ("sam.okafor@example.com", "delivery-platform"),
    }
    assert bundle.interactions[("checkout", "dba", "ticket_dependency")].value == InteractionEdge(
        source="checkout",
        target="dba",
        mode="ticket_dependency",
        since=dt.date(2023, 9, 1),
        severity="blocking",
        note="schema changes go through DBA tickets",
    )
    assert bundle.interactions[
        ("delivery-platform", "sre-coaching", "collaboration")
    ].value.expected_end == dt.date(2024, 4, 15)


def test_entries_remember_the_line_they_were_written_on():
    bundle = read_import_files([FIXTURES_DIR / "example-org.yaml"])

    origin = bundle.memberships[("aiko.tanaka@example.com", "checkout")].origin

    lines = (FIXTURES_DIR / "example-org.yaml").read_text().splitlines()
    assert origin.document == 1
    assert origin.line is not None
    assert "aiko.tanaka@example.com" in lines[origin.line - 1]


def test_the_committed_json_schema_is_the_one_generated_from_the_models():
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

    assert committed == json.loads(json.dumps(org_json_schema()))


def test_the_example_org_file_validates_against_the_json_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    data = YAML(typ="safe").load(FIXTURES_DIR / "example-org.yaml")
    # JSON has no dates: what YAML reads as a date is a "format: date" string in the schema.
    data = json.loads(json.dumps(data, default=lambda value: value.isoformat()))

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)


def test_the_json_schema_rejects_an_unknown_field():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"format": "transform.org/v1", "teamz": []}, schema)


def test_it_reads_the_same_format_from_json(tmp_path):
    path = write(
        tmp_path,
        json.dumps(
            {
                "format": "transform.org/v1",
                "teams": [
                    {"slug": "dba", "name": "DBA", "type": "ops_silo", "specialty": "database"}
                ],
                "interactions": [],
            }
        ),
        name="org.json",
    )

    bundle = read_import_files([path])

    assert values(bundle.teams) == [TeamNode("dba", "DBA", "ops_silo", specialty="database")]


def test_it_lower_cases_emails_everywhere(tmp_path):
    path = write(
        tmp_path,
        TEAM
        + "    manager: ANA@Example.com\n"
        + "    members:\n      - person: Ana@EXAMPLE.com\n"
        + "    served_by:\n      - person: ana@example.COM\n",
    )

    bundle = read_import_files([path])

    assert bundle.teams["checkout"].value.manager == "ana@example.com"
    assert set(bundle.memberships) == {("ana@example.com", "checkout")}
    assert set(bundle.serves) == {("ana@example.com", "checkout")}


def test_a_team_type_outside_the_vocabulary_names_file_line_field_and_the_expected_values(
    tmp_path,
):
    path = write(tmp_path, TEAM.replace("type: stream_aligned", "type: stream"))

    message = failure(path)

    assert message.startswith(
        f"{path}, document 1, line 8: teams[0].type: expected one of stream_aligned, platform, "
        "enabling, complicated_subsystem, ops_silo, unclassified; got 'stream'"
    )


def test_an_unknown_field_is_an_error_that_lists_the_allowed_fields(tmp_path):
    path = write(tmp_path, TEAM + "    colour: blue\n")

    message = failure(path)

    assert message.startswith(f"{path}, document 1, line 9: teams[0].colour: unknown field;")
    assert "expected one of slug, name, type, specialty, unit, manager" in message


def test_a_wrong_type_names_the_nested_field_and_its_line(tmp_path):
    path = write(
        tmp_path,
        TEAM + "    members:\n      - person: ana@example.com\n        allocation_percent: half\n",
    )

    message = failure(path)

    assert message == (
        f"{path}, document 1, line 11: teams[0].members[0].allocation_percent: "
        "expected a whole number; got 'half'"
    )


def test_an_allocation_above_100_is_refused(tmp_path):
    path = write(
        tmp_path,
        TEAM + "    members:\n      - {person: ana@example.com, allocation_percent: 120}\n",
    )

    assert "teams[0].members[0].allocation_percent: expected a number of at most 100" in failure(
        path
    )


def test_a_missing_required_field_points_at_its_entry(tmp_path):
    path = write(tmp_path, TEAM.replace("    name: Checkout\n", ""))

    assert failure(path) == f"{path}, document 1, line 6: teams[0].name: required field is missing"


def test_an_invalid_email_and_an_invalid_slug_are_both_reported(tmp_path):
    path = write(
        tmp_path,
        TEAM.replace("ana@example.com", "not-an-email").replace(
            "slug: checkout", "slug: check out"
        ),
    )

    message = failure(path)

    assert f"{path}, document 1, line 3: people[0].email: expected an e-mail address" in message
    assert (
        f"{path}, document 1, line 6: teams[0].slug: expected a slug (letters, digits, hyphens "
        "and underscores); got 'check out'" in message
    )


def test_a_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, TEAM + "  - slug: [unclosed\n")

    message = failure(path)

    assert message.startswith(f"{path}, document 1, line 10: YAML error:")


def test_a_duplicate_key_is_an_error_on_its_line(tmp_path):
    path = write(tmp_path, TEAM + "    name: Checkout again\n")

    message = failure(path)

    assert message.startswith(f"{path}, document 1, line 9: YAML error: duplicate key")


def test_another_version_of_the_format_is_refused(tmp_path):
    path = write(tmp_path, TEAM.replace("transform.org/v1", "transform.org/v2"))

    assert failure(path) == (
        f"{path}, document 1, line 1: format: expected 'transform.org/v1'; got 'transform.org/v2'"
    )


def test_an_org_file_must_hold_a_single_document(tmp_path):
    path = write(tmp_path, TEAM + "---\nformat: transform.org/v1\n")

    assert failure(path).startswith(f"{path}, document 2, line 10: an org format file holds a")


def test_a_file_of_unknown_format_names_the_file_and_lists_the_formats_expected(tmp_path):
    path = write(tmp_path, "hello: world\n")

    message = failure(path)

    assert message.startswith(f"{path}, document 1, line 1: unknown format; expected the org")
    assert "format: transform.org/v1" in message
    assert "Backstage" in message
    assert "TeamAPI" in message


def test_a_file_that_mixes_formats_is_refused(tmp_path):
    path = write(
        tmp_path,
        TEAM + "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: a}\n",
    )

    message = failure(path)

    assert message.startswith(f"{path}, document 2, line 10: this document is Backstage catalog")
    assert "a file must hold one format only" in message


def test_a_missing_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.yaml"

    assert failure(missing) == f"{missing}: file not found"


def test_an_unsupported_extension_is_named(tmp_path):
    path = write(tmp_path, "x", name="org.txt")

    assert failure(path).startswith(f"{path}: unsupported file type '.txt'; expected .csv")


def test_an_empty_file_is_refused(tmp_path):
    path = write(tmp_path, "# nothing here\n")

    assert failure(path).startswith(f"{path}: the file holds no data")


def test_two_files_that_define_a_team_differently_name_both_places(tmp_path):
    first = write(tmp_path, TEAM, name="a.yaml")
    second = write(tmp_path, TEAM.replace("name: Checkout", "name: Kasse"), name="b.yaml")

    message = failure(first, second)

    assert message == (
        f"{second}, document 1, line 6: team 'checkout' is defined differently at "
        f"{first}, document 1, line 6"
    )


def test_two_files_that_agree_merge_and_a_file_named_twice_is_read_once(tmp_path):
    first = write(tmp_path, TEAM, name="a.yaml")
    second = write(tmp_path, TEAM, name="b.yml")

    bundle = read_import_files([first, second, first])

    assert isinstance(bundle, ImportBundle)
    assert list(bundle.teams) == ["checkout"]
    assert bundle.teams["checkout"].origin.path == str(first)


def test_members_served_by_and_interactions_under_a_team_become_its_links(tmp_path):
    path = write(
        tmp_path,
        TEAM
        + "    members:\n"
        + "      - {person: ana@example.com, role: product_owner}\n"
        + "    served_by:\n"
        + "      - {person: ana@example.com, note: weekly}\n"
        + "    interactions:\n"
        + "      - {target: dba, mode: collaboration, since: 2024-01-01, expected_end: 2024-03-01}\n",
    )

    bundle = read_import_files([path])

    assert values(bundle.memberships) == [
        MembershipEdge("ana@example.com", "checkout", "product_owner", 100)
    ]
    assert values(bundle.serves) == [ServesEdge("ana@example.com", "checkout", "weekly")]
    assert values(bundle.interactions) == [
        InteractionEdge(
            "checkout",
            "dba",
            "collaboration",
            since=dt.date(2024, 1, 1),
            expected_end=dt.date(2024, 3, 1),
        )
    ]
