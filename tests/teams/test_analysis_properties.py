"""Properties of the analysis on random snapshots, without a database: the bridges computed on
the multi-team people alone are the articulation points of the whole people-team graph."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teams.analysis import (
    AnalysisThresholds,
    _index,
    bridging_people,
    people_graph,
    person_bottleneck_findings,
    person_bridges,
)
from teams.graph import MembershipEdge, OrgSnapshot, PersonNode, ServesEdge, TeamNode

TEAM_TYPES = ("stream_aligned", "platform", "ops_silo", "enabling")


@st.composite
def snapshots(draw: st.DrawFn) -> OrgSnapshot:
    team_count = draw(st.integers(min_value=1, max_value=12))
    people_count = draw(st.integers(min_value=0, max_value=25))
    teams = [
        TeamNode(slug=f"t{i}", name=f"t{i}", type=draw(st.sampled_from(TEAM_TYPES)))
        for i in range(team_count)
    ]
    emails = [f"p{i}@example.com" for i in range(people_count)]
    links = st.tuples(
        st.integers(min_value=0, max_value=max(0, people_count - 1)),
        st.integers(min_value=0, max_value=team_count - 1),
    )
    member_links = draw(st.sets(links, max_size=40)) if people_count else set()
    serve_links = draw(st.sets(links, max_size=15)) if people_count else set()
    return OrgSnapshot(
        organization="random",
        name="Random",
        as_of=dt.datetime(2025, 6, 30, tzinfo=dt.UTC),
        teams=teams,
        people=[PersonNode(email=email, name=email) for email in emails],
        memberships=[
            MembershipEdge(person=emails[p], team=f"t{t}", role="member")
            for p, t in sorted(member_links)
        ],
        serves=[ServesEdge(person=emails[p], team=f"t{t}") for p, t in sorted(serve_links)],
    )


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_bridges_on_multi_team_people_equal_the_articulation_points_of_the_people_graph(
    snapshot: OrgSnapshot,
) -> None:
    expected = bridging_people(people_graph(snapshot))

    assert person_bridges(_index(snapshot).person_teams) == expected


@settings(max_examples=200, deadline=None)
@given(snapshots(), st.integers(min_value=2, max_value=4))
def test_person_bottlenecks_are_the_same_with_either_bridge_computation_and_flag_everyone_due(
    snapshot: OrgSnapshot, min_teams: int
) -> None:
    t = AnalysisThresholds(
        person_bottleneck_min_teams=min_teams, person_bottleneck_high_teams=min_teams + 1
    )
    index = _index(snapshot)

    old = person_bottleneck_findings(
        index=index, bridges=bridging_people(people_graph(snapshot)), t=t
    )
    new = person_bottleneck_findings(index=index, bridges=person_bridges(index.person_teams), t=t)

    assert [finding.as_dict() for finding in new] == [finding.as_dict() for finding in old]
    # Looking only at people in min_teams teams or more loses nobody: the flagged people are
    # those of every person with enough delivery teams, or a bridge.
    bridges = bridging_people(people_graph(snapshot))
    expected = {
        email
        for email, teams in index.person_teams.items()
        if sum(1 for team in teams if index.team_type.get(team) == "stream_aligned") >= min_teams
    } | bridges
    assert [finding.subjects[0]["email"] for finding in new] == sorted(expected)


def test_the_analysis_turns_the_cyclic_collector_back_on_even_when_it_raises() -> None:
    import gc

    from teams.analysis import InvalidThresholdsError, analyze_snapshot, cyclic_gc_paused

    snapshot = OrgSnapshot(
        organization="x", name="X", as_of=dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
    )
    analyze_snapshot(snapshot)
    assert gc.isenabled()

    snapshot.thresholds = {"team_size_max": "many"}
    with pytest.raises(InvalidThresholdsError):
        analyze_snapshot(snapshot)
    assert gc.isenabled()

    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
