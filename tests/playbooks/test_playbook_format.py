"""The playbook file format: parsing, and every error naming file, line and field (no database)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from playbooks.format import PlaybookError, playbook_json_schema, playbook_parse
from tests.builders import REPO_ROOT
from tests.playbooks.samples import VALID


def _error(text: str, path: str = "demo.yaml") -> PlaybookError:
    with pytest.raises(PlaybookError) as info:
        playbook_parse(path, text)
    return info.value


def _replace(old: str, new: str, text: str = VALID) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_it_parses_a_valid_playbook_with_defaults() -> None:
    spec = playbook_parse("demo.yaml", VALID)

    assert (spec.key, spec.version, spec.title) == ("demo", 2, "Demo playbook")
    assert [phase.key for phase in spec.phases] == ["discover", "build"]
    assert [m.key for _, m in spec.milestones()] == ["interview-teams", "name-owner", "merge-silos"]
    first = spec.phases[0].milestones[0]
    assert first.checkin_every_days == 7
    assert first.depends_on == []
    assert first.model_dump(mode="json")["exit_criteria"] == [
        {"graph": "every_stream_team_has_devops_buddy"},
        {"signal": "platform_satisfaction", "op": ">=", "value": 3.5, "min_respondents": 5},
    ]
    assert spec.phases[1].milestones[0].checkin_every_days == 3


def test_the_json_dump_validates_back_into_the_same_spec() -> None:
    spec = playbook_parse("demo.yaml", VALID)

    assert type(spec).model_validate(spec.model_dump(mode="json")) == spec


def test_no_and_clock_times_stay_strings_in_titles() -> None:
    text = _replace("title: Listen first", "title: NO")
    text = _replace("title: Interview every team", "title: 12:30", text)

    spec = playbook_parse("demo.yaml", text)

    assert spec.phases[0].title == "NO"
    assert spec.phases[0].milestones[0].title == "12:30"


def test_a_yaml_syntax_error_names_file_and_line() -> None:
    error = _error(_replace("title: Listen first", "title: [unclosed"))

    assert str(error).startswith("demo.yaml, document 1, line 8: YAML error")


def test_a_duplicate_key_is_an_error_with_its_line() -> None:
    error = _error(_replace("        duration_days: 7\n", "        duration_days: 7\n" * 2))

    assert "demo.yaml, document 1, line 29" in str(error)
    assert "duplicate key" in str(error)
    assert "duration_days" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "line", "path"),
    [
        ("version: 2", "version: 2\nauthor: me", 3, "author"),
        (
            "    title: Listen first",
            "    title: Listen first\n    color: blue",
            8,
            "phases[0].color",
        ),
        (
            "        owner_role: leader",
            "        owner_role: leader\n        owner: ann@example.com",
            31,
            "phases[1].milestones[0].owner",
        ),
        (
            "            min_respondents: 5",
            "            min_respondents: 5\n            weight: 2",
            21,
            "phases[0].milestones[0].exit_criteria[1].weight",
        ),
    ],
    ids=["top level", "phase", "milestone", "signal criterion"],
)
def test_an_unknown_field_is_an_error_at_every_depth(
    old: str, new: str, line: int, path: str
) -> None:
    error = _error(_replace(old, new))

    assert str(error).startswith(f"demo.yaml, document 1, line {line}: {path}: unknown field")
    assert error.field == path


def test_an_unknown_field_message_lists_the_allowed_ones() -> None:
    error = _error(
        _replace(
            "- graph: every_stream_team_has_devops_buddy",
            "- graph: ops_silos_merged\n            op: '<'",
        )
    )

    assert "exit_criteria[0].op: unknown field; expected one of graph" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "expected"),
    [
        (
            "duration_days: 14",
            'duration_days: "14"',
            13,
            "phases[0].milestones[0].duration_days",
            "expected a whole number; got '14'",
        ),
        (
            "duration_days: 14",
            "duration_days: 0",
            13,
            "phases[0].milestones[0].duration_days",
            "at least 1",
        ),
        ("version: 2", "version: yes", 2, "version", "expected a whole number; got 'yes'"),
        (
            "value: 3.5",
            "value: high",
            19,
            "phases[0].milestones[0].exit_criteria[1].value",
            "expected a number; got 'high'",
        ),
        (
            'op: ">="',
            "op: '=>'",
            18,
            "phases[0].milestones[0].exit_criteria[1].op",
            "expected one of",
        ),
        (
            "owner_role: leader",
            "owner_role: boss",
            30,
            "phases[1].milestones[0].owner_role",
            "leader, platform_product_owner; got 'boss'",
        ),
        (
            "key: interview-teams",
            "key: interview teams",
            9,
            "phases[0].milestones[0].key",
            "expected a slug",
        ),
        (
            "depends_on: [interview-teams]",
            "depends_on: interview-teams",
            29,
            "phases[1].milestones[0].depends_on",
            "expected a list",
        ),
        (
            "graph: every_stream_team_has_devops_buddy",
            "graph: happy_teams",
            16,
            "phases[0].milestones[0].exit_criteria[0].graph",
            "unknown graph check 'happy_teams'; expected one of",
        ),
        (
            "signal: platform_satisfaction",
            "signal: mood",
            17,
            "phases[0].milestones[0].exit_criteria[1].signal",
            "unknown signal 'mood'",
        ),
        (
            "- graph: every_stream_team_has_devops_buddy",
            "- check: x",
            16,
            "phases[0].milestones[0].exit_criteria[0]",
            "expected a graph check",
        ),
    ],
)
def test_a_wrong_value_names_the_line_the_field_and_what_was_expected(
    old: str, new: str, line: int, path: str, expected: str
) -> None:
    error = _error(_replace(old, new))

    assert str(error).startswith(f"demo.yaml, document 1, line {line}: {path}: ")
    assert expected in str(error)
    assert error.field == path


def test_an_organisations_first_draft_loads_without_why_and_how() -> None:
    # The original specification's milestone fields only: why and how are encouraged, not
    # required (the milestone page asks for them; the built-in library must have them).
    text = VALID.replace("        how: The sponsor appoints one.\n", "").replace(
        "        why: A platform without an owner drifts.\n", ""
    )
    assert text != VALID

    spec = playbook_parse("demo.yaml", text)

    milestone = spec.phases[1].milestones[0]
    assert (milestone.why, milestone.how) == (None, None)
    assert spec.phases[0].milestones[0].why


def test_an_empty_why_is_refused_rather_than_taken_for_a_missing_one() -> None:
    error = _error(_replace("        why: A platform without an owner drifts.", '        why: ""'))

    assert "phases[1].milestones[0].why" in str(error)


def test_a_why_of_several_paragraphs_is_refused() -> None:
    text = _replace(
        "        why: A platform without an owner drifts.",
        "        why: |\n          One.\n\n          Two.",
    )

    error = _error(text)

    assert "phases[1].milestones[0].why: expected one paragraph" in str(error)


def test_a_reference_to_a_missing_milestone_names_it() -> None:
    error = _error(_replace("depends_on: [interview-teams]", "depends_on: [interview-team]"))

    assert str(error) == (
        "demo.yaml, document 1, line 29: phases[1].milestones[0].depends_on[0]: unknown milestone "
        "'interview-team'; expected the key of a milestone of this playbook"
    )


def test_a_milestone_depending_on_itself_is_refused() -> None:
    error = _error(_replace("depends_on: [interview-teams]", "depends_on: [name-owner]"))

    assert str(error) == (
        "demo.yaml, document 1, line 29: phases[1].milestones[0].depends_on[0]: "
        "milestone 'name-owner' cannot depend on itself"
    )


def test_a_milestone_key_used_in_two_phases_is_refused() -> None:
    error = _error(_replace("key: merge-silos", "key: interview-teams"))

    assert str(error).startswith(
        "demo.yaml, document 1, line 32: phases[1].milestones[1].key: milestone key "
        "'interview-teams' is already used by phases[0].milestones[0]"
    )


def test_a_phase_key_used_twice_is_refused() -> None:
    error = _error(_replace("key: build", "key: discover"))

    assert "line 21: phases[1].key: phase key 'discover' is already used by phases[0]" in str(error)


def test_a_three_milestone_cycle_is_named_in_order() -> None:
    text = _replace(
        "        duration_days: 14\n",
        "        duration_days: 14\n        depends_on: [merge-silos]\n",
    )
    text = _replace("depends_on: [name-owner, interview-teams]", "depends_on: [name-owner]", text)

    error = _error(text)

    # interview-teams depends on merge-silos, which depends on name-owner, which depends on
    # interview-teams.
    assert "interview-teams -> merge-silos -> name-owner -> interview-teams" in str(error)
    assert str(error).startswith(
        "demo.yaml, document 1, line 14: phases[0].milestones[0].depends_on: dependency cycle "
    )


def test_an_empty_file_and_two_documents_are_refused() -> None:
    assert "the file is empty" in str(_error("# nothing\n"))
    error = _error(VALID + "---\nkey: other\n")
    assert str(error).startswith("demo.yaml, document 2, line 40: expected one playbook per file")


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    error = _error("- key: demo\n")

    assert "(document): expected a mapping of fields" in str(error)


def test_every_problem_is_listed_with_its_origin() -> None:
    text = _replace("duration_days: 14", "duration_days: 0")
    text = _replace("owner_role: leader", "owner_role: boss", text)

    error = _error(text)

    assert [(origin.line, path) for origin, path, _ in error.problems] == [
        (13, "phases[0].milestones[0].duration_days"),
        (30, "phases[1].milestones[0].owner_role"),
    ]


def test_the_committed_json_schema_is_the_one_generated_from_the_models() -> None:
    committed = json.loads((REPO_ROOT / "docs/schemas/playbook.schema.json").read_text())

    assert committed == json.loads(json.dumps(playbook_json_schema()))


def test_the_json_schema_accepts_the_example_and_rejects_an_unknown_field() -> None:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(VALID)
    schema = playbook_json_schema()
    jsonschema.validate(data, schema)

    data["phases"][0]["milestones"][0]["colour"] = "red"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_the_example_in_the_docs_parses() -> None:
    docs = (REPO_ROOT / "docs/playbook-format.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]

    spec = playbook_parse("docs/playbook-format.md", example)

    assert spec.phases


@pytest.mark.parametrize(
    ("signal", "op", "value", "expected"),
    [
        (
            "blocked_developer_hours",
            ">=",
            0,
            ">= 0 cannot fail: blocked_developer_hours ranges from 0 to unbounded",
        ),
        ("westrum_score", ">=", 1, ">= 1 cannot fail: westrum_score ranges from 1 to 7"),
        (
            "platform_satisfaction",
            "<=",
            5,
            "<= 5 cannot fail: platform_satisfaction ranges from 1 to 5",
        ),
        (
            "change_failure_rate",
            "<",
            1.5,
            "< 1.5 cannot fail: change_failure_rate ranges from 0 to 1",
        ),
    ],
)
def test_a_signal_criterion_that_cannot_fail_is_an_error_naming_file_line_and_criterion(
    signal: str, op: str, value: float, expected: str
) -> None:
    text = _replace(
        "- graph: every_stream_team_has_devops_buddy",
        f"- signal: {signal}\n            op: '{op}'\n            value: {value}",
    )

    error = _error(text)

    assert str(error).startswith("demo.yaml, document 1, line ")
    assert "exit_criteria[0]" in str(error)
    assert f"{signal} {expected}" in str(error)


def test_a_threshold_that_can_fail_and_a_measured_criterion_load() -> None:
    for criterion in (
        "- signal: blocked_developer_hours\n            op: '<='\n            value: 400",
        "- signal: westrum_score\n            op: measured\n            min_respondents: 5",
    ):
        playbook_parse(
            "demo.yaml", _replace("- graph: every_stream_team_has_devops_buddy", criterion)
        )


def test_measured_takes_no_value_and_other_ops_need_one() -> None:
    with_value = "- signal: incidents\n            op: measured\n            value: 3"
    without = "- signal: incidents\n            op: '<'"

    assert "op measured takes no value" in str(
        _error(_replace("- graph: every_stream_team_has_devops_buddy", with_value))
    )
    assert "op < needs a value" in str(
        _error(_replace("- graph: every_stream_team_has_devops_buddy", without))
    )
