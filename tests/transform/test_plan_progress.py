"""Campaign progress (``transform.plans.progress``) on a topology that changes over time, and the
history replay it reads (``teams.history.org_snapshots_at``): shares per criterion week by week,
the same snapshots as simple-history's own ``as_of`` reads (an independent reader) and as
``org_snapshot_get(as_of=...)``, one node for two history rows of one date, former silos through
merges and splits as the live verdict counts them, today's point from the live graph, a fixed
number of queries whatever the number of weeks, and past points served from the cache under the
time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.db.models import Model

from playbooks.criteria import GRAPH_CHECKS
from teams import models
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
    UnitNode,
)
from teams.history import org_snapshot_at, org_snapshots_at
from teams.lifecycle import team_retire
from teams.selectors import org_snapshot_get
from teams.zones import organization_day_start, organization_today
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrganizationFactory,
    PersonFactory,
    TeamFactory,
)
from transform.models import Milestone
from transform.plans import progress as progress_module
from transform.plans.progress import (
    LEAD_IN_DAYS,
    MAX_POINTS,
    SHARE_RULES,
    Share,
    criteria_split,
    criterion_share,
    progress_days,
    transformation_progress_get,
)
from transform.plans.selectors import milestone_criteria_evaluate

HISTORY_MODELS: tuple[type[Model], ...] = (
    models.OrgUnit,
    models.Team,
    models.Person,
    models.Membership,
    models.ServesLink,
    models.Interaction,
    models.Service,
)
T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)  # a Monday, noon
T1 = T0 + dt.timedelta(days=14)  # Payments gets a DevOps buddy
T2 = T0 + dt.timedelta(days=28)  # the DBA silo becomes a platform team (tickets still wait)
T3 = T0 + dt.timedelta(days=35)  # Payments stops sending tickets to it
MERGE = T0 + dt.timedelta(days=14)  # (other organisations) a silo hands its work over
LATER_MERGE = T0 + dt.timedelta(days=28)  # one of its successors is merged in turn
NOW = T0 + dt.timedelta(days=42, hours=3)
TODAY = NOW.date()
START = T0.date() + dt.timedelta(days=LEAD_IN_DAYS)  # the transformation starts two weeks in

GATEKEEPERS: list[dict[str, Any]] = [{"graph": "no_ticket_dependencies_on_gatekeepers"}]
CRITERIA: list[dict[str, Any]] = [
    {"graph": "every_stream_team_has_devops_buddy"},
    {"graph": "no_ticket_dependencies_on_ops_silos"},  # an alias of the gatekeepers check
    {"graph": "ops_silos_merged"},
    {"signal": "westrum_score", "op": ">=", "value": 5},
]


def simple_history_snapshot(organization: models.Organization, moment: dt.datetime) -> OrgSnapshot:
    """The topology at ``moment`` read with simple-history's own ``Model.history.as_of``: a reader
    independent of the replay (``teams.history``), to hold the replay to on data without two
    history rows of one object sharing a date (there ``as_of`` keeps both)."""

    def rows(model: Any, *fields: str) -> list[tuple[Any, ...]]:
        past = model.history.as_of(moment).filter(organization_id=organization.pk)
        return list(past.order_by().values_list(*fields))

    units = rows(models.OrgUnit, "id", "slug", "name", "kind", "parent_id")
    teams = [
        row[:-1]
        for row in rows(
            models.Team,
            "id",
            "slug",
            "name",
            "type",
            "specialty",
            "unit_id",
            "manager_id",
            "description",
            "retired_at",
        )
        if row[-1] is None
    ]
    people = [
        row[:-1]
        for row in rows(models.Person, "id", "email", "name", "left_on")
        if row[-1] is None or row[-1] > moment.date()
    ]
    unit_slug = {row[0]: row[1] for row in units}
    team_slug = {row[0]: row[1] for row in teams}
    email = {row[0]: row[1] for row in people}
    services_of: dict[int, list[str]] = {}
    for team_id, kind, slug in rows(models.Service, "team_id", "kind", "slug"):
        services_of.setdefault(team_id, []).append(f"{kind}:{slug}")
    links = ("person_id", "team_id")
    return OrgSnapshot(
        organization=organization.slug,
        name=organization.name,
        as_of=moment,
        thresholds=dict(organization.analysis_thresholds or {}),
        units=sorted(
            (
                UnitNode(slug, name, kind, unit_slug.get(parent))
                for _, slug, name, kind, parent in units
            ),
            key=lambda node: node.slug,
        ),
        teams=sorted(
            (
                TeamNode(
                    slug,
                    name,
                    type_,
                    specialty,
                    unit_slug.get(unit),
                    email.get(manager),
                    description,
                    tuple(sorted(services_of.get(pk, ()))),
                )
                for pk, slug, name, type_, specialty, unit, manager, description in teams
            ),
            key=lambda node: node.slug,
        ),
        people=sorted((PersonNode(mail, name) for _, mail, name in people), key=lambda p: p.email),
        memberships=sorted(
            (
                MembershipEdge(email[person], team_slug[team], role, allocation)
                for person, team, role, allocation in rows(
                    models.Membership, *links, "role", "allocation_percent"
                )
                if person in email and team in team_slug
            ),
            key=lambda edge: (edge.team, edge.person),
        ),
        serves=sorted(
            (
                ServesEdge(email[person], team_slug[team], note)
                for person, team, note in rows(models.ServesLink, *links, "note")
                if person in email and team in team_slug
            ),
            key=lambda edge: (edge.team, edge.person),
        ),
        interactions=sorted(
            (
                InteractionEdge(team_slug[source], team_slug[target], *rest)
                for source, target, *rest in rows(
                    models.Interaction,
                    "source_id",
                    "target_id",
                    "mode",
                    "since",
                    "expected_end",
                    "severity",
                    "note",
                )
                if source in team_slug and target in team_slug
            ),
            key=lambda edge: (edge.source, edge.target, edge.mode),
        ),
    )


def dated(moment: dt.datetime, after: dt.datetime | None) -> None:
    """Date every history row written after ``after`` (all of them when None) at ``moment``."""
    for model in HISTORY_MODELS:
        rows = model.history.all()  # type: ignore[attr-defined]
        if after is not None:
            rows = rows.filter(history_date__gt=after)
        rows.update(history_date=moment)


@pytest.fixture
def organization(db: None) -> models.Organization:
    cache.clear()
    org: Any = OrganizationFactory(slug="acme", name="Acme")
    dba: Any = TeamFactory(organization=org, slug="dba", name="DBA", type=models.TeamType.OPS_SILO)
    pay: Any = TeamFactory(organization=org, slug="pay", name="Payments")
    srch = TeamFactory(organization=org, slug="srch", name="Search")
    for team in (pay, srch, dba):
        for _ in range(3):
            MembershipFactory(team=team)
    InteractionFactory(source=pay, target=dba, mode=models.InteractionMode.TICKET_DEPENDENCY)
    dated(T0, None)
    MembershipFactory(team=pay, role=models.MembershipRole.DEVOPS_BUDDY)
    dated(T1, T0)
    dba.type = models.TeamType.PLATFORM
    dba.specialty = ""
    dba.save()
    dated(T2, T1)
    models.Interaction.objects.filter(source=pay, target=dba).delete()
    dated(T3, T2)
    return org


def progress(organization: models.Organization, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {
        "organization": organization,
        "start_date": START,
        "criteria": CRITERIA,
        "today": TODAY,
        **kwargs,
    }
    return transformation_progress_get(**arguments)


def shares(line: Any) -> list[tuple[int, int] | None]:
    return [(point.passing, point.total) if point else None for point in line.points]


def test_the_shares_follow_the_topology_week_by_week(organization: models.Organization) -> None:
    found = progress(organization)

    assert found.days == [T0.date() + dt.timedelta(weeks=week) for week in range(6)] + [TODAY]
    lines = {line.check: line for line in found.lines}
    assert list(lines) == [
        "every_stream_team_has_devops_buddy",
        "no_ticket_dependencies_on_gatekeepers",
        "ops_silos_merged",
    ]
    assert shares(lines["every_stream_team_has_devops_buddy"]) == [(0, 2)] * 2 + [(1, 2)] * 5
    # Retyped, the former silo still gatekeeps Payments' tickets until they stop (T3).
    assert shares(lines["no_ticket_dependencies_on_gatekeepers"]) == (
        [(1, 2)] * 4 + [(2, 3)] + [(3, 3)] * 2
    )
    assert shares(lines["ops_silos_merged"]) == [(2, 3)] * 4 + [(3, 3)] * 3
    assert lines["ops_silos_merged"].label == "Teams that are not ops silos"
    assert found.signals == [{"signal": "westrum_score", "op": ">=", "value": 5}]
    chart = found.chart_data()
    assert chart["labels"][0] == T0.date().isoformat()
    assert chart["lines"][0]["points"][:3] == [0.0, 0.0, 50.0]


def test_no_point_before_the_teams_existed(organization: models.Organization) -> None:
    found = progress(organization, start_date=T0.date())

    assert found.days[0] == T0.date() - dt.timedelta(days=LEAD_IN_DAYS)
    assert found.lines[0].points[0] is None
    assert found.chart_data()["lines"][0]["points"][0] is None


def test_the_replayed_history_equals_the_snapshots_as_of(
    organization: models.Organization,
) -> None:
    moments = [T0 - dt.timedelta(days=1), T0, T1 + dt.timedelta(hours=1), T2, NOW, T3]

    replayed = org_snapshots_at(organization=organization, moments=moments)

    for moment, past in zip(moments, replayed, strict=True):
        assert past.snapshot == simple_history_snapshot(organization, moment), moment
        # The as-of graph is the replay at that one moment.
        assert org_snapshot_get(organization=organization, as_of=moment) == past.snapshot, moment
    assert replayed[0].snapshot.teams == []
    assert replayed[1].former_silos == {"dba"}
    assert replayed[4].former_silos == {"dba"}  # a platform team now, a silo before


@pytest.mark.parametrize("first", [T2 + dt.timedelta(hours=1), T3 + dt.timedelta(hours=1)])
def test_a_replay_seeded_at_a_later_first_moment_gives_the_same_snapshots(
    organization: models.Organization, first: dt.datetime
) -> None:
    # Rows superseded (the silo's type) or deleted (the ticket dependency) before the first moment.
    moments = [NOW, first]

    replayed = org_snapshots_at(organization=organization, moments=moments)

    for moment, past in zip(moments, replayed, strict=True):
        assert past.snapshot == simple_history_snapshot(organization, moment), moment
        assert past.former_silos == {"dba"}  # retyped before the first moment, a silo before


def test_a_leaver_and_a_retired_team_leave_the_replayed_graph(
    organization: models.Organization,
) -> None:
    leaver: Any = PersonFactory(organization=organization, email="lea@example.com")
    MembershipFactory(team=organization.teams.get(slug="srch"), person=leaver)
    dated(T3 + dt.timedelta(days=1), T3)
    leaver.left_on = (T3 + dt.timedelta(days=2)).date()
    leaver.save()
    dated(T3 + dt.timedelta(days=2), T3 + dt.timedelta(days=1))
    retired = organization.teams.get(slug="srch")
    retired.retired_at = T3 + dt.timedelta(days=3)
    retired.save()
    dated(T3 + dt.timedelta(days=3), T3 + dt.timedelta(days=2))
    moments = [T3 + dt.timedelta(days=days, hours=1) for days in (1, 2, 3)]

    replayed = org_snapshots_at(organization=organization, moments=moments)

    for moment, past in zip(moments, replayed, strict=True):
        assert past.snapshot == simple_history_snapshot(organization, moment), moment
        assert org_snapshot_get(organization=organization, as_of=moment) == past.snapshot, moment
    assert "lea@example.com" in {p.email for p in replayed[0].snapshot.people}
    assert "lea@example.com" not in {p.email for p in replayed[1].snapshot.people}
    assert "srch" not in {t.slug for t in replayed[2].snapshot.teams}


def test_the_history_is_read_in_the_same_queries_whatever_the_number_of_weeks(
    organization: models.Organization, django_assert_num_queries: Any
) -> None:
    # The topology version; the seven history tables and the lineage once (the past days); the
    # live graph (six) and its former silos (three) for today's point.
    with django_assert_num_queries(18):
        short = progress(organization, start_date=TODAY)
    cache.clear()
    with django_assert_num_queries(18):
        long = progress(organization, start_date=T0.date() - dt.timedelta(days=300))

    assert len(long.days) > len(short.days) + 40


def test_past_points_come_from_the_cache_and_today_follows_the_topology(
    organization: models.Organization, django_assert_num_queries: Any
) -> None:
    first = progress(organization)
    # A history row dated in the past after the point was cached: the cached point stands.
    search = organization.teams.get(slug="srch")
    MembershipFactory(team=search, role=models.MembershipRole.DEVOPS_BUDDY)
    dated(T0 + dt.timedelta(hours=1), NOW)

    # A new topology version: today's point only is read, from the live graph (the version, the
    # six tables, the former silos' three queries); no history.
    with django_assert_num_queries(10):
        second = progress(organization)
    with django_assert_num_queries(1):
        third = progress(organization)

    buddy_first, buddy_second = first.lines[0], second.lines[0]
    assert shares(buddy_second)[:-1] == shares(buddy_first)[:-1]
    assert shares(buddy_first)[-1] == (1, 2)
    assert shares(buddy_second)[-1] == (2, 2)
    assert shares(third.lines[0]) == shares(buddy_second)


def test_today_s_point_is_the_live_graph_and_the_replay_stops_at_the_last_past_day(
    organization: models.Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dt.datetime] = []

    def replay(*, organization: models.Organization, moments: list[dt.datetime]) -> Any:
        asked.extend(moments)
        return org_snapshots_at(organization=organization, moments=moments)

    monkeypatch.setattr(progress_module, "org_snapshots_at", replay)
    today = organization_today(organization)
    first = progress(organization, today=today)
    replayed_up_to = max(asked)
    asked.clear()
    # Search gets a DevOps buddy a second ago (now, not dated back).
    MembershipFactory(
        team=organization.teams.get(slug="srch"), role=models.MembershipRole.DEVOPS_BUDDY
    )

    second = progress(organization, today=today)

    assert shares(first.lines[0])[-1] == (1, 2)
    assert shares(second.lines[0])[-1] == (2, 2)
    assert shares(second.lines[0])[:-1] == shares(first.lines[0])[:-1]
    # The past days ended by midnight starting today; today's point read no history.
    assert replayed_up_to <= organization_day_start(organization, today)
    assert asked == []


def test_a_past_point_is_cached_under_the_organisation_s_time_zone(
    organization: models.Organization,
) -> None:
    organization.time_zone = "UTC"
    organization.save()
    in_utc = progress(organization)
    # Payments' buddy came at noon UTC on T1's day: after that day had ended at UTC+14.
    organization.time_zone = "Pacific/Kiritimati"
    organization.save()

    in_kiritimati = progress(organization)

    day = in_utc.days.index(T1.date())
    assert shares(in_utc.lines[0])[day] == (1, 2)
    assert shares(in_kiritimati.lines[0])[day] == (0, 2)


def _two_renames_sharing_a_date(organization: models.Organization) -> dt.datetime:
    """Renames team srch twice with one history_date (as a backdated import may); returns a
    moment after both."""
    search = organization.teams.get(slug="srch")
    for name in ("Find", "Search and find"):
        search.name = name
        search.save()
    tie = T3 + dt.timedelta(days=1)
    dated(tie, T3)  # both renames now share one history_date
    return tie + dt.timedelta(hours=1)


def test_two_rows_of_one_date_replay_as_the_last_one_written(
    organization: models.Organization,
) -> None:
    moment = _two_renames_sharing_a_date(organization)

    [past] = org_snapshots_at(organization=organization, moments=[moment])

    assert [t.name for t in past.snapshot.teams if t.slug == "srch"] == ["Search and find"]
    # simple-history's as_of keeps both rows of the date: the node twice (teams.history says why
    # the replay does not copy it).
    independent = simple_history_snapshot(organization, moment)
    assert sorted(t.name for t in independent.teams if t.slug == "srch") == [
        "Find",
        "Search and find",
    ]


def test_an_as_of_snapshot_shows_a_team_with_two_rows_of_one_date_once(
    organization: models.Organization,
) -> None:
    moment = _two_renames_sharing_a_date(organization)

    as_of = org_snapshot_get(organization=organization, as_of=moment)

    assert [t.name for t in as_of.teams if t.slug == "srch"] == ["Search and find"]
    assert len({t.slug for t in as_of.teams}) == len(as_of.teams)
    # The graph as of that day and the burn-up's point of that day come from one reader.
    [past] = org_snapshots_at(organization=organization, moments=[moment])
    assert as_of == past.snapshot == org_snapshot_at(organization=organization, moment=moment)


# --- former silos through lineage ----------------------------------------------------------------


@pytest.fixture
def merged(db: None) -> models.Organization:
    """The DBA silo merged into the stream-aligned Data team at MERGE; Search still files
    tickets to Data."""
    cache.clear()
    org: Any = OrganizationFactory(slug="merged", name="Merged")
    dba: Any = TeamFactory(organization=org, slug="dba", name="DBA", type=models.TeamType.OPS_SILO)
    data: Any = TeamFactory(organization=org, slug="data", name="Data")
    search: Any = TeamFactory(organization=org, slug="srch", name="Search")
    InteractionFactory(source=search, target=data, mode=models.InteractionMode.TICKET_DEPENDENCY)
    dated(T0, None)
    team_retire(team=dba, source="api", kind=models.LineageKind.MERGED, successors=[data], at=MERGE)
    dated(MERGE, T0)
    return org


@pytest.fixture
def split(db: None) -> models.Organization:
    """The Ops silo split into Infra and Tools at MERGE; Tools merged into Web at LATER_MERGE
    (a chain); Search files tickets to Web throughout."""
    cache.clear()
    org: Any = OrganizationFactory(slug="split", name="Split")
    ops: Any = TeamFactory(organization=org, slug="ops", name="Ops", type=models.TeamType.OPS_SILO)
    infra: Any = TeamFactory(
        organization=org, slug="infra", name="Infra", type=models.TeamType.ENABLING
    )
    tools: Any = TeamFactory(organization=org, slug="tools", name="Tools")
    web: Any = TeamFactory(organization=org, slug="web", name="Web")
    search = TeamFactory(organization=org, slug="srch", name="Search")
    InteractionFactory(source=search, target=web, mode=models.InteractionMode.TICKET_DEPENDENCY)
    dated(T0, None)
    team_retire(
        team=ops, source="api", kind=models.LineageKind.SPLIT, successors=[infra, tools], at=MERGE
    )
    dated(MERGE, T0)
    team_retire(
        team=tools, source="api", kind=models.LineageKind.MERGED, successors=[web], at=LATER_MERGE
    )
    dated(LATER_MERGE, MERGE)
    return org


def live_verdict(organization: models.Organization) -> tuple[str, Share]:
    """The live exit-criterion verdict on tickets to gatekeepers, as a plan judges it, and the
    share of teams (ops silos aside) it does not name as waiting."""
    milestone = Milestone(pk=1, exit_criteria=GATEKEEPERS)
    [result] = milestone_criteria_evaluate(
        organization=organization, milestones=[milestone], signals=lambda _kind: None
    )[1]
    teams = org_snapshot_get(organization=organization).teams
    asked = {team.slug for team in teams if team.type != models.TeamType.OPS_SILO}
    waiting = asked & set(result.evidence["dependent_teams"])
    return result.status, Share(len(asked) - len(waiting), len(asked))


def test_a_team_that_took_over_a_silo_s_work_in_a_merge_is_a_former_silo_from_then(
    merged: models.Organization,
) -> None:
    before, at_merge = org_snapshots_at(
        organization=merged, moments=[MERGE - dt.timedelta(hours=1), MERGE]
    )

    found = progress(merged, criteria=GATEKEEPERS)

    assert before.former_silos == {"dba"}
    assert at_merge.former_silos == {"data"}  # the silo itself is retired
    # Search's tickets to Data wait on a gatekeeper from the merge (MERGE's day) on.
    assert shares(found.lines[0]) == [(2, 2)] * 2 + [(1, 2)] * 5


def test_the_parts_of_a_split_silo_and_their_successors_are_former_silos(
    split: models.Organization,
) -> None:
    moments = [MERGE - dt.timedelta(hours=1), MERGE, LATER_MERGE]

    replayed = org_snapshots_at(organization=split, moments=moments)

    assert [past.former_silos for past in replayed] == [
        {"ops"},
        {"infra", "tools"},
        {"infra", "web"},  # Tools' work, the silo's before it, went to Web
    ]
    found = progress(split, criteria=GATEKEEPERS)
    assert shares(found.lines[0]) == [(4, 4)] * 4 + [(2, 3)] * 3


@pytest.mark.parametrize("case", ["merged", "split"])
def test_today_s_point_is_the_share_of_the_live_verdict(
    case: str, request: pytest.FixtureRequest
) -> None:
    organization: models.Organization = request.getfixturevalue(case)

    status, share = live_verdict(organization)
    found = progress(organization, criteria=GATEKEEPERS, today=organization_today(organization))

    assert status == "fail"
    assert share.passing < share.total
    assert found.lines[0].points[-1] == share


def test_a_plan_without_graph_criteria_reads_nothing(
    organization: models.Organization, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        found = progress(organization, criteria=[CRITERIA[3]])

    assert found.lines == []
    assert found.signals == [CRITERIA[3]]


def test_invalid_thresholds_give_an_error_and_no_points(
    organization: models.Organization,
) -> None:
    organization.analysis_thresholds = {"no_such_threshold": 1}
    organization.save()

    found = progress(organization)

    assert found.error.startswith("The organisation's analysis_thresholds are invalid:")
    assert all(line.points == [] for line in found.lines)


# --- pure ----------------------------------------------------------------------------------------


def snapshot(teams: list[TeamNode], **edges: Any) -> OrgSnapshot:
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=T0,
        teams=teams,
        memberships=edges.get("memberships", []),
        interactions=edges.get("interactions", []),
    )


def test_every_graph_check_has_a_share_rule() -> None:
    graph = snapshot([TeamNode("a", "A", "stream_aligned")])
    for check in GRAPH_CHECKS:
        found = criterion_share(check, snapshot=graph, report={"findings": []})
        assert found == Share(1, 1) or check == "platform_team_has_product_owner", check
    assert set(SHARE_RULES) < set(GRAPH_CHECKS)
    with pytest.raises(ValueError, match="unknown graph check"):
        criterion_share("no_such_check", snapshot=graph, report=None)


def test_tickets_to_a_platform_or_a_former_silo_count_as_waiting() -> None:
    graph = snapshot(
        [
            TeamNode("a", "A", "stream_aligned"),
            TeamNode("b", "B", "stream_aligned"),
            TeamNode("c", "C", "stream_aligned"),
            TeamNode("plat", "Platform", "platform"),
            TeamNode("old", "Old silo", "enabling"),
        ],
        interactions=[
            InteractionEdge("a", "plat", "ticket_dependency"),
            InteractionEdge("b", "old", "ticket_dependency"),
            InteractionEdge("c", "a", "ticket_dependency"),
        ],
    )

    found = criterion_share(
        "no_ticket_dependencies_on_gatekeepers",
        snapshot=graph,
        report=None,
        former_silos=frozenset({"old"}),
    )

    assert found == Share(3, 5)  # c waits on a stream-aligned team, not a gatekeeper
    assert found.percent == 60.0


def test_finding_shares_count_the_teams_a_finding_names() -> None:
    graph = snapshot(
        [TeamNode("a", "A", "stream_aligned"), TeamNode("b", "B", "stream_aligned")],
        memberships=[MembershipEdge("x@example.com", "a", "devops_buddy")],
    )
    report = {
        "findings": [
            {"kind": "missing_devops_buddy", "subjects": [{"type": "team", "slug": "b"}]},
            {
                "kind": "person_bottleneck",
                "subjects": [
                    {"type": "person", "email": "x@example.com"},
                    {"type": "team", "slug": "a"},
                    {"type": "team", "slug": "b"},
                ],
            },
        ]
    }

    assert criterion_share(
        "every_stream_team_has_devops_buddy", snapshot=graph, report=report
    ) == Share(1, 2)
    assert criterion_share("no_person_bottlenecks", snapshot=graph, report=report) == Share(0, 2)
    assert Share(0, 0).percent is None


def test_criteria_are_split_and_deduplicated_with_aliases_resolved() -> None:
    split = criteria_split(
        [
            {"graph": "no_ticket_dependencies_on_ops_silos"},
            {"graph": "no_ticket_dependencies_on_gatekeepers"},
            {"signal": "westrum_score", "op": ">=", "value": 5},
            {"signal": "westrum_score", "op": ">=", "value": 5},
        ]
    )

    assert split.checks == ["no_ticket_dependencies_on_gatekeepers"]
    assert len(split.signals) == 1


def test_the_days_are_weekly_from_the_lead_in_to_today_and_thinned_when_long() -> None:
    start = dt.date(2026, 3, 1)

    assert progress_days(start_date=start, today=dt.date(2026, 3, 3)) == [
        dt.date(2026, 2, 15),
        dt.date(2026, 2, 22),
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 3),
    ]
    assert progress_days(start_date=start, today=dt.date(2026, 2, 1)) == [dt.date(2026, 2, 1)]
    long = progress_days(start_date=start, today=start + dt.timedelta(days=7 * 300))
    assert len(long) <= MAX_POINTS + 1
    assert long[-1] == start + dt.timedelta(days=7 * 300)
