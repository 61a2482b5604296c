"""The leadership dashboard and its report through Django's test client: who may see them, what
they show, the business case form, and query counts that stay flat as the organisation grows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from teams.models import InteractionMode, Organization, Team, TeamType
from tests.builders import WEB_PASSWORD, WebDemo, build_web_demo, client_for, fresh, module_world
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrganizationRoleFactory,
    OrgUnitFactory,
    TeamFactory,
)
from transform.evidence.records import iso_utc
from transform.evidence.services import signal_events_ingest
from transform.models import CheckinSettings
from transform.readiness.services import readiness_nightly

pytestmark = pytest.mark.django_db

DASHBOARD = "/o/demo/leadership/"
REPORT = "/o/demo/leadership/report/"


def build_dashboard_demo() -> WebDemo:
    """The web demo with tonight's readiness snapshots stored."""
    built = build_web_demo()
    readiness_nightly(at=timezone.now())
    return built


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, build_dashboard_demo)


@pytest.fixture
def demo(demo_built: WebDemo, db: None) -> WebDemo:
    return fresh(demo_built)


def heat_row(html: str, slug: str) -> str:
    """The heat map's table row of team ``slug`` (its name links to the team page; the slug itself
    is not shown)."""
    heat_map = html.split('<table class="lead-heat">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", heat_map, flags=re.S)
    found = [row for row in rows if f'/teams/{slug}/">' in row]
    assert all(f"({slug})" not in row for row in rows)
    assert len(found) == 1, f"no heat map row for {slug}"
    return found[0]


@pytest.mark.parametrize("path", [DASHBOARD, REPORT])
@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("demo", 200),  # admin
        ("agent", 200),
        ("leader", 200),
        ("manager", 403),
        ("member", 403),
        ("outsider", 404),
    ],
)
def test_leaders_admins_and_change_agents_see_the_dashboard_and_others_do_not(
    demo: WebDemo, path: str, username: str, status: int
) -> None:
    response = client_for(username).get(path)

    assert response.status_code == status


def test_the_dashboard_asks_for_a_login_first(demo: WebDemo) -> None:
    response = client_for(None).get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_progress_shows_milestone_counts_the_schedule_and_a_link_to_the_plan(
    demo: WebDemo,
) -> None:
    html = client_for("leader").get(DASHBOARD).content.decode()

    assert demo.transformation.title in html
    assert re.search(r"<dt>In progress</dt><dd[^>]*>1</dd>", html)
    assert re.search(r"<dt>Done</dt><dd[^>]*>0</dd>", html)
    assert re.search(r"\d+ days (late|early)|on time", html)
    assert 'href="/o/demo/plans/"' in html


def test_the_heat_map_shows_a_score_for_search_and_suppressed_for_a_small_team(
    demo: WebDemo,
) -> None:
    html = client_for("leader").get(DASHBOARD).content.decode()

    search = heat_row(html, "search")
    assert re.search(r'lead-cell-score[^"]*">\d+(\.\d)? <span class="lead-band-label">', search)
    catalog = heat_row(html, "catalog")
    assert "suppressed" in catalog
    assert "lead-cell-score" not in catalog
    assert "<caption>Readiness by team and survey period" in html
    # Six periods: the five stored ones and the current one, live.
    assert html.count('<th scope="col">20') == 6


def test_stored_snapshots_fill_the_earlier_periods(demo: WebDemo) -> None:
    html = client_for("leader").get(DASHBOARD).content.decode()

    # readiness_nightly stored the previous period too: no answers there, so suppressed.
    cells = re.findall(r"<td class=\"lead-cell[^>]*>(.*?)</td>", heat_row(html, "search"))
    assert cells[-2] == "suppressed"
    assert cells[0] == "no data"


def test_every_kpi_has_a_chart_a_summary_and_a_data_table(demo: WebDemo) -> None:
    html = client_for("leader").get(DASHBOARD).content.decode()

    assert html.count("<canvas data-kpi=") == 9
    assert html.count("<summary>Data table</summary>") == 9
    assert 'id="lead-kpi-data"' in html
    assert "Voluntary platform adoption" in html
    assert "Latest: 30.0 % of teams free to choose" in html  # 3 of 10 teams (docs/signals.md)
    assert "Deployment rework rate" in html
    assert "no data" in html


def test_flow_score_says_lower_is_better(demo: WebDemo) -> None:
    html = client_for("leader").get(DASHBOARD).content.decode()

    assert "Lower is better." in html
    assert re.search(r"<dt>Now</dt><dd>\d+(\.\d)?", html)


def test_the_business_case_uses_placeholder_defaults_and_says_so(demo: WebDemo) -> None:
    html = client_for("leader").get(DASHBOARD).content.decode()

    assert "Placeholder assumptions." in html
    assert re.search(r"<dt>Yearly cost of waiting</dt><dd>EUR [\d,]+</dd>", html)
    assert 'id="id_engineer_cost_per_hour"' in html
    assert '<label for="id_engineer_cost_per_hour">' in html


def test_the_business_case_form_recomputes_with_the_given_assumptions(demo: WebDemo) -> None:
    default = client_for("leader").get(DASHBOARD).content.decode()
    html = (
        client_for("leader")
        .get(DASHBOARD, {"engineer_cost_per_hour": "50", "currency": "usd", "share_removed": "25"})
        .content.decode()
    )

    cost = re.search(r"<dt>Yearly cost of waiting</dt><dd>USD ([\d,]+)</dd>", html)
    default_cost = re.search(r"<dt>Yearly cost of waiting</dt><dd>EUR ([\d,]+)</dd>", default)
    assert cost is not None
    assert default_cost is not None
    half = int(default_cost.group(1).replace(",", "")) / 2
    assert abs(int(cost.group(1).replace(",", "")) - half) <= 1
    assert "(25% of it removed)" in html
    assert "Placeholder assumptions." not in html


def test_a_wrong_assumption_is_shown_next_to_its_field_and_the_default_is_used(
    demo: WebDemo,
) -> None:
    response = client_for("leader").get(
        DASHBOARD, {"engineer_cost_per_hour": "lots", "currency": "euro", "share_removed": "150"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="error_engineer_cost_per_hour"' in html
    assert "got &#x27;lots&#x27;" in html
    assert 'id="error_currency"' in html
    assert 'id="error_share_removed"' in html
    assert "(50% of it removed)" in html


def test_the_report_has_the_headline_numbers_a_print_button_and_no_charts(
    demo: WebDemo,
) -> None:
    html = client_for("leader").get(REPORT, {"currency": "GBP"}).content.decode()

    assert 'id="lead-print"' in html
    assert "<canvas" not in html
    assert "chart.umd.min.js" not in html
    assert "web/leadership.css" in html
    assert demo.transformation.title in html
    assert "Organisation readiness in the current period" in html
    assert "Key indicators" in html
    assert re.search(r"<dt>Projected savings per year</dt><dd><strong>GBP [\d,]+", html)


def test_the_report_says_which_assumption_was_wrong(demo: WebDemo) -> None:
    html = client_for("leader").get(REPORT, {"newcomers_per_year": "-3"}).content.decode()

    assert "Newcomers per year: Enter a number from 0" in html


def test_without_an_active_transformation_progress_has_an_empty_state(db: Any) -> None:
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from teams.models import Role

    call_command("load_demo", "--password", WEB_PASSWORD, stdout=StringIO())
    user = get_user_model().objects.create_user("boss", password=WEB_PASSWORD)
    organization = Organization.objects.get(slug="demo")
    OrganizationRoleFactory(organization=organization, user=user, role=Role.LEADER)

    html = client_for("boss").get(DASHBOARD).content.decode()

    assert "No active transformation." in html
    assert "<dt>Now</dt>" in html


def _grow(organization: Organization, *, teams: int) -> None:
    """More teams, people, memberships and ticket dependencies on a silo."""
    silo = TeamFactory(organization=organization, slug="grown-silo", type=TeamType.OPS_SILO)
    for index in range(teams):
        team = TeamFactory(organization=organization, slug=f"grown-{index}")
        for _ in range(3):
            MembershipFactory(team=team)
        InteractionFactory(source=team, target=silo, mode=InteractionMode.TICKET_DEPENDENCY)


def _count(client: Client, path: str) -> int:
    # Cold, as after a change: the cached analysis and readings would hide what a miss costs.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", [DASHBOARD, REPORT])
def test_the_pages_run_as_many_queries_for_a_bigger_organisation(
    demo: WebDemo, path: str, django_assert_max_num_queries: Any
) -> None:
    client = client_for("leader")
    client.get(path)
    demo_count = _count(client, path)
    _grow(demo.organization, teams=40)
    readiness_nightly(at=timezone.now())
    cache.clear()

    with django_assert_max_num_queries(demo_count):
        response = client.get(path)

    assert response.status_code == 200
    if path == DASHBOARD:
        assert "Teams page 1 of 3" in response.content.decode()


def test_the_heat_map_pages_through_teams(demo: WebDemo) -> None:
    _grow(demo.organization, teams=40)

    html = client_for("leader").get(DASHBOARD, {"teams_page": "2"}).content.decode()

    assert "Teams page 2 of 3" in html
    assert "Previous teams" in html
    assert "Next teams" in html
    assert "Whole organisation" in html


def dora_section(html: str) -> str:
    return html.split('id="dora-heading"', 1)[1].split("</section>", 1)[0]


def _deploy_now(organization: Organization, team: str, n: int, *, hours_ago: float = 2) -> None:
    """A deploy of ``team`` ``hours_ago`` hours ago, shipping a commit made 3 hours before it."""
    now = timezone.now()
    deployed = now - dt.timedelta(hours=hours_ago)
    signal_events_ingest(
        organization=organization,
        records=[
            {
                "kind": "deploy",
                "id": f"now-{team}-{n}",
                "team": team,
                "occurred_at": iso_utc(deployed),
                "commit_times": [iso_utc(deployed - dt.timedelta(hours=3))],
            }
        ],
        source="test",
        at=now,
    )


def test_the_dora_table_lists_units_in_plain_words_with_their_teams_and_no_data_where_absent(
    demo: WebDemo,
) -> None:
    _deploy_now(demo.organization, "search", 1)

    asked = timezone.now()
    section = dora_section(client_for("leader").get(DASHBOARD).content.decode())

    for heading in (
        "Deploys per day",
        "Lead time (median hours)",
        "Change failure rate",
        "Time to restore (median hours)",
    ):
        assert f'<th scope="col">{heading}</th>' in section
    units = section.split("<caption>DORA figures per unit</caption>", 1)[1].split("</table>")[0]
    shopping = next(
        row for row in re.findall(r"<tr.*?</tr>", units, flags=re.S) if "Shopping" in row
    )
    # The unit holds search's deploy: a lead time of 3 h; nothing failed, nothing to restore.
    assert "<td>3.0</td>" in shopping
    assert "<td>0%</td>" in shopping
    assert "<td>no data</td>" in shopping  # time to restore
    assert "Teams of Shopping" in section
    search = next(
        row for row in re.findall(r"<tr.*?</tr>", section, flags=re.S) if "· search<" in row
    )
    assert "<td>3.0</td>" in search
    # A team that never deployed reads "no data", never a made-up 0.
    dba = next(row for row in re.findall(r"<tr.*?</tr>", section, flags=re.S) if "· dba<" in row)
    assert dba.count("<td>no data</td>") == 5
    assert "counts every change" in section
    # The period still runs: its figures count up to the start of the current hour (the hour
    # of the request, or of now should it have turned since).
    local = timezone.get_default_timezone()
    hours = {
        f"to {moment.astimezone(local):%Y-%m-%d %H}:00)." for moment in (asked, timezone.now())
    }
    assert any(hour in section for hour in hours)


def test_the_dora_table_follows_the_organisations_lead_time_cut_off(demo: WebDemo) -> None:
    CheckinSettings.objects.update_or_create(
        organization=demo.organization, defaults={"lead_time_min_change_minutes": 1}
    )

    section = dora_section(client_for("leader").get(DASHBOARD).content.decode())

    assert "leaves out changes under 1 minute" in section


# The dashboard's queries with nothing cached, pinned, for the demo and for a bigger organisation
# alike. The DORA table adds 7 (the versions its cache is keyed by, the teams, the units, the team
# lineage and the events, each read once whatever the number of teams, units and events); the
# ingested readings of a window are computed once per request (the readiness report and the KPI
# charts share them through the cache) after one read of their versions. The flow score at the
# plan's start reads the graph as of that day: the history replay's seven queries (one per table).
DASHBOARD_QUERIES = 67


def test_the_dashboard_runs_a_pinned_number_of_queries_whatever_the_units_teams_and_events(
    demo: WebDemo, django_assert_num_queries: Any
) -> None:
    client = client_for("leader")
    client.get(DASHBOARD)
    cache.clear()  # cold, as after a change
    with django_assert_num_queries(DASHBOARD_QUERIES):
        client.get(DASHBOARD)
    _grow(demo.organization, teams=20)
    for index in range(10):
        parent = OrgUnitFactory(organization=demo.organization, slug=f"grown-unit-{index}")
        sub = OrgUnitFactory(
            organization=demo.organization, slug=f"grown-sub-{index}", parent=parent
        )
        Team.objects.filter(slug=f"grown-{index}").update(unit=sub)
        _deploy_now(demo.organization, f"grown-{index}", index)
    readiness_nightly(at=timezone.now())
    cache.clear()

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(DASHBOARD)

    section = dora_section(response.content.decode())
    assert "Teams of Grown-Sub-9 (1)" in section
    assert "Teams of Grown-Unit-9" not in section  # no team of its own: only its sub-unit's
