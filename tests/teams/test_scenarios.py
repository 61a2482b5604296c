"""Scenario changes applied to plain snapshots (teams.scenarios), without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from teams.analysis import analyze_snapshot
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
    UnitNode,
)
from teams.scenarios import (
    CHANGE_KINDS,
    ScenarioError,
    apply_changes,
    change_json,
    change_json_schema,
    change_parse,
    snapshot_diff,
)
from tests.builders import REPO_ROOT

NOW = dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC)


def _snapshot() -> OrgSnapshot:
    """Two squads waiting on two silos; ``ann`` is in both silos, ``sam`` serves a squad."""
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=NOW,
        units=[UnitNode(slug="infra", name="Infra", kind="department", parent=None)],
        teams=[
            TeamNode(slug="web", name="Web", type="stream_aligned", manager="boss@x.test"),
            TeamNode(slug="app", name="App", type="stream_aligned"),
            TeamNode(slug="dba", name="DBA", type="ops_silo", specialty="database", unit="infra"),
            TeamNode(slug="net", name="Net", type="ops_silo", specialty="networking"),
        ],
        people=[
            PersonNode(email=email, name=email.split("@")[0])
            for email in (
                "ann@x.test",
                "bob@x.test",
                "cat@x.test",
                "dan@x.test",
                "eve@x.test",
                "sam@x.test",
                "boss@x.test",
            )
        ],
        memberships=[
            MembershipEdge(person="ann@x.test", team="dba", role="member", allocation_percent=60),
            MembershipEdge(person="ann@x.test", team="net", role="lead", allocation_percent=60),
            MembershipEdge(person="bob@x.test", team="dba", role="lead"),
            MembershipEdge(person="cat@x.test", team="web", role="lead"),
            MembershipEdge(person="dan@x.test", team="web", role="member", allocation_percent=50),
            MembershipEdge(person="eve@x.test", team="app", role="member"),
        ],
        serves=[
            ServesEdge(person="sam@x.test", team="web", note="ops"),
            ServesEdge(person="bob@x.test", team="net", note="backup"),
        ],
        interactions=[
            InteractionEdge(
                source="web",
                target="dba",
                mode="ticket_dependency",
                severity="blocking",
                since=dt.date(2024, 1, 1),
            ),
            InteractionEdge(
                source="web",
                target="net",
                mode="ticket_dependency",
                severity="ok",
                since=dt.date(2023, 1, 1),
            ),
            InteractionEdge(
                source="app", target="dba", mode="ticket_dependency", severity="slowing"
            ),
            InteractionEdge(source="dba", target="net", mode="ticket_dependency"),
            InteractionEdge(
                source="web",
                target="app",
                mode="collaboration",
                since=dt.date(2026, 1, 1),
                expected_end=dt.date(2026, 6, 1),
            ),
        ],
    )


def _apply(*changes: dict[str, Any], snapshot: OrgSnapshot | None = None) -> OrgSnapshot:
    return apply_changes(snapshot or _snapshot(), [change_parse(c) for c in changes])


def _error(*changes: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        _apply(*changes)
    return caught.value


def _teams(snapshot: OrgSnapshot) -> dict[str, TeamNode]:
    return {team.slug: team for team in snapshot.teams}


def _members(snapshot: OrgSnapshot, team: str) -> dict[str, tuple[str, int]]:
    return {
        edge.person: (edge.role, edge.allocation_percent)
        for edge in snapshot.memberships
        if edge.team == team
    }


def _links(snapshot: OrgSnapshot) -> dict[tuple[str, str, str], InteractionEdge]:
    return {(e.source, e.target, e.mode): e for e in snapshot.interactions}


MERGE_SILOS = {
    "kind": "merge_teams",
    "teams": ["dba", "net"],
    "into": "platform",
    "name": "Platform",
    "type": "platform",
}


# --- the vocabulary -----------------------------------------------------------------------------


def test_every_change_kind_parses_and_round_trips_through_json() -> None:
    examples: list[dict[str, Any]] = [
        {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
        MERGE_SILOS,
        {
            "kind": "split_team",
            "team": "web",
            "into": [{"slug": "w2", "name": "W2", "members": ["dan@x.test"]}],
        },
        {"kind": "move_person", "person": "eve@x.test", "from_team": "app", "to_team": "web"},
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
        {"kind": "add_devops_buddy", "team": "web", "person": "dan@x.test"},
        {"kind": "add_product_owner", "team": "app", "person": "eve@x.test"},
        {"kind": "remove_person", "team": "app", "person": "eve@x.test"},
        {"kind": "change_role", "team": "app", "person": "eve@x.test", "role": "lead"},
        {
            "kind": "change_interaction_end",
            "source": "web",
            "target": "app",
            "mode": "collaboration",
            "expected_end": "2027-03-01",
        },
    ]
    assert sorted(example["kind"] for example in examples) == sorted(CHANGE_KINDS)
    for example in examples:
        assert change_json(change_parse(example)) == example


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        change_parse({"kind": "create_team", "slug": "p", "name": "P", "type": "platform", "x": 1})
    assert caught.value.errors()[0]["loc"][-1] == "x"


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        change_parse({"kind": "delete_everything"})


@pytest.mark.parametrize(
    "change",
    [
        {
            "kind": "create_team",
            "slug": "p",
            "name": "P",
            "type": "platform",
            "specialty": "database",
        },
        {"kind": "create_team", "slug": "not a slug", "name": "P", "type": "platform"},
        {"kind": "merge_teams", "teams": ["dba"], "into": "dba"},
        {"kind": "merge_teams", "teams": ["dba", "dba"], "into": "dba"},
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
            "severity": "blocking",
        },
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "ticket_dependency",
        },
        {"kind": "move_person", "person": "eve@x.test", "to_team": "web", "allocation_percent": 0},
        {"kind": "split_team", "team": "web", "into": []},
    ],
)
def test_changes_that_break_a_field_rule_are_refused_before_applying(
    change: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        change_parse(change)


def test_emails_are_compared_lower_case() -> None:
    change = change_parse({"kind": "add_devops_buddy", "team": "web", "person": " Dan@X.test "})
    assert change_json(change)["person"] == "dan@x.test"


def test_the_json_schema_names_every_kind() -> None:
    schema = change_json_schema()
    assert set(schema["discriminator"]["mapping"]) == set(CHANGE_KINDS)


def test_the_vocabularies_mirror_the_models() -> None:
    from typing import get_args

    from teams import models, scenarios

    assert set(get_args(scenarios.TeamTypeName)) == set(models.TeamType.values)
    assert set(get_args(scenarios.SpecialtyName)) == set(models.Specialty.values) | {""}
    assert set(get_args(scenarios.ModeName)) == set(models.InteractionMode.values)
    assert set(get_args(scenarios.SeverityName)) == set(models.Severity.values) | {""}
    assert set(get_args(scenarios.RoleName)) == set(models.MembershipRole.values)


# --- create_team --------------------------------------------------------------------------------


def test_create_team_adds_an_empty_team_in_its_unit() -> None:
    after = _apply(
        {"kind": "create_team", "slug": "plat", "name": "Plat", "type": "platform", "unit": "infra"}
    )
    assert _teams(after)["plat"] == TeamNode(
        slug="plat", name="Plat", type="platform", unit="infra"
    )
    assert _members(after, "plat") == {}


def test_create_team_refuses_a_taken_slug_and_an_unknown_unit() -> None:
    taken = _error({"kind": "create_team", "slug": "web", "name": "W", "type": "platform"})
    assert str(taken) == "change 1 (create_team): slug: team slug 'web' is already taken"
    unit = _error(
        {"kind": "create_team", "slug": "p", "name": "P", "type": "platform", "unit": "x"}
    )
    assert "unit: no unit 'x'" in str(unit)


def test_the_input_snapshot_is_left_unchanged() -> None:
    before = _snapshot()
    _apply(
        {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
        MERGE_SILOS,
        snapshot=before,
    )
    assert before == _snapshot()


# --- merge_teams --------------------------------------------------------------------------------


def test_merging_into_a_new_team_moves_members_links_and_interactions() -> None:
    after = _apply(MERGE_SILOS)
    teams = _teams(after)
    assert "dba" not in teams
    assert "net" not in teams
    assert teams["platform"] == TeamNode(
        slug="platform", name="Platform", type="platform", unit="infra"
    )
    # ann was in both silos: the lead role wins, 60 + 60 is capped at 100.
    assert _members(after, "platform") == {"ann@x.test": ("lead", 100), "bob@x.test": ("lead", 100)}
    links = _links(after)
    assert ("dba", "net", "ticket_dependency") not in links  # inside the merged team now
    assert not any(key[2] == "ticket_dependency" and key[0] == "platform" for key in links)
    assert links[("web", "platform", "ticket_dependency")].severity == "blocking"
    assert links[("web", "platform", "ticket_dependency")].since == dt.date(2023, 1, 1)
    assert links[("app", "platform", "ticket_dependency")].severity == "slowing"
    # bob served net but is now a member of the merged team: no serves link to his own team.
    assert [(s.person, s.team) for s in after.serves] == [("sam@x.test", "web")]


def test_merging_into_one_of_the_teams_keeps_it_and_can_retype_it() -> None:
    after = _apply(
        {"kind": "merge_teams", "teams": ["net", "dba"], "into": "dba", "type": "platform"}
    )
    teams = _teams(after)
    assert set(teams) == {"web", "app", "dba"}
    assert teams["dba"].type == "platform"
    assert teams["dba"].specialty == ""
    assert teams["dba"].name == "DBA"


def test_a_merge_hands_the_merged_teams_services_to_the_team_it_goes_into() -> None:
    before = _snapshot()
    owned = {"dba": ("component:billing-db",), "net": ("component:edge", "system:dns")}
    before = dataclasses.replace(
        before,
        teams=[
            dataclasses.replace(team, services=owned.get(team.slug, ())) for team in before.teams
        ],
    )

    into_new = _apply(MERGE_SILOS, snapshot=before)
    into_dba = _apply(
        {"kind": "merge_teams", "teams": ["net", "dba"], "into": "dba"}, snapshot=before
    )

    assert _teams(into_new)["platform"].services == (
        "component:billing-db",
        "component:edge",
        "system:dns",
    )
    assert _teams(into_dba)["dba"].services == (
        "component:billing-db",
        "component:edge",
        "system:dns",
    )
    assert _teams(into_dba)["web"].services == ()


def test_merge_errors_name_the_change_and_the_problem() -> None:
    assert "teams: no team 'ghost'" in str(
        _error({"kind": "merge_teams", "teams": ["dba", "ghost"], "into": "dba"})
    )
    assert "into: team slug 'web' is already taken" in str(
        _error({"kind": "merge_teams", "teams": ["dba", "net"], "into": "web"})
    )
    assert "name and type are required" in str(
        _error({"kind": "merge_teams", "teams": ["dba", "net"], "into": "new"})
    )
    assert "specialty: only ops_silo teams have a specialty" in str(
        _error(
            {"kind": "merge_teams", "teams": ["web", "app"], "into": "web", "specialty": "database"}
        )
    )


def test_a_merge_of_silos_into_a_platform_keeps_their_ticket_queue_in_view() -> None:
    before = analyze_snapshot(_snapshot())
    after = analyze_snapshot(_apply(MERGE_SILOS))
    assert any(f["kind"] == "ops_silo" for f in before["findings"])
    [finding] = [f for f in after["findings"] if f["kind"] == "ops_silo"]
    assert finding["subjects"][0] == {"type": "team", "slug": "platform"}
    assert "ticket expenser under a new name" in finding["explanation"]
    # The merge drops the silo-to-silo ticket; the squads' three still wait on the platform.
    assert after["metrics"]["flow_score"] > 0


def test_turning_the_tickets_into_a_service_resolves_the_ops_silo_finding() -> None:
    as_a_service = [
        {
            "kind": "change_interaction_mode",
            "source": source,
            "target": "platform",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        }
        for source in ("web", "app")
    ]
    before = analyze_snapshot(_snapshot())
    after = analyze_snapshot(_apply(MERGE_SILOS, *as_a_service))
    assert not any(f["kind"] == "ops_silo" for f in after["findings"])
    assert before["metrics"]["flow_score"] > after["metrics"]["flow_score"] == 0


# --- split_team ---------------------------------------------------------------------------------


def test_split_moves_the_listed_members_and_keeps_the_rest() -> None:
    after = _apply(
        {
            "kind": "split_team",
            "team": "web",
            "into": [{"slug": "web-b", "name": "Web B", "members": ["dan@x.test"]}],
        }
    )
    assert _members(after, "web") == {"cat@x.test": ("lead", 100)}
    assert _members(after, "web-b") == {"dan@x.test": ("member", 50)}
    assert _teams(after)["web-b"] == TeamNode(
        slug="web-b", name="Web B", type="stream_aligned", manager="boss@x.test"
    )
    assert ("web", "dba", "ticket_dependency") in _links(after)  # interactions stay


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            [{"slug": "app", "name": "A", "members": ["dan@x.test"]}],
            "team slug 'app' is already taken",
        ),
        (
            [{"slug": "w2", "name": "W", "members": ["eve@x.test"]}],
            "'eve@x.test' is not a member of team 'web'",
        ),
        (
            [
                {"slug": "w2", "name": "W", "members": ["dan@x.test"]},
                {"slug": "w3", "name": "W", "members": ["dan@x.test"]},
            ],
            "'dan@x.test' is listed for both 'w2' and 'w3'",
        ),
        (
            [
                {"slug": "w2", "name": "W", "members": ["dan@x.test"]},
                {"slug": "w2", "name": "W", "members": ["cat@x.test"]},
            ],
            "'w2' is listed more than once",
        ),
    ],
)
def test_split_errors_name_the_problem(parts: list[dict[str, Any]], expected: str) -> None:
    assert expected in str(_error({"kind": "split_team", "team": "web", "into": parts}))


def test_split_refuses_an_unknown_team() -> None:
    error = _error(
        {
            "kind": "split_team",
            "team": "ghost",
            "into": [{"slug": "g", "name": "G", "members": ["a@x.test"]}],
        }
    )
    assert "team: no team 'ghost'" in str(error)


# --- move_person --------------------------------------------------------------------------------


def test_move_person_keeps_role_and_allocation_unless_given() -> None:
    after = _apply(
        {"kind": "move_person", "person": "dan@x.test", "from_team": "web", "to_team": "app"}
    )
    assert "dan@x.test" not in _members(after, "web")
    assert _members(after, "app")["dan@x.test"] == ("member", 50)
    after = _apply(
        {
            "kind": "move_person",
            "person": "dan@x.test",
            "to_team": "app",
            "role": "lead",
            "allocation_percent": 20,
        }
    )
    assert _members(after, "web")["dan@x.test"] == ("member", 50)  # no from_team: joins only
    assert _members(after, "app")["dan@x.test"] == ("lead", 20)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"person": "ghost@x.test", "to_team": "app"}, "person: no person 'ghost@x.test'"),
        ({"person": "dan@x.test", "to_team": "ghost"}, "to_team: no team 'ghost'"),
        (
            {"person": "eve@x.test", "from_team": "web", "to_team": "dba"},
            "'eve@x.test' is not a member of team 'web'",
        ),
        (
            {"person": "dan@x.test", "from_team": "web", "to_team": "web"},
            "must differ from from_team",
        ),
        ({"person": "cat@x.test", "to_team": "web"}, "'cat@x.test' is already a member of 'web'"),
    ],
)
def test_move_person_errors_name_the_problem(change: dict[str, Any], expected: str) -> None:
    assert expected in str(_error({"kind": "move_person", **change}))


# --- change_interaction_mode --------------------------------------------------------------------


def test_a_ticket_dependency_becomes_x_as_a_service_without_severity() -> None:
    after = _apply(
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        }
    )
    links = _links(after)
    assert ("web", "dba", "ticket_dependency") not in links
    edge = links[("web", "dba", "x_as_a_service")]
    assert (edge.severity, edge.since, edge.expected_end) == ("", dt.date(2024, 1, 1), None)


def test_a_collaboration_becomes_a_ticket_dependency_with_a_severity_and_no_end() -> None:
    after = _apply(
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "app",
            "from_mode": "collaboration",
            "to_mode": "ticket_dependency",
            "severity": "slowing",
        }
    )
    edge = _links(after)[("web", "app", "ticket_dependency")]
    assert (edge.severity, edge.expected_end) == ("slowing", None)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"source": "web", "target": "app", "from_mode": "ticket_dependency"},
            "'web' has no ticket_dependency interaction with 'app'",
        ),
        (
            {"source": "ghost", "target": "app", "from_mode": "ticket_dependency"},
            "source: no team 'ghost'",
        ),
        (
            {
                "source": "web",
                "target": "app",
                "from_mode": "collaboration",
                "to_mode": "facilitating",
                "expected_end": "2025-01-01",
            },
            "expected_end: 2025-01-01 is before the start 2026-01-01",
        ),
    ],
)
def test_change_interaction_mode_errors_name_the_problem(
    change: dict[str, Any], expected: str
) -> None:
    full = {"kind": "change_interaction_mode", "to_mode": "x_as_a_service", **change}
    assert expected in str(_error(full))


def test_changing_to_a_mode_the_pair_already_has_is_refused() -> None:
    snapshot = _snapshot()
    snapshot.interactions.append(InteractionEdge(source="web", target="dba", mode="x_as_a_service"))
    change = {
        "kind": "change_interaction_mode",
        "source": "web",
        "target": "dba",
        "from_mode": "ticket_dependency",
        "to_mode": "x_as_a_service",
    }
    with pytest.raises(ScenarioError) as caught:
        _apply(
            {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
            change,
            snapshot=snapshot,
        )
    assert caught.value.index == 1
    assert str(caught.value) == (
        "change 2 (change_interaction_mode): to_mode: 'web' already has a x_as_a_service "
        "interaction with 'dba'"
    )


# --- add_devops_buddy / add_product_owner -------------------------------------------------------


def test_add_devops_buddy_sets_the_role_of_a_member_or_adds_one() -> None:
    after = _apply(
        {"kind": "add_devops_buddy", "team": "web", "person": "dan@x.test"},
        {
            "kind": "add_product_owner",
            "team": "app",
            "person": "sam@x.test",
            "allocation_percent": 30,
        },
    )
    assert _members(after, "web")["dan@x.test"] == ("devops_buddy", 50)
    assert _members(after, "app")["sam@x.test"] == ("product_owner", 30)
    report = analyze_snapshot(after)
    assert report["metrics"]["stream_aligned_with_buddy_share"] == 0.5


def test_add_role_errors_name_the_unknown_team_or_person() -> None:
    assert "team: no team 'ghost'" in str(
        _error({"kind": "add_devops_buddy", "team": "ghost", "person": "dan@x.test"})
    )
    assert "person: no person 'zed@x.test'" in str(
        _error({"kind": "add_product_owner", "team": "web", "person": "zed@x.test"})
    )


# --- later changes see earlier ones; the diff -------------------------------------------------------


def test_a_later_change_can_use_a_team_an_earlier_one_created() -> None:
    after = _apply(
        MERGE_SILOS, {"kind": "add_product_owner", "team": "platform", "person": "bob@x.test"}
    )
    assert _members(after, "platform")["bob@x.test"] == ("product_owner", 100)
    error = _error(
        {"kind": "add_product_owner", "team": "platform", "person": "bob@x.test"}, MERGE_SILOS
    )
    assert error.index == 0


def test_the_diff_lists_every_row_change_and_reports_a_mode_change_as_an_update() -> None:
    before = _snapshot()
    after = _apply(
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
        {"kind": "move_person", "person": "dan@x.test", "from_team": "web", "to_team": "app"},
        {"kind": "add_devops_buddy", "team": "web", "person": "cat@x.test"},
        MERGE_SILOS,
        snapshot=before,
    )
    diff = snapshot_diff(before, after)
    summary = diff.summary()
    assert summary["teams_created"] == ["platform"]
    assert summary["teams_deleted"] == ["dba", "net"]
    assert "dan@x.test in app" in summary["memberships_created"]
    assert "dan@x.test in web" in summary["memberships_deleted"]
    assert summary["memberships_updated"] == ["cat@x.test in web"]
    assert summary["serves_deleted"] == ["bob@x.test in net"]
    assert "web -[ticket_dependency]-> net" in summary["interactions_deleted"]
    assert "web -[ticket_dependency]-> platform" in summary["interactions_created"]
    assert diff.interactions_updated == ()  # the web->dba pair moved to platform: not an update
    assert snapshot_diff(before, before).empty


def test_a_lone_mode_change_is_an_update_in_the_diff() -> None:
    before = _snapshot()
    after = _apply(
        {
            "kind": "change_interaction_mode",
            "source": "web",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
        snapshot=before,
    )
    diff = snapshot_diff(before, after)
    assert [(u.before.mode, u.after.mode) for u in diff.interactions_updated] == [
        ("ticket_dependency", "x_as_a_service")
    ]
    assert diff.interactions_created == ()
    assert diff.interactions_deleted == ()


def test_the_committed_json_schema_is_the_one_generated_from_the_models() -> None:
    committed = json.loads((REPO_ROOT / "docs/schemas/scenario-change.schema.json").read_text())

    assert committed == json.loads(json.dumps(change_json_schema()))


def test_every_example_in_the_docs_is_a_valid_change() -> None:
    text = (REPO_ROOT / "docs/scenarios.md").read_text()
    examples = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    validator = jsonschema.Draft202012Validator(change_json_schema())

    assert len(examples) >= len(CHANGE_KINDS)
    for example in examples:
        data = json.loads(example)
        if "kind" in data:
            validator.validate(data)
            change_parse(data)


# --- the diff in words ---------------------------------------------------------------------------


def test_the_diff_in_words_names_teams_and_people_and_says_modes_and_roles_in_words() -> None:
    before = _snapshot()
    after = apply_changes(
        before,
        [
            change_parse(
                {
                    "kind": "change_interaction_mode",
                    "source": "web",
                    "target": "dba",
                    "from_mode": "ticket_dependency",
                    "to_mode": "x_as_a_service",
                }
            ),
            change_parse(
                {
                    "kind": "merge_teams",
                    "teams": ["dba", "net"],
                    "into": "infra-platform",
                    "name": "Infra Platform",
                    "type": "platform",
                }
            ),
            change_parse({"kind": "add_devops_buddy", "team": "app", "person": "eve@x.test"}),
        ],
    )

    words = snapshot_diff(before, after).words(before=before, after=after)

    assert words["teams_created"] == ["Infra Platform (platform)"]
    assert words["teams_deleted"] == ["DBA", "Net"]
    assert "eve in App as DevOps buddy" in words["memberships_updated"]
    assert "Web → DBA (ticket dependency)" in words["interactions_deleted"]
    assert "Web → Infra Platform (X-as-a-Service)" in words["interactions_created"]
    text = json.dumps(words)
    for code in ("@x.test", "ticket_dependency", "dba"):
        assert code not in text


def test_every_vocabulary_value_has_the_models_words() -> None:
    from teams import models, scenarios

    for choices in (models.TeamType, models.MembershipRole, models.InteractionMode):
        for value, label in choices.choices:
            assert scenarios._WORDS[value].lower() == label.lower(), value
