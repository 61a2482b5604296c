"""The demo `make run` serves is a transformation four months in (docs/demo.md): on the freshly
seeded demo every KPI chart and heat-map period has data, the flow score has a start and a now,
the past can be read "as of", and seeding is deterministic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from teams.models import Membership, Organization
from teams.selectors import org_analysis_get
from tests.builders import fresh, module_world
from transform.demo import demo_rhythm_seed
from transform.models import (
    MilestoneEvent,
    MilestoneStatus,
    ReadinessSnapshot,
    Response,
    SignalEvent,
    Transformation,
)

pytestmark = pytest.mark.django_db
PASSWORD = "pw-living-demo"


def build_living_demo() -> Organization:
    """The demo as `make demo` builds it: load_demo, then seed_demo."""
    call_command("load_demo", "--password", PASSWORD, stdout=StringIO())
    call_command("seed_demo", "--password", PASSWORD, stdout=StringIO())
    return Organization.objects.get(slug="demo")


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[Organization]:
    yield from module_world(django_db_blocker, build_living_demo)


@pytest.fixture
def demo(demo_built: Organization, db: None) -> Organization:
    return fresh(demo_built)


def leader() -> Client:
    client = Client()
    assert client.login(username="demo-leader", password=PASSWORD)
    return client


def dashboard(client: Client) -> Any:
    response = client.get("/o/demo/leadership/")
    assert response.status_code == 200
    return response


def test_every_kpi_chart_has_data_in_every_period_of_the_fresh_demo(demo: Organization):
    response = dashboard(leader())

    charts = response.context["kpis"]
    assert len(charts) == 9
    for chart in charts:
        assert chart["latest"] is not None, chart["title"]
        assert None not in chart["points"], (chart["title"], chart["points"])
    assert "No data in these periods." not in response.content.decode()


def test_the_demo_tells_a_story_deploys_up_blocked_hours_down_adoption_up(demo: Organization):
    charts = {chart["kind"]: chart for chart in dashboard(leader()).context["kpis"]}

    deploys = charts["deployment_frequency"]["points"]
    assert deploys[-1] > 0
    assert deploys[-2] > deploys[0]  # the current period is still running
    blocked = charts["blocked_developer_hours"]["points"]
    assert blocked[-2] < blocked[0]
    adoption = charts["platform_adoption"]["points"]
    assert adoption[-1] > adoption[0]
    lead_time = charts["lead_time_for_changes"]["points"]
    assert lead_time[-1] < lead_time[0]


def test_every_heat_map_period_shows_a_team_and_small_teams_stay_suppressed(demo: Organization):
    rows = dashboard(leader()).context["heat_map"]

    team_rows = [row for row in rows if not row["is_org"]]
    columns = list(zip(*(row["cells"] for row in team_rows), strict=True))
    assert len(columns) == 6
    for column in columns:
        assert any(cell["kind"] == "score" for cell in column)
    shown = [row for row in team_rows if row["cells"][-1]["kind"] == "score"]
    suppressed = {row["slug"] for row in team_rows if row["cells"][-1]["kind"] == "suppressed"}
    assert len(shown) > len(team_rows) / 2  # most teams are shown
    assert {"returns", "networking", "cloud-enablement"} <= suppressed  # three members each
    organization_row = next(row for row in rows if row["is_org"])
    assert all(cell["kind"] == "score" for cell in organization_row["cells"])


def test_the_flow_score_has_a_start_and_a_now(demo: Organization):
    response = dashboard(leader())

    flow = response.context["flow"]
    assert flow["start"] is not None
    assert flow["now"] is not None
    assert flow["start_date"] == timezone.now().date() - dt.timedelta(weeks=17)
    assert flow["now"] < flow["start"]  # two ticket dependencies eased since the start
    assert flow["change"] < 0


def test_the_dora_table_shows_deploys_per_day_above_zero(demo: Organization):
    dora = dashboard(leader()).context["dora"]

    rows = [team for unit in dora["units"] for team in unit["teams"]]
    search = next(row for row in rows if row["slug"] == "search")
    assert search["cells"]["deploys"] not in ("no data", "0.00")
    assert float(search["cells"]["deploys"]) > 0


def test_the_graph_as_of_three_months_ago_lists_the_teams_with_the_silos(demo: Organization):
    client = Client()
    assert client.login(username="demo-agent", password=PASSWORD)
    day = timezone.localdate() - dt.timedelta(days=90)

    response = client.get(f"/o/demo/graph/?as_of={day.isoformat()}")

    page = response.content.decode()
    assert response.status_code == 200
    assert "no teams yet" not in page
    assert "Database Administration" in page
    assert "Search Squad" in page


def missing_buddy(report: dict[str, Any]) -> set[str]:
    """The teams (slugs) the report's missing_devops_buddy findings are about."""
    return {
        subject["slug"]
        for finding in report["findings"]
        if finding["kind"] == "missing_devops_buddy"
        for subject in finding["subjects"]
    }


def test_the_topology_before_the_transformation_is_readable_and_differs_from_now(
    demo: Organization,
):
    before = org_analysis_get(
        organization=demo,
        as_of=dt.datetime.combine(
            timezone.localdate() - dt.timedelta(weeks=18), dt.time(12), tzinfo=dt.UTC
        ),
    )
    now = org_analysis_get(organization=demo)

    assert before["metrics"]["teams"] == 12
    buddy_teams_before = missing_buddy(before)
    buddy_teams_now = missing_buddy(now)
    assert any("payments" in subject for subject in buddy_teams_before)
    assert not any(
        "payments" in subject for subject in buddy_teams_now
    )  # resolved by the buddy named seven weeks ago


def test_milestones_are_in_realistic_states_with_dated_events(demo: Organization):
    transformation = Transformation.objects.get(organization=demo)
    statuses = dict(transformation.milestones.values_list("key", "status"))

    assert statuses["map-ticket-flows"] == MilestoneStatus.DONE
    assert statuses["secure-sponsor"] == MilestoneStatus.DONE
    assert statuses["write-platform-vision"] == MilestoneStatus.IN_PROGRESS
    assert statuses["name-platform-owner"] == MilestoneStatus.AT_RISK
    assert statuses["announce-unification"] == MilestoneStatus.BLOCKED
    done = MilestoneEvent.objects.get(
        milestone__transformation=transformation,
        milestone__key="map-ticket-flows",
        to_status=MilestoneStatus.DONE,
    )
    assert done.at.date() == transformation.start_date + dt.timedelta(weeks=3)
    assert transformation.milestones.get(key="merge-silo-teams").changes.count() == 1


def test_a_team_of_five_answers_in_every_period_and_a_team_of_three_never_enough(
    demo: Organization,
):
    periods = sorted(
        set(Response.objects.filter(organization=demo).values_list("period_start", flat=True))
    )
    assert len(periods) >= 8  # four months of fortnightly periods

    for period in periods:
        search = Response.objects.filter(
            organization=demo, team__slug="search", period_start=period
        )
        returns = Response.objects.filter(
            organization=demo, team__slug="returns", period_start=period
        )
        assert search.count() >= 5
        assert returns.count() <= 3


def fingerprint(organization: Organization) -> dict[str, Any]:
    """Everything the seed writes, without ids and with the organisation left out."""
    transformation = Transformation.objects.get(organization=organization)
    return {
        "events": sorted(
            (e.kind, e.external_id, e.team.slug if e.team else "", e.occurred_at, repr(e.data))
            for e in SignalEvent.objects.filter(organization=organization).select_related("team")
        ),
        "answers": sorted(
            (r.team.slug if r.team else "", r.period_start, r.submitted_on, repr(r.answers))
            for r in Response.objects.filter(organization=organization).select_related("team")
        ),
        "snapshots": sorted(
            (s.team.slug if s.team else "", s.period_start, s.suppressed, repr(s.score))
            for s in ReadinessSnapshot.objects.filter(organization=organization).select_related(
                "team"
            )
        ),
        "milestones": sorted(transformation.milestones.values_list("key", "status", "done_on")),
        "buddies": sorted(
            Membership.objects.filter(organization=organization, role="devops_buddy").values_list(
                "team__slug", "person__email"
            )
        ),
    }


def test_seeding_two_organisations_at_the_same_moment_gives_identical_demos():
    at = timezone.now().replace(microsecond=0)
    seeded = []
    for slug in ("demo-a", "demo-b"):
        call_command("load_demo", "--org", slug, "--password", PASSWORD, stdout=StringIO())
        organization = Organization.objects.get(slug=slug)
        demo_rhythm_seed(organization=organization, at=at)
        seeded.append(fingerprint(organization))

    first, second = seeded
    assert first["events"]
    assert first["answers"]
    assert first["snapshots"]
    assert first == second
