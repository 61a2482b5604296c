"""The ``x-transform`` extension the TeamAPI reader reads back (what ``export_org --format
teamapi`` writes beyond the TeamAPI fields), and the pure TeamAPI writer."""

from __future__ import annotations

import datetime as dt

import pytest

from core.files.origin import ImportFailure
from core.files.yamlio import load_documents
from teams import exporters
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    ServiceNode,
    TeamNode,
)
from teams.importers.bundle import ImportBundle
from teams.importers.teamapi import read_teamapi

FULL = """\
teamapi: 0.1.0
info:
  name: Checkout Squad
  type: ops-silo
services:
  - name: Orders API
    kind: api
    x-transform: {slug: orders}
interactions:
  - teamName: Platform
    mode: collaboration
    startDate: 2025-01-06
    x-transform: {team: platform-team, expected_end: 2025-02-01}
dependencies:
  - teamName: DBA
    type: Blocking
    x-transform: {team: dba, since: 2024-02-29}
x-transform:
  slug: checkout
  specialty: database
  unit: eng
  manager: Alice@Example.com
  members:
    - {person: bob@example.com, role: devops_buddy, allocation_percent: 20}
  served_by:
    - {person: carol@example.com, note: nights}
"""


def read(text: str) -> ImportBundle:
    return read_teamapi(load_documents("team.yaml", text)[0])


def failure(text: str) -> ImportFailure:
    with pytest.raises(ImportFailure) as caught:
        read(text)
    return caught.value


def test_the_extension_gives_the_slug_specialty_unit_manager_members_and_serves_links() -> None:
    bundle = read(FULL)

    assert bundle.teams["checkout"].value == TeamNode(
        slug="checkout",
        name="Checkout Squad",
        type="ops_silo",
        specialty="database",
        unit="eng",
        manager="alice@example.com",
    )
    assert [entry.value for entry in bundle.memberships.values()] == [
        MembershipEdge(
            person="bob@example.com", team="checkout", role="devops_buddy", allocation_percent=20
        )
    ]
    assert [entry.value for entry in bundle.serves.values()] == [
        ServesEdge(person="carol@example.com", team="checkout", note="nights")
    ]
    assert [entry.value for entry in bundle.services.values()] == [
        ServiceNode(kind="api", slug="orders", owner="checkout", name="Orders API")
    ]


def test_the_extension_names_the_other_team_and_gives_exact_dates() -> None:
    bundle = read(FULL)

    links = {key: entry.value for key, entry in bundle.interactions.items()}
    assert links[("checkout", "platform-team", "collaboration")] == InteractionEdge(
        source="checkout",
        target="platform-team",
        mode="collaboration",
        since=dt.date(2025, 1, 6),
        expected_end=dt.date(2025, 2, 1),
    )
    assert links[("checkout", "dba", "ticket_dependency")].since == dt.date(2024, 2, 29)
    assert set(bundle.team_references) == {"platform-team", "dba"}


def test_without_the_extension_the_slugs_come_from_the_names() -> None:
    bundle = read("info: {name: Checkout Squad}\ndependencies: [{teamName: The DBA}]\n")

    assert list(bundle.teams) == ["checkout-squad"]
    assert set(bundle.team_references) == {"the-dba"}


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        ("x-transform: [a]", "x-transform: expected a mapping, found a list"),
        ("x-transform: {slug: 'no spaces'}", "x-transform.slug: expected a slug"),
        ("x-transform: {specialty: plumbing}", "x-transform.specialty: expected one of"),
        ("x-transform: {manager: nobody}", "x-transform.manager:"),
        ("x-transform: {colour: red}", "x-transform.colour: unknown field"),
        (
            "x-transform: {members: [{person: a@example.com, allocation_percent: 0}]}",
            "x-transform.members[0].allocation_percent:",
        ),
    ],
)
def test_a_wrong_team_extension_is_an_error_naming_the_field(extension: str, message: str) -> None:
    error = failure(f"info: {{name: A}}\n{extension}\n")

    assert message in str(error)
    assert "team.yaml" in str(error)


def test_an_expected_end_before_the_start_is_an_error_naming_the_interaction() -> None:
    error = failure(
        "info: {name: A}\ninteractions:\n  - teamName: B\n    mode: collaboration\n"
        "    startDate: 2025-03-01\n    x-transform: {expected_end: 2025-02-01}\n"
    )

    assert "interactions[0].x-transform.expected_end: 2025-02-01 is before the start" in str(error)


def test_the_extension_may_not_name_the_documents_own_team() -> None:
    error = failure(
        "info: {name: A}\nx-transform: {slug: a-team}\ndependencies:\n"
        "  - teamName: Other\n    x-transform: {team: a-team}\n"
    )

    assert "this document's own team" in str(error)


def snapshot() -> OrgSnapshot:
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        teams=[
            TeamNode(slug="b", name="B", type="platform", services=("component:x",)),
            TeamNode(slug="a", name="A", type="stream_aligned"),
        ],
        people=[PersonNode(email="p@example.com", name="P")],
        memberships=[
            MembershipEdge(person="p@example.com", team="a", role="lead"),
            MembershipEdge(person="gone@example.com", team="a", role="member"),
        ],
        interactions=[
            InteractionEdge(source="a", target="b", mode="ticket_dependency", severity="ok"),
            InteractionEdge(source="a", target="retired", mode="collaboration"),
        ],
    )


def test_the_writer_gives_the_org_file_then_one_file_per_team_in_slug_order() -> None:
    files = list(exporters.export_teamapi(snapshot()))

    assert [name for name, _text in files] == ["organisation.org.yaml", "a.yaml", "b.yaml"]


def test_the_writer_leaves_out_links_to_people_and_teams_outside_the_snapshot() -> None:
    files = dict(exporters.export_teamapi(snapshot()))

    team_a = read(files["a.yaml"])
    assert list(team_a.memberships) == [("p@example.com", "a")]
    assert list(team_a.interactions) == [("a", "b", "ticket_dependency")]


def test_the_writer_names_a_service_by_its_name_or_else_its_slug() -> None:
    named = dict(exporters.export_teamapi(snapshot(), service_names={"component:x": "X: one"}))
    unnamed = dict(exporters.export_teamapi(snapshot()))

    assert read(named["b.yaml"]).services[("component", "x")].value.name == "X: one"
    assert read(unnamed["b.yaml"]).services[("component", "x")].value.name == "x"
