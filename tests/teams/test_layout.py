"""Stable team positions (teams.layout), without a database: deterministic, grouped by unit,
never overlapping, and a scenario's target reusing the current positions."""

from __future__ import annotations

import dataclasses
import datetime as dt

from teams.graph import InteractionEdge, MembershipEdge, OrgSnapshot, TeamNode, UnitNode
from teams.layout import (
    CELL_HEIGHT,
    CELL_WIDTH,
    NODE_BOX,
    boxes_overlap,
    positions_extend,
    predecessors,
    team_positions,
)
from teams.scenarios import apply_changes, change_parse

NOW = dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC)


def _snapshot(teams: int = 14) -> OrgSnapshot:
    """Squads in two units waiting on three silos of a third; one team has no unit."""
    units = [
        UnitNode(slug=slug, name=slug.title(), kind="department", parent=None)
        for slug in ("infra", "retail", "wholesale")
    ]
    nodes = [
        TeamNode(slug="dba", name="DBA", type="ops_silo", unit="infra"),
        TeamNode(slug="net", name="Net", type="ops_silo", unit="infra"),
        TeamNode(slug="ops", name="Ops", type="ops_silo", unit="infra"),
        TeamNode(slug="loose", name="Loose", type="unclassified"),
    ]
    nodes += [
        TeamNode(
            slug=f"squad-{n:02d}",
            name=f"Squad {n}",
            type="stream_aligned",
            unit="retail" if n % 2 else "wholesale",
        )
        for n in range(teams - len(nodes))
    ]
    memberships = [
        MembershipEdge(person=f"{team.slug}-{i}@x.test", team=team.slug, role="member")
        for team in nodes
        for i in range(3)
    ]
    interactions = [
        InteractionEdge(
            source=team.slug, target=("dba", "net", "ops")[i % 3], mode="ticket_dependency"
        )
        for i, team in enumerate(t for t in nodes if t.type == "stream_aligned")
    ]
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=NOW,
        units=units,
        teams=nodes,
        memberships=memberships,
        interactions=interactions,
    )


MERGE = {
    "kind": "merge_teams",
    "teams": ["dba", "net", "ops"],
    "into": "infrastructure-platform",
    "name": "Infrastructure Platform",
    "type": "platform",
}


def test_the_same_topology_always_gets_the_same_positions() -> None:
    snapshot = _snapshot()

    first = team_positions(snapshot)
    again = team_positions(_snapshot())
    shuffled = dataclasses.replace(
        snapshot,
        teams=list(reversed(snapshot.teams)),
        interactions=list(reversed(snapshot.interactions)),
    )

    assert first == again
    assert team_positions(shuffled) == first  # the order rows arrive in does not matter
    assert set(first) == {team.slug for team in snapshot.teams}


def test_teams_sit_on_a_lattice_grouped_by_unit_and_never_overlap() -> None:
    positions = team_positions(_snapshot(60))

    assert not boxes_overlap(positions)
    assert all(p["x"] % CELL_WIDTH == 0 and p["y"] % CELL_HEIGHT == 0 for p in positions.values())
    # A unit's teams form one block: the box around the silos holds no other team.
    silos = [positions[slug] for slug in ("dba", "net", "ops")]
    x1, x2 = min(p["x"] for p in silos), max(p["x"] for p in silos)
    y1, y2 = min(p["y"] for p in silos), max(p["y"] for p in silos)
    inside = [
        slug
        for slug, p in positions.items()
        if x1 <= p["x"] <= x2 and y1 <= p["y"] <= y2 and slug not in {"dba", "net", "ops"}
    ]
    assert inside == []


def test_the_overlap_check_catches_two_teams_in_one_place() -> None:
    width, height = NODE_BOX
    close = {"a": {"x": 0.0, "y": 0.0}, "b": {"x": width / 2, "y": height / 2}}
    apart = {"a": {"x": 0.0, "y": 0.0}, "b": {"x": float(CELL_WIDTH), "y": 0.0}}

    assert boxes_overlap(close)
    assert not boxes_overlap(apart)


def test_a_merge_target_keeps_every_staying_team_in_place_and_overlaps_nothing() -> None:
    before = _snapshot()
    after = apply_changes(before, [change_parse(MERGE)])
    base = team_positions(before)

    target = positions_extend(base, after, predecessors(before, after))

    staying = {team.slug for team in after.teams} & set(base)
    assert staying
    assert all(target[slug] == base[slug] for slug in staying)
    assert set(target) == {team.slug for team in after.teams}
    assert not boxes_overlap(target)
    # The merged team sits where the silos were: within one cell of their block.
    merged = target["infrastructure-platform"]
    silo_x = [base[slug]["x"] for slug in ("dba", "net", "ops")]
    silo_y = [base[slug]["y"] for slug in ("dba", "net", "ops")]
    assert min(silo_x) - CELL_WIDTH <= merged["x"] <= max(silo_x) + CELL_WIDTH
    assert min(silo_y) - CELL_HEIGHT <= merged["y"] <= max(silo_y) + CELL_HEIGHT


def test_the_merge_result_comes_from_the_teams_its_members_were_in() -> None:
    before = _snapshot()
    after = apply_changes(before, [change_parse(MERGE)])

    assert predecessors(before, after) == {"infrastructure-platform": ["dba", "net", "ops"]}


def test_a_new_team_without_origins_goes_to_a_free_cell_and_positions_are_deterministic() -> None:
    before = _snapshot()
    change = {"kind": "create_team", "slug": "fresh", "name": "Fresh", "type": "enabling"}
    after = apply_changes(before, [change_parse(change)])
    base = team_positions(before)

    first = positions_extend(base, after, predecessors(before, after))
    again = positions_extend(base, after, predecessors(before, after))

    assert first == again
    assert not boxes_overlap(first)
    assert first["fresh"] not in list(base.values())


def test_an_empty_organisation_has_no_positions() -> None:
    empty = OrgSnapshot(organization="acme", name="Acme", as_of=NOW)

    assert team_positions(empty) == {}
