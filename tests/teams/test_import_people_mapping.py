"""The HR column mapping: the file's validation (file, line, field), defaults and synonyms, the
title patterns and new teams' slugs. No database."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from teams.importers.hrimport import team_slug, team_slug_free
from teams.importers.hrmapping import (
    HrMapping,
    MappingFileError,
    TitleRole,
    columns_resolve,
    hr_mapping_json_schema,
    hr_mapping_load,
    hr_mapping_with_columns,
)
from tests.builders import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "docs" / "schemas" / "hr-mapping.schema.json"


def load(tmp_path: Path, text: str, name: str = "mapping.yaml") -> HrMapping:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return hr_mapping_load(path)


def refusal(tmp_path: Path, text: str, name: str = "mapping.yaml") -> MappingFileError:
    with pytest.raises(MappingFileError) as caught:
        load(tmp_path, text, name)
    return caught.value


def test_every_mistake_in_a_mapping_file_names_the_file_line_and_field(tmp_path: Path) -> None:
    error = refusal(
        tmp_path,
        "columns:\n"
        "  email: Work Email\n"
        "  mail: Mail\n"
        "titles:\n"
        "  - pattern: product (owner\n"
        "    role: product_owner\n"
        "  - pattern: devops\n"
        "    role: buddy\n"
        "teams:\n"
        "  Runtime: {type: platfrom}\n"
        "delimiter: ';;'\n",
    )

    path = tmp_path / "mapping.yaml"
    found = [(where.line, field) for where, field, _ in error.problems]
    assert found == [
        (3, "columns.mail"),
        (5, "titles[0].pattern"),
        (8, "titles[1].role"),
        (10, "teams.Runtime.type"),
        (11, "delimiter"),
    ]
    text = str(error)
    assert text.startswith(
        f"{path}, document 1, line 3: columns.mail: unknown field; expected one of email,"
    )
    assert "titles[0].pattern: not a valid regular expression" in text
    assert (
        "titles[1].role: expected one of member, lead, devops_buddy, product_owner, manager" in text
    )
    assert f"{path}, document 1, line 11: delimiter: expected one character" in text


def test_a_json_mapping_file_is_validated_alike(tmp_path: Path) -> None:
    error = refusal(tmp_path, '{"columns": {"email": ""}, "extra": 1}', "mapping.json")

    assert [field for _, field, _ in error.problems] == ["columns.email", "extra"]


def test_a_mapping_file_with_yaml_errors_is_refused_with_its_line(tmp_path: Path) -> None:
    error = refusal(tmp_path, "columns:\n  email: a\n  email: b\n")

    assert "line 3" in str(error)
    assert "duplicate key" in str(error)


def test_the_usual_headers_are_found_without_a_mapping() -> None:
    header = ["Employee ID", "Full Name", "E-Mail", "Team", "Manager_Email", "Job Title"]

    found = columns_resolve(HrMapping(), header)

    assert found == {"email": 2, "name": 1, "team": 3, "manager_email": 4, "title": 5}


def test_an_explicit_column_wins_and_is_not_read_as_another_field() -> None:
    mapping = hr_mapping_with_columns(HrMapping(), ["title=Role", "team="])

    found = columns_resolve(mapping, ["name", "email", "role", "team"])

    assert found == {"email": 1, "name": 0, "title": 2}


def test_two_columns_for_one_field_must_be_told_apart() -> None:
    found = columns_resolve(HrMapping(), ["name", "Email", "Work Email"])

    assert found["email"] == (
        "the columns 'Email', 'Work Email' could each hold it; map one with --column"
    )


def test_the_default_title_patterns_and_their_order() -> None:
    mapping = HrMapping()

    assert mapping.title_role("Senior Product Owner") == TitleRole.PRODUCT_OWNER
    assert mapping.title_role("product manager, payments") == TitleRole.PRODUCT_OWNER
    assert mapping.title_role("Engineering Manager, DevOps") == TitleRole.MANAGER
    assert mapping.title_role("DevOps Engineer") == TitleRole.DEVOPS_BUDDY
    assert mapping.title_role("Tech Lead") == TitleRole.LEAD
    assert mapping.title_role("Software Engineer") is None
    assert HrMapping(titles=[]).title_role("Product Owner") is None


def test_new_team_slugs_fold_accents_and_collisions_count_up() -> None:
    assert team_slug("Search & Discovery") == "search-discovery"
    assert team_slug("Straße Ø Team") == "strasse-o-team"
    assert team_slug("???") == "team"
    assert team_slug_free("search-discovery", {"search-discovery", "search-discovery-2"}) == (
        "search-discovery-3"
    )


def test_the_committed_json_schema_is_the_generated_one() -> None:
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

    assert committed == json.loads(json.dumps(hr_mapping_json_schema()))


def test_the_example_mapping_validates_against_the_json_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    data = YAML(typ="safe").load(REPO_ROOT / "tests" / "data" / "hr" / "hr-mapping.yaml")

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"colums": {}}, schema)
