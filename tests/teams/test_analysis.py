"""The organisation analysis on plain snapshots: no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import networkx as nx
import pytest

from teams import analysis
from teams.analysis import AnalysisThresholds, InvalidThresholdsError, analyze_snapshot
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
)

AS_OF = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)


def snapshot(
    teams: dict[str, str] | None = None,
    *,
    members: dict[str, list[str]] | None = None,
    roles: dict[tuple[str, str], str] | None = None,
    serves: list[tuple[str, str]] | None = None,
    interactions: list[InteractionEdge] | None = None,
    specialties: dict[str, str] | None = None,
    thresholds: dict[str, object] | None = None,
) -> OrgSnapshot:
    """``teams``: slug -> type; ``members``: slug -> e-mails (role "member" unless in ``roles``)."""
    members = members or {}
    roles = roles or {}
    emails = sorted(
        {email for people in members.values() for email in people}
        | {email for email, _ in serves or []}
    )
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=AS_OF,
        teams=[
            TeamNode(
                slug=slug,
                name=slug,
                type=kind,
                specialty=(specialties or {}).get(slug, "database" if kind == "ops_silo" else ""),
            )
            for slug, kind in (teams or {}).items()
        ],
        people=[PersonNode(email=email, name=email) for email in emails],
        memberships=[
            MembershipEdge(person=email, team=slug, role=roles.get((slug, email), "member"))
            for slug, people in members.items()
            for email in people
        ],
        serves=[ServesEdge(person=email, team=slug) for email, slug in serves or []],
        interactions=interactions or [],
        thresholds=dict(thresholds or {}),
    )


def ticket(source: str, target: str, severity: str = "slowing") -> InteractionEdge:
    return InteractionEdge(
        source=source, target=target, mode="ticket_dependency", severity=severity
    )


def crew(slug: str, size: int = 6) -> list[str]:
    return [f"{slug}-{i}@example.com" for i in range(size)]


def findings(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [finding for finding in report["findings"] if finding["kind"] == kind]


def team_slugs(finding: dict[str, Any]) -> list[str]:
    return [s["slug"] for s in finding["subjects"] if s["type"] == "team"]


def staffed(teams: dict[str, str], **kwargs: Any) -> OrgSnapshot:
    """A snapshot in which every team has six members, one of whom has the role it needs."""
    members = {slug: crew(slug) for slug in teams}
    roles = kwargs.pop("roles", {})
    for slug, kind in teams.items():
        if kind == "stream_aligned":
            roles.setdefault((slug, crew(slug)[0]), "devops_buddy")
        if kind == "platform":
            roles.setdefault((slug, crew(slug)[0]), "product_owner")
    return snapshot(teams, members=kwargs.pop("members", members), roles=roles, **kwargs)


# --- vocabulary and shape ------------------------------------------------------------------------


def test_vocabularies_match_the_models() -> None:
    from teams.models import InteractionMode, MembershipRole, Severity, TeamType

    assert set(analysis.TEAM_TYPES) == set(TeamType.values)
    assert set(analysis.INTERACTION_MODES) == set(InteractionMode.values)
    assert set(analysis.SEVERITY_WEIGHTS) - {""} == set(Severity.values)
    assert {analysis.DEVOPS_BUDDY, analysis.PRODUCT_OWNER} <= set(MembershipRole.values)


def test_it_returns_the_issue_shape_as_json() -> None:
    report = analyze_snapshot(
        staffed(
            {
                "s1": "stream_aligned",
                "s2": "stream_aligned",
                "s3": "stream_aligned",
                "db": "ops_silo",
            },
            interactions=[ticket("s1", "db"), ticket("s2", "db"), ticket("s3", "db")],
        )
    )

    assert set(report) == {"organization", "as_of", "metrics", "findings"}
    assert report["organization"] == "acme"
    assert report["as_of"] == "2025-06-30"
    assert report["findings"]
    for finding in report["findings"]:
        assert {"kind", "severity", "subjects", "explanation", "suggested_playbook"} <= set(finding)
        assert finding["kind"] in analysis.FINDING_KINDS
        assert finding["severity"] in ("high", "medium", "low")
        for subject in finding["subjects"]:
            assert subject in (
                {"type": "team", "slug": subject.get("slug")},
                {"type": "person", "email": subject.get("email"), "name": subject.get("name")},
            )
    assert json.loads(json.dumps(report)) == report


def test_an_empty_organisation_has_no_findings_and_null_ratios() -> None:
    report = analyze_snapshot(snapshot())

    assert report["findings"] == []
    assert report["metrics"]["teams"] == 0
    assert report["metrics"]["stream_aligned_with_buddy_share"] is None
    assert report["metrics"]["ticket_dependencies_per_stream_team"] is None
    assert report["metrics"]["flow_score"] == 0.0


# --- team_bottleneck -----------------------------------------------------------------------------


def test_it_flags_a_team_with_three_dependent_teams() -> None:
    teams = {"p": "platform", "a": "stream_aligned", "b": "stream_aligned", "c": "stream_aligned"}
    report = analyze_snapshot(
        staffed(teams, interactions=[ticket("a", "p"), ticket("b", "p"), ticket("c", "p")])
    )

    [finding] = findings(report, "team_bottleneck")
    assert team_slugs(finding) == ["p", "a", "b", "c"]
    assert finding["severity"] == "medium"
    assert finding["suggested_playbook"] == "platform-as-a-product"


def test_it_does_not_flag_a_team_with_two_dependents_and_no_betweenness() -> None:
    teams = {"p": "platform", "a": "stream_aligned", "b": "stream_aligned"}
    report = analyze_snapshot(staffed(teams, interactions=[ticket("a", "p"), ticket("b", "p")]))

    assert findings(report, "team_bottleneck") == []


def test_x_as_a_service_consumers_do_not_make_a_bottleneck() -> None:
    teams = {"p": "platform", "a": "stream_aligned", "b": "stream_aligned", "c": "stream_aligned"}
    xaas = [InteractionEdge(source=s, target="p", mode="x_as_a_service") for s in "abc"]
    report = analyze_snapshot(staffed(teams, interactions=xaas))

    assert findings(report, "team_bottleneck") == []


def test_it_flags_a_team_through_which_dependency_chains_pass() -> None:
    # m has only two dependents, but every wait of a and b on the silo goes through m.
    teams = {"a": "stream_aligned", "b": "stream_aligned", "m": "platform", "db": "ops_silo"}
    report = analyze_snapshot(
        staffed(teams, interactions=[ticket("a", "m"), ticket("b", "m"), ticket("m", "db")])
    )

    [finding] = findings(report, "team_bottleneck")
    assert team_slugs(finding)[0] == "m"
    assert "betweenness" in finding["explanation"]


def test_a_team_bottleneck_is_high_from_six_dependents_and_on_a_silo_suggests_unifying() -> None:
    teams = {"db": "ops_silo"} | {f"s{i}": "stream_aligned" for i in range(6)}
    report = analyze_snapshot(
        staffed(teams, interactions=[ticket(f"s{i}", "db") for i in range(6)])
    )

    [finding] = findings(report, "team_bottleneck")
    assert finding["severity"] == "high"
    assert finding["suggested_playbook"] == "unify-ops-silos"


def test_team_bottleneck_thresholds_can_be_overridden() -> None:
    teams = {"p": "platform", "a": "stream_aligned", "b": "stream_aligned"}
    report = analyze_snapshot(
        staffed(
            teams,
            interactions=[ticket("a", "p"), ticket("b", "p")],
            thresholds={"team_bottleneck_min_dependents": 2, "team_bottleneck_high_dependents": 2},
        )
    )

    [finding] = findings(report, "team_bottleneck")
    assert finding["severity"] == "high"


def test_dependency_betweenness_matches_networkx() -> None:
    graph = nx.gnp_random_graph(60, 0.08, seed=3, directed=True)
    graph = nx.relabel_nodes(graph, {n: f"t{n}" for n in graph})

    ours = analysis.dependency_betweenness(graph)
    reference = nx.betweenness_centrality(graph)

    assert ours == pytest.approx(reference)


# --- person_bottleneck ---------------------------------------------------------------------------


def test_it_flags_a_devops_engineer_serving_three_squads() -> None:
    teams = {f"s{i}": "stream_aligned" for i in range(3)}
    report = analyze_snapshot(
        staffed(teams, serves=[("ops@example.com", f"s{i}") for i in range(3)])
    )

    person = [
        f
        for f in findings(report, "person_bottleneck")
        if f["subjects"][0]["email"] == "ops@example.com"
    ]
    [finding] = person
    assert finding["severity"] == "medium"
    assert team_slugs(finding) == ["s0", "s1", "s2"]
    assert finding["suggested_playbook"] == "devops-buddy-programme"


def test_it_counts_memberships_and_serves_together_and_only_delivery_teams() -> None:
    teams = {"s0": "stream_aligned", "s1": "stream_aligned", "p": "platform", "e": "enabling"}
    members = {slug: crew(slug) for slug in teams}
    members["s0"].append("ann@example.com")
    members["p"].append("ann@example.com")
    report = analyze_snapshot(
        staffed(
            teams,
            members=members,
            serves=[("ann@example.com", "s1"), ("ann@example.com", "e")],
            thresholds={"person_bottleneck_flag_bridges": False},
        )
    )
    # Ann touches four teams but only two delivery (stream-aligned) teams.
    assert findings(report, "person_bottleneck") == []

    widened = analyze_snapshot(
        staffed(
            teams,
            members=members,
            serves=[("ann@example.com", "s1"), ("ann@example.com", "e")],
            thresholds={
                "person_bottleneck_flag_bridges": False,
                "person_bottleneck_delivery_types": ["stream_aligned", "platform"],
            },
        )
    )
    [finding] = findings(widened, "person_bottleneck")
    assert finding["subjects"][0] == {
        "type": "person",
        "email": "ann@example.com",
        "name": "ann@example.com",
    }


def test_a_person_in_five_delivery_teams_is_high() -> None:
    teams = {f"s{i}": "stream_aligned" for i in range(5)}
    report = analyze_snapshot(
        staffed(teams, serves=[("ops@example.com", f"s{i}") for i in range(5)])
    )

    [finding] = findings(report, "person_bottleneck")
    assert finding["severity"] == "high"


def test_it_flags_the_only_person_linking_two_teams() -> None:
    members = {"a": [*crew("a"), "bob@example.com"], "b": [*crew("b"), "bob@example.com"]}
    report = analyze_snapshot(
        staffed({"a": "stream_aligned", "b": "stream_aligned"}, members=members)
    )

    [finding] = findings(report, "person_bottleneck")
    assert finding["subjects"][0]["email"] == "bob@example.com"
    assert finding["severity"] == "low"
    assert "only person linking" in finding["explanation"]


def test_a_person_is_not_a_bridge_when_someone_else_also_links_the_teams() -> None:
    members = {
        "a": [*crew("a"), "bob@example.com", "eve@example.com"],
        "b": [*crew("b"), "bob@example.com", "eve@example.com"],
    }
    report = analyze_snapshot(
        staffed({"a": "stream_aligned", "b": "stream_aligned"}, members=members)
    )

    assert findings(report, "person_bottleneck") == []


# --- ops_silo ------------------------------------------------------------------------------------


def test_it_groups_ops_silos_receiving_tickets_by_specialty() -> None:
    teams = {
        "dba-eu": "ops_silo",
        "dba-us": "ops_silo",
        "net": "ops_silo",
        "sec": "ops_silo",
        "a": "stream_aligned",
        "b": "stream_aligned",
    }
    report = analyze_snapshot(
        staffed(
            teams,
            specialties={
                "dba-eu": "database",
                "dba-us": "database",
                "net": "networking",
                "sec": "security",
            },
            interactions=[
                ticket("a", "dba-eu"),
                ticket("b", "dba-us"),
                ticket("a", "net", "blocking"),
            ],
        )
    )

    silo = {tuple(team_slugs(f)): f for f in findings(report, "ops_silo")}
    # One finding per specialty: silo teams first, then the teams waiting on them; "sec"
    # receives no ticket and is not reported.
    assert set(silo) == {("dba-eu", "dba-us", "a", "b"), ("net", "a")}
    assert silo[("net", "a")]["severity"] == "high"  # a blocking dependency
    assert silo[("dba-eu", "dba-us", "a", "b")]["severity"] == "medium"
    assert all(f["suggested_playbook"] == "unify-ops-silos" for f in silo.values())


def test_an_ops_silo_reached_only_as_a_service_is_not_a_finding() -> None:
    report = analyze_snapshot(
        staffed(
            {"db": "ops_silo", "a": "stream_aligned"},
            interactions=[InteractionEdge(source="a", target="db", mode="x_as_a_service")],
        )
    )

    assert findings(report, "ops_silo") == []


# --- missing roles -------------------------------------------------------------------------------


def test_it_flags_a_stream_aligned_team_without_devops_buddy() -> None:
    report = analyze_snapshot(
        snapshot(
            {"a": "stream_aligned", "b": "stream_aligned", "db": "ops_silo"},
            members={"a": crew("a"), "b": crew("b")},
            roles={("b", crew("b")[0]): "devops_buddy"},
            interactions=[ticket("a", "db")],
        )
    )

    [finding] = findings(report, "missing_devops_buddy")
    assert team_slugs(finding) == ["a"]
    assert finding["severity"] == "high"  # its work waits on a silo
    assert finding["suggested_playbook"] == "devops-buddy-programme"


def test_a_team_without_buddy_and_without_silo_tickets_is_medium() -> None:
    report = analyze_snapshot(snapshot({"a": "stream_aligned"}, members={"a": crew("a")}))

    [finding] = findings(report, "missing_devops_buddy")
    assert finding["severity"] == "medium"


def test_a_team_without_buddy_waiting_on_a_platform_fed_through_tickets_is_high() -> None:
    # The ticket expenser under a new name (issue 13): retyping the silo as a platform does not
    # make the team's wait in its queue any shorter, so it must not lower the severity either.
    report = analyze_snapshot(
        snapshot(
            {"a": "stream_aligned", "infra": "platform"},
            members={"a": crew("a"), "infra": crew("infra")},
            interactions=[ticket("a", "infra", "blocking")],
        )
    )

    [finding] = findings(report, "missing_devops_buddy")
    assert finding["severity"] == "high"
    assert finding["impact"] == 2.0
    assert "platforms fed through tickets (infra)" in finding["explanation"]


def test_a_team_without_buddy_waiting_on_another_squad_or_a_subsystem_stays_medium() -> None:
    # A ticket to another stream-aligned team or a complicated subsystem is not operations work
    # a devops buddy would take in-house.
    report = analyze_snapshot(
        snapshot(
            {"a": "stream_aligned", "b": "stream_aligned", "ml": "complicated_subsystem"},
            members={"a": crew("a"), "b": crew("b"), "ml": crew("ml")},
            roles={("b", crew("b")[0]): "devops_buddy"},
            interactions=[ticket("a", "b", "blocking"), ticket("a", "ml")],
        )
    )

    [finding] = findings(report, "missing_devops_buddy")
    assert finding["severity"] == "medium"
    assert finding["impact"] == 1.0


def test_a_buddy_in_another_team_does_not_count() -> None:
    report = analyze_snapshot(
        snapshot(
            {"a": "stream_aligned", "p": "platform"},
            members={"a": crew("a"), "p": crew("p")},
            roles={("p", crew("p")[0]): "devops_buddy"},
        )
    )

    assert team_slugs(findings(report, "missing_devops_buddy")[0]) == ["a"]


def test_it_flags_a_platform_team_without_product_owner() -> None:
    report = analyze_snapshot(
        snapshot(
            {"p1": "platform", "p2": "platform", "a": "stream_aligned"},
            members={"p1": crew("p1"), "p2": crew("p2")},
            roles={("p2", crew("p2")[0]): "product_owner"},
            interactions=[InteractionEdge(source="a", target="p1", mode="x_as_a_service")],
        )
    )

    [finding] = findings(report, "missing_product_owner")
    assert team_slugs(finding) == ["p1"]
    assert finding["suggested_playbook"] == "platform-as-a-product"
    assert finding["impact"] == 1


def test_only_platform_teams_need_a_product_owner() -> None:
    report = analyze_snapshot(
        staffed({"e": "enabling", "c": "complicated_subsystem", "db": "ops_silo"})
    )

    assert findings(report, "missing_product_owner") == []


# --- cognitive_load ------------------------------------------------------------------------------


def partners_of(slug: str, count: int) -> tuple[dict[str, str], list[InteractionEdge]]:
    teams = {f"x{i}": "enabling" for i in range(count)}
    edges = [
        InteractionEdge(source=slug, target=f"x{i}", mode="x_as_a_service") for i in range(count)
    ]
    return teams, edges


def test_it_flags_a_small_team_with_many_partners() -> None:
    # Two full-time members carry the minimum capacity of 3; six partners are a load of 6 = ratio 2.
    others, edges = partners_of("a", 6)
    report = analyze_snapshot(
        staffed(
            {"a": "complicated_subsystem"} | others, members={"a": crew("a", 2)}, interactions=edges
        )
    )

    [finding] = findings(report, "cognitive_load")
    assert team_slugs(finding) == ["a"]
    assert finding["severity"] == "high"
    assert finding["impact"] == 3
    assert finding["suggested_playbook"] == "launch-platform-team"


def test_a_small_team_carries_the_minimum_capacity() -> None:
    others, edges = partners_of("a", 3)
    members = {"a": crew("a", 2)}
    report = analyze_snapshot(
        staffed({"a": "complicated_subsystem"} | others, members=members, interactions=edges)
    )
    assert findings(report, "cognitive_load") == []

    others, edges = partners_of("a", 4)
    report = analyze_snapshot(
        staffed({"a": "complicated_subsystem"} | others, members=members, interactions=edges)
    )
    [finding] = findings(report, "cognitive_load")
    assert finding["severity"] == "medium"


def test_a_full_team_carries_up_to_six_partners() -> None:
    others, edges = partners_of("a", 6)
    members = {"a": crew("a", 9)}
    report = analyze_snapshot(
        staffed({"a": "complicated_subsystem"} | others, members=members, interactions=edges)
    )
    assert findings(report, "cognitive_load") == []

    others, edges = partners_of("a", 7)
    report = analyze_snapshot(
        staffed({"a": "complicated_subsystem"} | others, members=members, interactions=edges)
    )
    [finding] = findings(report, "cognitive_load")
    assert finding["severity"] == "medium"


def test_ticket_dependencies_a_team_waits_on_add_to_its_load() -> None:
    # Four partners fit a six-person team (capacity 6); waiting on them blocked adds 4 more.
    teams = {"a": "complicated_subsystem"} | {f"x{i}": "enabling" for i in range(4)}
    report = analyze_snapshot(
        staffed(teams, interactions=[ticket("a", f"x{i}", "blocking") for i in range(4)])
    )

    assert team_slugs(findings(report, "cognitive_load")[0]) == ["a"]


def test_a_team_without_members_is_assumed_full_rather_than_overloaded() -> None:
    others, edges = partners_of("ghost", 3)
    report = analyze_snapshot(
        snapshot({"ghost": "complicated_subsystem"} | others, interactions=edges)
    )
    assert findings(report, "cognitive_load") == []

    others, edges = partners_of("ghost", 8)
    report = analyze_snapshot(
        snapshot({"ghost": "complicated_subsystem"} | others, interactions=edges)
    )
    [finding] = [f for f in findings(report, "cognitive_load") if team_slugs(f) == ["ghost"]]
    assert "no recorded members" in finding["explanation"]


def healthy_platform(
    consumers: int = 8, mode: str = "x_as_a_service", severity: str = "slowing"
) -> OrgSnapshot:
    """A platform of 8 people with a product owner, consumed by ``consumers`` stream teams."""
    streams = {f"s{i}": "stream_aligned" for i in range(consumers)}
    edges = [
        InteractionEdge(source=slug, target="platform", mode=mode, severity=severity)
        if mode == "ticket_dependency"
        else InteractionEdge(source=slug, target="platform", mode=mode)
        for slug in streams
    ]
    members = {slug: crew(slug) for slug in streams} | {"platform": crew("platform", 8)}
    return staffed({"platform": "platform"} | streams, members=members, interactions=edges)


def test_teams_consuming_a_platform_as_a_service_are_no_load_on_it() -> None:
    report = analyze_snapshot(healthy_platform())

    assert findings(report, "cognitive_load") == []
    assert findings(report, "missing_product_owner") == []


def test_a_platform_fed_by_many_ticket_dependencies_is_overloaded() -> None:
    report = analyze_snapshot(healthy_platform(mode="ticket_dependency"))

    [finding] = findings(report, "cognitive_load")
    assert team_slugs(finding) == ["platform"]
    # 8 partners + 8 slowing tickets received (4) = 12 against a capacity of 6.
    assert finding["severity"] == "high"
    assert finding["impact"] == 6
    assert "4 for the ticket work it receives" in finding["explanation"]
    assert finding["suggested_playbook"] == "platform-as-a-product"


def test_a_stream_team_in_four_collaborations_with_three_people_is_overloaded() -> None:
    teams = {"a": "stream_aligned"} | {f"x{i}": "stream_aligned" for i in range(4)}
    edges = [InteractionEdge(source=f"x{i}", target="a", mode="collaboration") for i in range(4)]
    report = analyze_snapshot(
        staffed(
            teams,
            members={"a": crew("a", 3)} | {f"x{i}": crew(f"x{i}") for i in range(4)},
            interactions=edges,
        )
    )

    [finding] = findings(report, "cognitive_load")
    assert team_slugs(finding) == ["a"]
    assert finding["severity"] == "medium"
    assert finding["suggested_playbook"] == "launch-platform-team"


def test_facilitating_given_is_load_on_the_enabling_team() -> None:
    teams = {"coach": "enabling"} | {f"s{i}": "stream_aligned" for i in range(4)}
    edges = [InteractionEdge(source="coach", target=f"s{i}", mode="facilitating") for i in range(4)]
    members = {"coach": crew("coach", 2)} | {f"s{i}": crew(f"s{i}") for i in range(4)}
    report = analyze_snapshot(staffed(teams, members=members, interactions=edges))

    assert [team_slugs(f) for f in findings(report, "cognitive_load")] == [["coach"]]


def test_cognitive_load_capacity_can_be_overridden() -> None:
    others, edges = partners_of("a", 6)
    teams = {"a": "complicated_subsystem"} | others
    members = {"a": crew("a", 2)}
    assert findings(
        analyze_snapshot(staffed(teams, members=members, interactions=edges)), "cognitive_load"
    )

    report = analyze_snapshot(
        staffed(
            teams,
            members=members,
            interactions=edges,
            thresholds={"cognitive_load_capacity_per_person": 3.0},
        )
    )

    assert findings(report, "cognitive_load") == []


# --- long_running_collaboration ------------------------------------------------------------------


def collaboration(since: dt.date | None, end: dt.date | None = None) -> InteractionEdge:
    return InteractionEdge(
        source="a", target="b", mode="collaboration", since=since, expected_end=end
    )


TWO_TEAMS = {"a": "stream_aligned", "b": "stream_aligned"}


def test_it_flags_a_collaboration_past_its_expected_end() -> None:
    edge = collaboration(dt.date(2025, 5, 1), dt.date(2025, 6, 20))
    report = analyze_snapshot(staffed(TWO_TEAMS, interactions=[edge]))

    [finding] = findings(report, "long_running_collaboration")
    assert team_slugs(finding) == ["a", "b"]
    assert finding["impact"] == 10  # days past 2025-06-20 on 2025-06-30
    assert finding["severity"] == "low"


def test_a_collaboration_before_its_expected_end_is_fine_however_old() -> None:
    edge = collaboration(dt.date(2024, 1, 1), dt.date(2025, 7, 1))
    report = analyze_snapshot(staffed(TWO_TEAMS, interactions=[edge]))

    assert findings(report, "long_running_collaboration") == []


def test_a_collaboration_without_end_is_flagged_after_twelve_weeks() -> None:
    today = AS_OF.date()
    twelve_weeks = collaboration(today - dt.timedelta(weeks=12))
    older = collaboration(today - dt.timedelta(weeks=12, days=1))

    assert (
        findings(
            analyze_snapshot(staffed(TWO_TEAMS, interactions=[twelve_weeks])),
            "long_running_collaboration",
        )
        == []
    )
    assert (
        len(
            findings(
                analyze_snapshot(staffed(TWO_TEAMS, interactions=[older])),
                "long_running_collaboration",
            )
        )
        == 1
    )


def test_the_collaboration_age_limit_can_be_overridden() -> None:
    edge = collaboration(AS_OF.date() - dt.timedelta(weeks=5))
    report = analyze_snapshot(
        staffed(TWO_TEAMS, interactions=[edge], thresholds={"long_running_collaboration_weeks": 4})
    )

    assert len(findings(report, "long_running_collaboration")) == 1


def test_long_overdue_collaborations_are_medium() -> None:
    edge = collaboration(dt.date(2024, 1, 1), dt.date(2024, 3, 1))
    report = analyze_snapshot(staffed(TWO_TEAMS, interactions=[edge]))

    assert findings(report, "long_running_collaboration")[0]["severity"] == "medium"


def test_other_modes_are_never_long_running_collaborations() -> None:
    edge = InteractionEdge(
        source="a",
        target="b",
        mode="facilitating",
        since=dt.date(2020, 1, 1),
        expected_end=dt.date(2020, 2, 1),
    )
    report = analyze_snapshot(staffed(TWO_TEAMS, interactions=[edge]))

    assert findings(report, "long_running_collaboration") == []


def test_today_overrides_the_snapshot_date() -> None:
    edge = collaboration(dt.date(2025, 5, 1), dt.date(2025, 6, 20))
    data = staffed(TWO_TEAMS, interactions=[edge])

    before = analyze_snapshot(data, today=dt.date(2025, 6, 19))
    after = analyze_snapshot(data, today=dt.date(2025, 6, 25))

    assert before["as_of"] == "2025-06-19"
    assert findings(before, "long_running_collaboration") == []
    assert findings(after, "long_running_collaboration")[0]["impact"] == 5


def test_without_today_it_uses_the_snapshot_date_not_the_clock() -> None:
    edge = collaboration(dt.date(2025, 5, 1), dt.date(2025, 6, 20))
    data = staffed(TWO_TEAMS, interactions=[edge])
    data.as_of = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)

    report = analyze_snapshot(data)

    assert report["as_of"] == "2025-06-10"
    assert findings(report, "long_running_collaboration") == []


# --- unclassified_team ---------------------------------------------------------------------------


def test_it_flags_unclassified_teams_only() -> None:
    report = analyze_snapshot(
        staffed({"mystery": "unclassified", "e": "enabling", "c": "complicated_subsystem"})
    )

    [finding] = findings(report, "unclassified_team")
    assert team_slugs(finding) == ["mystery"]
    assert finding["severity"] == "low"
    assert finding["suggested_playbook"] is None


# --- sorting -------------------------------------------------------------------------------------


def test_findings_are_sorted_by_severity_then_impact_then_a_stable_key() -> None:
    teams = {
        "z-unclassified": "unclassified",
        "a-unclassified": "unclassified",
        "quiet": "stream_aligned",
        "busy": "stream_aligned",
        "db": "ops_silo",
    }
    report = analyze_snapshot(
        snapshot(
            teams,
            members={"quiet": crew("quiet"), "busy": crew("busy")},
            interactions=[ticket("busy", "db", "blocking"), ticket("busy", "quiet")],
        )
    )

    ranks = [("high", "medium", "low").index(f["severity"]) for f in report["findings"]]
    assert ranks == sorted(ranks)
    for first, second in zip(report["findings"], report["findings"][1:], strict=False):
        if first["severity"] == second["severity"]:
            assert first["impact"] >= second["impact"]
    buddies = findings(report, "missing_devops_buddy")
    assert [team_slugs(f) for f in buddies] == [["busy"], ["quiet"]]
    # Equal severity and impact: ordered by kind, then subjects.
    unclassified = findings(report, "unclassified_team")
    assert [team_slugs(f) for f in unclassified] == [["a-unclassified"], ["z-unclassified"]]
    again = analyze_snapshot(
        snapshot(
            dict(reversed(teams.items())),
            members={"busy": crew("busy"), "quiet": crew("quiet")},
            interactions=[ticket("busy", "quiet"), ticket("busy", "db", "blocking")],
        )
    )
    assert again["findings"] == report["findings"]


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_count_teams_people_types_and_modes_with_zeros() -> None:
    report = analyze_snapshot(
        snapshot(
            {
                "a": "stream_aligned",
                "b": "stream_aligned",
                "c": "stream_aligned",
                "p": "platform",
                "db": "ops_silo",
            },
            members={"a": crew("a", 2), "b": crew("b", 3)},
            roles={("a", crew("a")[0]): "devops_buddy"},
            interactions=[
                ticket("a", "db"),
                ticket("b", "db"),
                ticket("a", "p"),
                ticket("p", "db"),
                InteractionEdge(source="c", target="p", mode="x_as_a_service"),
            ],
        )
    )
    metrics = report["metrics"]

    assert metrics["teams"] == 5
    assert metrics["people"] == 5
    assert metrics["teams_by_type"] == {
        "stream_aligned": 3,
        "platform": 1,
        "enabling": 0,
        "complicated_subsystem": 0,
        "ops_silo": 1,
        "unclassified": 0,
    }
    assert metrics["interactions_by_mode"] == {
        "collaboration": 0,
        "x_as_a_service": 1,
        "facilitating": 0,
        "ticket_dependency": 4,
    }
    assert metrics["ticket_dependencies_on_silos"] == 3
    assert metrics["stream_aligned_with_buddy_share"] == pytest.approx(1 / 3, abs=1e-4)
    # Three ticket dependencies start at stream-aligned teams (p's does not), over three teams.
    assert metrics["ticket_dependencies_per_stream_team"] == 1.0


def test_flow_score_falls_as_ticket_dependencies_on_silos_fall() -> None:
    teams = {"db": "ops_silo"} | {f"s{i}": "stream_aligned" for i in range(4)}
    scores = [
        analyze_snapshot(
            staffed(teams, interactions=[ticket(f"s{i}", "db") for i in range(count)])
        )["metrics"]["flow_score"]
        for count in (4, 3, 2, 1, 0)
    ]

    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)  # strictly falling
    assert scores[-1] == 0.0
    assert all(0 <= score <= 100 for score in scores)


def test_flow_score_formula_weighs_severity_and_counts_dependencies_on_any_team() -> None:
    teams = {"db": "ops_silo", "a": "stream_aligned", "b": "stream_aligned", "c": "stream_aligned"}
    blocking = analyze_snapshot(staffed(teams, interactions=[ticket("a", "db", "blocking")]))
    ok = analyze_snapshot(staffed(teams, interactions=[ticket("a", "db", "ok")]))
    elsewhere = analyze_snapshot(
        staffed(teams, interactions=[ticket("a", "db", "blocking"), ticket("b", "c", "blocking")])
    )

    # 100 * P / (P + N) with N = 3 teams that are not silos.
    assert blocking["metrics"]["flow_score"] == 25.0  # P = 1
    assert ok["metrics"]["flow_score"] == round(100 * 0.25 / 3.25, 1)
    # Work waiting on a stream-aligned team queues all the same: P = 2.
    assert elsewhere["metrics"]["flow_score"] == 40.0


# --- thresholds ----------------------------------------------------------------------------------


def test_default_thresholds_are_the_documented_ones() -> None:
    defaults = AnalysisThresholds()

    assert defaults.team_bottleneck_min_dependents == 3
    assert defaults.person_bottleneck_min_teams == 3
    assert defaults.person_bottleneck_delivery_types == ["stream_aligned"]
    assert defaults.long_running_collaboration_weeks == 12


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"team_bottleneck_min_dependant": 2}, "team_bottleneck_min_dependant"),
        ({"team_bottleneck_min_dependents": 0}, "team_bottleneck_min_dependents"),
        ({"team_bottleneck_min_dependents": "3"}, "team_bottleneck_min_dependents"),
        ({"long_running_collaboration_weeks": 1.5}, "long_running_collaboration_weeks"),
        ({"person_bottleneck_delivery_types": ["squad"]}, "person_bottleneck_delivery_types"),
        ({"person_bottleneck_min_teams": 6}, "person_bottleneck_high_teams"),
    ],
)
def test_invalid_threshold_overrides_raise_a_value_error_naming_the_key(
    overrides: dict[str, object], key: str
) -> None:
    with pytest.raises(InvalidThresholdsError) as caught:
        analyze_snapshot(snapshot({"a": "stream_aligned"}, thresholds=overrides))

    assert isinstance(caught.value, ValueError)
    assert caught.value.key == key
    assert key in str(caught.value)
    assert str(caught.value).startswith("analysis_thresholds")


def test_thresholds_that_are_not_an_object_are_rejected() -> None:
    with pytest.raises(InvalidThresholdsError, match="JSON object"):
        AnalysisThresholds.from_overrides([3])  # type: ignore[arg-type]


def test_a_minimum_capacity_above_the_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="cognitive_load_max_capacity must not be below"):
        analyze_snapshot(
            staffed({"a": "stream_aligned"}, thresholds={"cognitive_load_min_capacity": 9})
        )


# --- team_size -----------------------------------------------------------------------------------


def sized(size: int, kind: str = "stream_aligned", **kwargs: Any) -> OrgSnapshot:
    return staffed({"a": kind}, members={"a": crew("a", size)}, **kwargs)


def test_a_fourteen_person_team_is_too_large() -> None:
    [finding] = findings(analyze_snapshot(sized(14)), "team_size")

    assert team_slugs(finding) == ["a"]
    assert finding["severity"] == "medium"
    assert finding["impact"] == 5
    assert "14 members, more than 9" in finding["explanation"]
    assert finding["suggested_playbook"] is None


def test_a_two_person_team_is_too_small() -> None:
    [finding] = findings(analyze_snapshot(sized(2)), "team_size")

    assert finding["severity"] == "low"
    assert "2 members, fewer than 3" in finding["explanation"]


def test_a_five_person_team_has_a_good_size() -> None:
    assert findings(analyze_snapshot(sized(5)), "team_size") == []
    assert findings(analyze_snapshot(sized(9)), "team_size") == []
    assert findings(analyze_snapshot(sized(3)), "team_size") == []


def test_ops_silos_and_teams_without_members_are_exempt_from_team_size() -> None:
    assert findings(analyze_snapshot(sized(14, "ops_silo")), "team_size") == []
    assert findings(analyze_snapshot(snapshot({"a": "stream_aligned"})), "team_size") == []
    assert findings(analyze_snapshot(sized(14, "platform")), "team_size")


def test_team_size_bounds_are_set_per_organisation() -> None:
    relaxed = {"team_size_max": 15, "team_size_min": 1}

    assert findings(analyze_snapshot(sized(14, thresholds=relaxed)), "team_size") == []
    assert findings(analyze_snapshot(sized(2, thresholds=relaxed)), "team_size") == []
    assert findings(analyze_snapshot(sized(6, thresholds={"team_size_max": 5})), "team_size")


def test_team_size_max_must_not_be_below_the_min() -> None:
    with pytest.raises(InvalidThresholdsError) as error:
        AnalysisThresholds.from_overrides({"team_size_max": 2, "team_size_min": 4})

    assert error.value.key == "team_size_max"


# --- work that waits in a queue counts wherever it waits -----------------------------------------


def test_a_silo_retyped_as_a_platform_keeps_its_flow_score_and_its_finding() -> None:
    streams = {f"s{i}": "stream_aligned" for i in range(4)}
    edges = [ticket(slug, "ops", "blocking") for slug in streams]
    silo = analyze_snapshot(staffed({"ops": "ops_silo"} | streams, interactions=edges))
    platform = analyze_snapshot(staffed({"ops": "platform"} | streams, interactions=edges))

    assert silo["metrics"]["flow_score"] > 0
    # N counts the platform (5 teams) where it did not count the silo (4): 400/9 against 400/8.
    assert platform["metrics"]["flow_score"] == round(100 * 4 / 9, 1)
    assert platform["metrics"]["ticket_dependencies_on_silos"] == 0
    assert platform["metrics"]["ticket_dependencies_by_target_type"]["platform"] == 4
    [finding] = findings(platform, "ops_silo")
    assert team_slugs(finding) == ["ops", "s0", "s1", "s2", "s3"]
    assert finding["severity"] == "high"
    assert "ticket expenser under a new name" in finding["explanation"]
    assert finding["suggested_playbook"] == "platform-as-a-product"


def test_a_platform_consumed_as_a_service_is_no_ticket_expenser() -> None:
    report = analyze_snapshot(healthy_platform())

    assert findings(report, "ops_silo") == []
    assert report["metrics"]["flow_score"] == 0.0


def platform_with_a_side_door(severity: str, ticket_teams: int = 1) -> OrgSnapshot:
    """The healthy platform, with ``ticket_teams`` of its 8 consumers also filing tickets."""
    org = healthy_platform()
    org.interactions = [
        *org.interactions,
        *(ticket(f"s{i}", "platform", severity) for i in range(ticket_teams)),
    ]
    return org


def test_a_self_service_platform_taking_the_odd_harmless_ticket_is_low() -> None:
    [finding] = findings(analyze_snapshot(platform_with_a_side_door("ok")), "ops_silo")

    assert finding["severity"] == "low"
    assert "already serves 7 teams as x-as-a-service" in finding["explanation"]


@pytest.mark.parametrize(("severity", "ticket_teams"), [("slowing", 1), ("ok", 4)])
def test_a_platform_whose_tickets_hurt_or_are_half_its_work_stays_medium(
    severity: str, ticket_teams: int
) -> None:
    org = platform_with_a_side_door(severity, ticket_teams)

    [finding] = findings(analyze_snapshot(org), "ops_silo")

    assert finding["severity"] == "medium"


def with_services(org: OrgSnapshot, slug: str, count: int) -> OrgSnapshot:
    refs = tuple(sorted(f"component:service-{number}" for number in range(count)))
    org.teams = [
        dataclasses.replace(team, services=refs) if team.slug == slug else team
        for team in org.teams
    ]
    return org


def test_a_five_person_stream_team_owning_nine_services_is_flagged() -> None:
    people = [f"p{number}@acme.test" for number in range(5)]
    org = with_services(
        snapshot({"checkout": "stream_aligned"}, members={"checkout": people}), "checkout", 9
    )

    findings = [f for f in analyze_snapshot(org)["findings"] if f["kind"] == "cognitive_load"]

    assert len(findings) == 1
    assert findings[0]["severity"] == "medium"
    assert findings[0]["impact"] == 4
    assert "9 for the services it owns" in findings[0]["explanation"]
    assert "owns 9 services, more than 6" in findings[0]["explanation"]


def test_owning_more_services_than_the_maximum_is_flagged_within_capacity() -> None:
    people = [f"p{number}@acme.test" for number in range(6)]
    org = with_services(
        snapshot(
            {"checkout": "stream_aligned"},
            members={"checkout": people},
            thresholds={"services_per_team_max": 4},
        ),
        "checkout",
        5,
    )

    findings = [f for f in analyze_snapshot(org)["findings"] if f["kind"] == "cognitive_load"]

    assert [f["impact"] for f in findings] == [1]
    assert "more than 4" in findings[0]["explanation"]


def test_a_full_team_owning_six_services_is_not_flagged() -> None:
    people = [f"p{number}@acme.test" for number in range(6)]
    org = with_services(
        snapshot({"checkout": "stream_aligned"}, members={"checkout": people}), "checkout", 6
    )

    assert [f for f in analyze_snapshot(org)["findings"] if f["kind"] == "cognitive_load"] == []


def test_owning_more_domains_than_a_team_can_hold_is_flagged() -> None:
    people = [f"p{number}@acme.test" for number in range(6)]
    org = snapshot({"checkout": "stream_aligned"}, members={"checkout": people})
    org.teams = [
        dataclasses.replace(
            team,
            services=("component:cart", *(f"domain:area-{n}" for n in range(4))),
        )
        for team in org.teams
    ]

    [finding] = findings(analyze_snapshot(org), "cognitive_load")

    # load = 1 service + 2 x 4 domains = 9 > capacity 6; 9 / 6 < 2: medium.
    assert finding["severity"] == "medium"
    assert finding["impact"] == 3
    assert "1 for the services it owns + 8 for the 4 domains it owns" in finding["explanation"]
    assert "owns 4 domains, more than the 3 one team can hold" in finding["explanation"]


def test_three_domains_within_capacity_are_no_finding_and_weigh_as_configured() -> None:
    people = [f"p{number}@acme.test" for number in range(6)]
    org = snapshot({"checkout": "stream_aligned"}, members={"checkout": people})
    org.teams = [
        dataclasses.replace(team, services=tuple(f"domain:area-{n}" for n in range(3)))
        for team in org.teams
    ]

    assert findings(analyze_snapshot(org), "cognitive_load") == []
    org.thresholds = {"load_per_domain": 3}
    [heavy] = findings(analyze_snapshot(org), "cognitive_load")
    assert "9 for the 3 domains it owns" in heavy["explanation"]
