"""The export formats, on hand-built snapshots (no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import networkx as nx
import pytest
import yaml
from ruamel.yaml import YAML

from teams.exporters import (
    EXPORT_CONTENT_TYPES,
    EXPORT_FORMATS,
    backstage_user_names,
    dot_quote,
    export_snapshot,
    mermaid_text,
)
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
    UnitNode,
)

HOSTILE = 'a "quoted" [team] <x>'


def make_snapshot() -> OrgSnapshot:
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=dt.datetime(2025, 3, 31, 12, 0, tzinfo=dt.UTC),
        units=[
            UnitNode(slug="web", name="Web", kind="sub-department", parent="eng"),
            UnitNode(slug="eng", name="Engineering", kind="department", parent=None),
        ],
        teams=[
            TeamNode(slug="plat", name="NO", type="platform"),
            TeamNode(
                slug="checkout",
                name="Checkout",
                type="stream_aligned",
                unit="web",
                manager="alice@example.com",
            ),
            TeamNode(
                slug="dba",
                name=HOSTILE,
                type="ops_silo",
                specialty="database",
                unit="eng",
                description="Guards the databases",
            ),
            TeamNode(slug="misc", name="12:30", type="unclassified", unit="eng"),
        ],
        people=[
            PersonNode(email="john@b.example", name="on"),
            PersonNode(email="john@a.example", name="John A"),
            PersonNode(email="alice@example.com", name="Alice"),
        ],
        memberships=[
            MembershipEdge(
                person="john@a.example", team="checkout", role="lead", allocation_percent=50
            ),
            MembershipEdge(person="alice@example.com", team="checkout", role="member"),
            MembershipEdge(person="alice@example.com", team="dba", role="product_owner"),
        ],
        serves=[ServesEdge(person="john@b.example", team="checkout", note="devops")],
        interactions=[
            InteractionEdge(
                source="checkout", target="dba", mode="ticket_dependency", severity="blocking"
            ),
            InteractionEdge(
                source="checkout", target="plat", mode="x_as_a_service", since=dt.date(2024, 1, 1)
            ),
            InteractionEdge(
                source="checkout",
                target="plat",
                mode="collaboration",
                since=dt.date(2024, 1, 1),
                expected_end=dt.date(2024, 6, 30),
            ),
            InteractionEdge(source="plat", target="misc", mode="facilitating"),
        ],
    )


def test_it_refuses_an_unknown_format_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown export format 'pdf'") as excinfo:
        export_snapshot(make_snapshot(), "pdf")
    for fmt in EXPORT_FORMATS:
        assert fmt in str(excinfo.value)


def test_every_format_has_a_content_type() -> None:
    assert set(EXPORT_CONTENT_TYPES) == set(EXPORT_FORMATS)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_the_output_does_not_depend_on_the_order_of_the_snapshot_lists(fmt: str) -> None:
    snapshot = make_snapshot()
    shuffled = dataclasses.replace(
        snapshot,
        units=list(reversed(snapshot.units)),
        teams=list(reversed(snapshot.teams)),
        people=list(reversed(snapshot.people)),
        memberships=list(reversed(snapshot.memberships)),
        interactions=list(reversed(snapshot.interactions)),
    )
    assert export_snapshot(shuffled, fmt) == export_snapshot(snapshot, fmt)


def test_json_is_node_link_data_of_units_teams_and_people() -> None:
    data = json.loads(export_snapshot(make_snapshot(), "json"))
    graph = nx.node_link_graph(data, edges="edges")

    assert graph.is_multigraph()
    assert graph.is_directed()
    assert graph.graph == {
        "organization": "acme",
        "name": "Acme",
        "as_of": "2025-03-31T12:00:00+00:00",
    }
    assert graph.nodes["unit:web"] == {
        "kind": "unit",
        "slug": "web",
        "name": "Web",
        "unit_kind": "sub-department",
        "parent": "eng",
    }
    assert graph.nodes["team:dba"]["type"] == "ops_silo"
    assert graph.nodes["team:dba"]["specialty"] == "database"
    assert graph.nodes["team:dba"]["name"] == HOSTILE
    assert graph.nodes["team:checkout"]["manager"] == "alice@example.com"
    assert graph.nodes["person:john@a.example"] == {
        "kind": "person",
        "email": "john@a.example",
        "name": "John A",
    }
    assert next(node for node in data["nodes"] if node["kind"] == "team")["slug"] == "checkout"


def test_json_holds_every_kind_of_edge_with_its_attributes() -> None:
    graph = nx.node_link_graph(json.loads(export_snapshot(make_snapshot(), "json")), edges="edges")

    assert graph.has_edge("unit:web", "unit:eng", key="parent")
    assert graph.has_edge("team:checkout", "unit:web", key="in_unit")
    assert graph.edges["person:john@a.example", "team:checkout", "member"] == {
        "kind": "member",
        "role": "lead",
        "allocation_percent": 50,
    }
    assert graph.edges["person:john@b.example", "team:checkout", "serves"]["note"] == "devops"
    # Two modes between the same two teams are two edges.
    assert set(graph["team:checkout"]["team:plat"]) == {"x_as_a_service", "collaboration"}
    assert graph.edges["team:checkout", "team:plat", "collaboration"] == {
        "kind": "interaction",
        "mode": "collaboration",
        "since": "2024-01-01",
        "expected_end": "2024-06-30",
        "severity": "",
        "note": "",
    }
    assert graph.edges["team:checkout", "team:dba", "ticket_dependency"]["severity"] == "blocking"
    assert graph.edges["team:plat", "team:misc", "facilitating"]["since"] is None


def test_json_leaves_out_references_to_missing_teams_instead_of_inventing_nodes() -> None:
    snapshot = make_snapshot()
    snapshot.memberships.append(MembershipEdge(person="alice@example.com", team="ghost", role="m"))
    graph = nx.node_link_graph(json.loads(export_snapshot(snapshot, "json")), edges="edges")
    assert "team:ghost" not in graph
    assert all("kind" in attributes for _node, attributes in graph.nodes(data=True))


def test_a_unit_and_a_team_with_the_same_slug_are_two_nodes() -> None:
    snapshot = make_snapshot()
    snapshot.units.append(UnitNode(slug="plat", name="Platform unit", kind="division", parent=None))
    graph = nx.node_link_graph(json.loads(export_snapshot(snapshot, "json")), edges="edges")
    assert graph.nodes["unit:plat"]["kind"] == "unit"
    assert graph.nodes["team:plat"]["kind"] == "team"


def test_graphml_parses_back_without_the_absent_values() -> None:
    snapshot = make_snapshot()
    graph = nx.parse_graphml(export_snapshot(snapshot, "graphml"), force_multigraph=True)
    from_json = nx.node_link_graph(json.loads(export_snapshot(snapshot, "json")), edges="edges")

    assert graph.is_directed()
    assert graph.graph["organization"] == "acme"
    assert graph.nodes["team:dba"]["name"] == HOSTILE
    assert graph.nodes["unit:web"]["parent"] == "eng"
    # None cannot be written in GraphML: absent values are left out instead.
    assert "parent" not in graph.nodes["unit:eng"]
    assert "manager" not in graph.nodes["team:plat"]
    collaboration = graph.edges["team:checkout", "team:plat", "collaboration"]
    assert collaboration["expected_end"] == "2024-06-30"
    assert "since" not in graph.edges["team:plat", "team:misc", "facilitating"]
    member = graph.edges["person:john@a.example", "team:checkout", "member"]
    assert member["allocation_percent"] == 50
    assert sorted(graph.edges(keys=True)) == sorted(from_json.edges(keys=True))


def test_mermaid_draws_units_as_nested_subgraphs_holding_their_teams() -> None:
    text = export_snapshot(make_snapshot(), "mermaid")
    lines = [line.strip() for line in text.splitlines()]

    assert lines[0] == "flowchart LR"
    assert lines[1] == "%% acme as of 2025-03-31T12:00:00+00:00"
    eng = lines.index('subgraph u_eng["Engineering · department"]')
    web = lines.index('subgraph u_web["Web · sub-department"]')
    checkout = next(i for i, line in enumerate(lines) if line.startswith("t_checkout["))
    web_end = lines.index("end", web)
    assert eng < web < checkout < web_end
    assert 't_checkout["Checkout<br/>stream-aligned · 2 members"]' in lines
    plat = next(i for i, line in enumerate(lines) if line.startswith("t_plat["))
    assert plat > max(i for i, line in enumerate(lines) if line == "end")  # outside every unit


def test_mermaid_leaves_people_out_but_counts_members() -> None:
    text = export_snapshot(make_snapshot(), "mermaid")
    assert "@" not in text
    assert "John A" not in text
    assert "ops silo (database) · 1 member" in text


def test_mermaid_styles_each_interaction_mode_differently() -> None:
    text = export_snapshot(make_snapshot(), "mermaid")
    links = [line.strip() for line in text.splitlines() if "|" in line and "t_" in line]

    assert links == [
        't_checkout ==>|"tickets: blocking"| t_dba',
        't_checkout <-->|"collaboration"| t_plat',
        't_checkout -->|"X-as-a-Service"| t_plat',
        't_plat -.->|"facilitating"| t_misc',
    ]
    assert "linkStyle 0 stroke:#d62728,stroke-width:3px,color:#d62728" in text
    assert "classDef ops_silo" in text
    assert "class t_dba ops_silo" in text


def test_mermaid_escapes_hostile_names() -> None:
    text = export_snapshot(make_snapshot(), "mermaid")
    dba = next(line.strip() for line in text.splitlines() if line.strip().startswith("t_dba["))

    assert dba == 't_dba["a #34;quoted#34; [team] #60;x#62;<br/>ops silo (database) · 1 member"]'
    # The only double quotes are the two that delimit the label.
    assert dba.count('"') == 2


def test_mermaid_text_escapes_codes_and_flattens_line_breaks() -> None:
    assert mermaid_text('x "#quot;" & `y`\n<b>') == "x #34;#35;quot;#34; #38; #96;y#96; #60;b#62;"


def test_mermaid_ids_are_safe_and_unique_for_slugs_that_differ_only_in_punctuation() -> None:
    snapshot = make_snapshot()
    snapshot.teams += [
        TeamNode(slug="a-b", name="Dash", type="platform"),
        TeamNode(slug="a_b", name="Underscore", type="platform"),
    ]
    text = export_snapshot(snapshot, "mermaid")
    ids = re.findall(r"^\s*(t_\w+)\[", text, flags=re.MULTILINE)
    assert len(ids) == len(set(ids)) == 6
    assert {"t_a_b", "t_a_b_2"} <= set(ids)


def test_mermaid_draws_a_unit_in_a_parent_cycle_once() -> None:
    snapshot = make_snapshot()
    snapshot.units = [
        UnitNode(slug="x", name="X", kind="department", parent="y"),
        UnitNode(slug="y", name="Y", kind="department", parent="x"),
    ]
    text = export_snapshot(snapshot, "mermaid")
    assert text.count("subgraph u_x[") == 1
    assert text.count("subgraph u_y[") == 1


def test_dot_draws_units_as_clusters_and_styles_edges_by_mode() -> None:
    text = export_snapshot(make_snapshot(), "dot")

    assert text.startswith('digraph "acme" {')
    assert text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    assert 'subgraph "cluster_unit:eng" {' in text
    assert 'subgraph "cluster_unit:web" {' in text
    assert text.index('"cluster_unit:web"') < text.index('"team:checkout" [label')
    assert (
        '"team:checkout" -> "team:dba" [label="tickets: blocking", color="#d62728", '
        'fontcolor="#d62728", style=bold, penwidth=2.5];'
    ) in text
    assert 'label="collaboration"' in text
    assert "dir=both" in text
    assert 'label="facilitating"' in text
    assert "style=dotted" in text
    assert "@" not in text


def test_dot_escapes_hostile_names() -> None:
    text = export_snapshot(make_snapshot(), "dot")
    assert '[label="a \\"quoted\\" [team] <x>\\nops silo (database) · 1 member"' in text


def test_dot_quote_escapes_backslashes_quotes_and_line_breaks() -> None:
    assert dot_quote('a\\N "b"\nc') == '"a\\\\N \\"b\\"\\nc"'


def load_backstage(text: str) -> list[dict]:
    return [document for document in YAML(typ="safe", pure=True).load_all(text) if document]


def test_backstage_has_a_group_per_unit_and_team_and_a_user_per_person() -> None:
    documents = load_backstage(export_snapshot(make_snapshot(), "backstage"))

    assert all(doc["apiVersion"] == "backstage.io/v1alpha1" for doc in documents)
    groups = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "Group"}
    users = {doc["spec"]["profile"]["email"]: doc for doc in documents if doc["kind"] == "User"}
    assert set(groups) == {"eng", "web", "checkout", "dba", "misc", "plat"}
    assert set(users) == {"alice@example.com", "john@a.example", "john@b.example"}

    assert groups["eng"]["spec"] == {
        "type": "department",
        "profile": {"displayName": "Engineering"},
        "children": ["web", "dba", "misc"],
    }
    assert groups["web"]["spec"]["parent"] == "eng"
    assert groups["checkout"]["spec"] == {
        "type": "stream-aligned",
        "profile": {"displayName": "Checkout"},
        "parent": "web",
        "children": [],
    }
    assert groups["misc"]["spec"]["type"] == "team"
    assert groups["plat"]["spec"]["type"] == "platform"
    assert "parent" not in groups["plat"]["spec"]
    assert groups["dba"]["spec"]["type"] == "ops-silo"
    assert groups["dba"]["metadata"]["annotations"] == {"transform.dev/specialty": "database"}
    assert groups["dba"]["metadata"]["description"] == "Guards the databases"
    assert groups["dba"]["spec"]["profile"]["displayName"] == HOSTILE

    assert users["alice@example.com"]["spec"] == {
        "profile": {"displayName": "Alice", "email": "alice@example.com"},
        "memberOf": ["checkout", "dba"],
    }
    # Serving a team is not membership.
    assert users["john@b.example"]["spec"]["memberOf"] == []


def test_backstage_gives_people_with_the_same_local_part_unique_user_names() -> None:
    documents = load_backstage(export_snapshot(make_snapshot(), "backstage"))
    names = {
        doc["spec"]["profile"]["email"]: doc["metadata"]["name"]
        for doc in documents
        if doc["kind"] == "User"
    }
    assert names == {
        "alice@example.com": "alice",
        "john@a.example": "john",
        "john@b.example": "john-2",
    }


def test_backstage_user_names_are_valid_entity_names() -> None:
    emails = [
        "Jane.Doe+ops@x.example",
        "jane.doe@y.example",
        "jane.doe-2@z.example",
        "..@odd.example",
        "é@unicode.example",
        f"{'a' * 80}@long.example",
        f"{'a' * 80}@longer.example",
    ]
    names = backstage_user_names(emails)

    valid = re.compile(r"^([a-z0-9]+[-_.])*[a-z0-9]+$")
    assert all(valid.match(name) and len(name) <= 63 for name in names.values()), names
    assert len(set(names.values())) == len(emails)
    assert names["jane.doe@y.example"] == "jane.doe"
    assert names["Jane.Doe+ops@x.example"] == "jane.doe-ops"
    # jane.doe-2 is someone's own name, so it is not handed out as a suffix.
    assert names["jane.doe-2@z.example"] == "jane.doe-2"
    assert names["..@odd.example"] == "user"
    assert names[f"{'a' * 80}@long.example"] == "a" * 63
    assert names[f"{'a' * 80}@longer.example"] == "a" * 61 + "-2"


def test_backstage_user_names_do_not_depend_on_input_order() -> None:
    emails = ["john@b.example", "john@a.example", "john@c.example"]
    assert backstage_user_names(emails) == backstage_user_names(reversed(emails))


def test_backstage_quotes_strings_that_yaml_1_1_would_read_as_other_types() -> None:
    snapshot = make_snapshot()
    snapshot.people.append(PersonNode(email="y@example.com", name="0123"))
    text = export_snapshot(snapshot, "backstage")

    assert "displayName: 'NO'" in text
    assert "displayName: '12:30'" in text
    assert "displayName: 'on'" in text
    assert "displayName: '0123'" in text
    # PyYAML follows YAML 1.1, where unquoted NO, on and 12:30 are a boolean and a number.
    loaded = [doc for doc in yaml.safe_load_all(text) if doc]
    display_names = {doc["spec"]["profile"].get("displayName") for doc in loaded}
    assert {"NO", "12:30", "on", "0123"} <= display_names


def test_backstage_renames_a_unit_whose_slug_a_team_has() -> None:
    snapshot = make_snapshot()
    snapshot.units.append(UnitNode(slug="plat", name="Platform unit", kind="division", parent=None))
    snapshot.teams = [
        dataclasses.replace(team, unit="plat") if team.slug == "plat" else team
        for team in snapshot.teams
    ]
    documents = load_backstage(export_snapshot(snapshot, "backstage"))
    groups = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "Group"}

    assert groups["plat"]["spec"]["type"] == "platform"
    assert groups["plat"]["spec"]["parent"] == "plat-unit"
    assert groups["plat-unit"]["spec"]["type"] == "division"
    assert groups["plat-unit"]["spec"]["children"] == ["plat"]


def test_backstage_leaves_out_an_empty_display_name_and_defaults_an_empty_unit_kind() -> None:
    snapshot = make_snapshot()
    snapshot.units.append(UnitNode(slug="blank", name="", kind="", parent=None))
    documents = load_backstage(export_snapshot(snapshot, "backstage"))
    blank = next(doc for doc in documents if doc["metadata"]["name"] == "blank")
    assert blank["spec"] == {"type": "department", "children": []}
