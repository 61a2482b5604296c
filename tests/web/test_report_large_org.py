"""The printable leadership report stays one A4 page for a large organisation (issue 17): with 60
teams in several units the heat map keeps the lowest and highest teams now and says how many more
there are, and a table by unit counts every team, instead of growing a row per team."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from teams.models import Organization, OrganizationRole, OrgUnit, Role, Team
from tests.builders import WEB_PASSWORD
from tests.web.browser import SCREENSHOTS, committed_world, log_in, screenshot
from transform.readiness.services import readiness_nightly
from transform.web.report_summary import (
    REPORT_TEAMS,
    REPORT_UNITS,
    ReportTeam,
    report_teams,
    unit_summary,
)

TEAMS, PEOPLE, ANSWERS = 60, 480, 1_500
# A page object of a PDF, not the page tree ("/Type /Pages").
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def build_large_org() -> Organization:
    """A generated organisation of 60 teams in several units, with answers, signals, a
    transformation, tonight's readiness snapshots and a leader who can log in."""
    call_command(
        "generate_org",
        org="bigco",
        teams=TEAMS,
        people=PEOPLE,
        answers=ANSWERS,
        transformation=True,
        seed=3,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    organization = Organization.objects.get(slug="bigco")
    readiness_nightly(at=timezone.now())
    user = get_user_model().objects.create_user(username="bigleader", password=WEB_PASSWORD)
    OrganizationRole.objects.create(organization=organization, user=user, role=Role.LEADER)
    return organization


def _cells(scores: dict[int, float | None]) -> dict[int, dict[str, Any]]:
    return {
        pk: {"kind": "score", "score": score} if score is not None else {"kind": "missing"}
        for pk, score in scores.items()
    }


def test_a_small_organisation_shows_every_team_by_name() -> None:
    teams = [ReportTeam(id=i, slug=f"t{i}", name=f"Team {i}", unit="") for i in range(4)]

    chosen, said = report_teams(teams, cells=_cells({0: 40.0, 1: None, 2: 90.0, 3: 10.0}))

    assert [team.id for team in chosen] == [0, 1, 2, 3]
    assert said == ""


def test_a_large_organisation_shows_the_lowest_and_highest_teams_and_counts_the_rest() -> None:
    teams = [ReportTeam(id=i, slug=f"t{i}", name=f"Team {i:02}", unit="") for i in range(60)]
    scores: dict[int, float | None] = {i: float(i) if i % 3 else None for i in range(60)}

    chosen, said = report_teams(teams, cells=_cells(scores))

    assert len(chosen) == REPORT_TEAMS
    assert [team.id for team in chosen] == [1, 2, 4, 5, 7, 8, 52, 53, 55, 56, 58, 59]
    assert said == (
        "The 6 teams with the lowest and the 6 with the highest readiness now, of 60; "
        "and 48 more teams on the dashboard."
    )


def test_teams_without_a_score_fill_the_report_when_few_have_one() -> None:
    teams = [ReportTeam(id=i, slug=f"t{i}", name=f"Team {i:02}", unit="") for i in range(30)]

    chosen, _said = report_teams(
        teams, cells=_cells({i: 50.0 if i < 3 else None for i in range(30)})
    )

    assert len(chosen) == REPORT_TEAMS
    assert [team.id for team in chosen[:3]] == [0, 1, 2]


@pytest.fixture(scope="module")
def bigco(django_db_setup: None, django_db_blocker: Any) -> Iterator[Organization]:
    yield from committed_world(django_db_blocker, build_large_org)


@pytest.mark.django_db
def test_the_report_of_60_teams_summarises_instead_of_growing(bigco: Organization) -> None:
    assert Team.objects.filter(organization=bigco).count() == TEAMS
    assert OrgUnit.objects.filter(organization=bigco).count() > 3
    client = Client()
    client.force_login(get_user_model().objects.get(username="bigleader"))

    response = client.get(reverse("web:leadership-report", kwargs={"org_slug": "bigco"}))

    assert response.status_code == 200
    html = response.content.decode()
    heat = html.split('id="report-heat-map"', 1)[1].split("</table>", 1)[0]
    assert heat.count('<th scope="row">') == REPORT_TEAMS + 1  # the organisation, then teams
    assert "and 48 more teams on the dashboard" in html
    units = html.split('id="report-units"', 1)[1].split("</table>", 1)[0]
    unit_rows = units.count('<th scope="row">')
    assert 2 <= unit_rows <= REPORT_UNITS
    counted = [int(n) for n in re.findall(r'<th scope="row">[^<]+</th><td>(\d+)</td>', units)]
    assert len(counted) == unit_rows
    if "more unit" not in html:
        assert sum(counted) == TEAMS


@pytest.mark.browser
def test_the_report_of_60_teams_prints_on_one_a4_page(page: Any, bigco: Organization) -> None:
    log_in(page, "bigleader")
    page.goto("/o/bigco/leadership/report/")

    assert page.locator("#report-heat-map tbody tr").count() == REPORT_TEAMS + 1
    assert page.locator("#report-units").is_visible()
    assert page.locator("svg.report-spark").count() == 9

    page.emulate_media(media="print")
    page.set_viewport_size({"width": 718, "height": 1047})  # A4 less 1 cm margins, at 96 dpi
    screenshot(page, "leadership-report-60-teams-a4")
    pdf = page.pdf(format="A4", print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "leadership-report-60-teams-a4.pdf").write_bytes(pdf)

    assert pdf.startswith(b"%PDF")
    assert len(PAGE_OBJECT.findall(pdf)) == 1


def test_the_report_says_how_teams_without_a_score_fill_it() -> None:
    teams = [ReportTeam(id=i, slug=f"t{i}", name=f"Team {i:02}", unit="") for i in range(30)]

    _chosen, some = report_teams(
        teams, cells=_cells({i: 50.0 if i < 3 else None for i in range(30)})
    )
    _chosen, none = report_teams(teams, cells=_cells(dict.fromkeys(range(30))))

    assert some == (
        "The 3 teams with a readiness score now and 9 teams without one, of 30; "
        "and 18 more teams on the dashboard."
    )
    assert none == (
        "12 teams without a readiness score now, of 30; and 18 more teams on the dashboard."
    )


def test_two_units_of_the_same_name_stay_two_rows() -> None:
    teams = [
        ReportTeam(id=1, slug="a", name="A", unit="Payments", unit_id=10),
        ReportTeam(id=2, slug="b", name="B", unit="Payments", unit_id=11),
        ReportTeam(id=3, slug="c", name="C", unit="Payments", unit_id=11),
    ]

    rows, left_out = unit_summary(teams, cells=_cells({1: 80.0, 2: None, 3: None}))

    assert [(row["unit"], row["teams"]) for row in rows] == [("Payments", 2), ("Payments", 1)]
    assert left_out == 0
