"""The pages' downloads (docs/integrations.md, "Spreadsheets"): the plan as CSV and XLSX, the
findings list and the readiness heat map as CSV, with the access rules of the page each exports,
formula-looking text neutralised and no suppressed figure ever in the file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from django.core.cache import cache
from django.utils import timezone

from teams.models import InteractionMode, Organization, Team, TeamType
from tests.builders import WebDemo, build_web_demo, client_for, fresh, module_world
from tests.factories import InteractionFactory, MembershipFactory, TeamFactory
from transform.models import Milestone, ReadinessSnapshot
from transform.plans.exports import FINDING_COLUMNS, PLAN_COLUMNS
from transform.readiness.services import readiness_nightly

pytestmark = pytest.mark.django_db

HEAT_MAP = "/o/demo/leadership/heat-map.csv"
FINDINGS = "/o/demo/findings.csv"


def build_export_demo() -> WebDemo:
    built = build_web_demo()
    readiness_nightly(at=timezone.now())
    return built


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, build_export_demo)


@pytest.fixture
def demo(demo_built: WebDemo, db: None) -> WebDemo:
    return fresh(demo_built)


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- the plan ---------------------------------------------------------------------------------


def test_the_plan_page_links_both_downloads_and_they_open(demo: WebDemo) -> None:
    plan = f"/o/demo/plans/{demo.transformation.pk}/"
    client = client_for("member")

    html = client.get(plan).content.decode()
    rows = rows_of(client.get(f"{plan}plan.csv"))
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"{plan}plan.xlsx").content))["Plan"]

    assert f'href="{plan}plan.csv"' in html
    assert f'href="{plan}plan.xlsx"' in html
    assert rows[0] == list(PLAN_COLUMNS)
    started = next(row for row in rows[1:] if row[0] == demo.started.key)
    assert started[PLAN_COLUMNS.index("status")] == "in_progress"
    assert started[PLAN_COLUMNS.index("started_on")] == str(demo.started.started_on)
    xlsx_rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(xlsx_rows) == len(rows) - 1 == demo.transformation.milestones.count()
    first = Milestone.objects.get(pk=demo.started.pk)
    due = next(r for r in xlsx_rows if r[0] == first.key)[PLAN_COLUMNS.index("planned_due")]
    assert isinstance(due, dt.datetime)
    assert due.date() == first.planned_due


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_the_plan_downloads_follow_the_plan_pages_access(demo: WebDemo, extension: str) -> None:
    path = f"/o/demo/plans/{demo.transformation.pk}/plan.{extension}"

    assert client_for("outsider").get(path).status_code == 404
    assert client_for(None).get(path).status_code == 302
    assert client_for("manager").get(path).status_code == 200


# --- the findings ------------------------------------------------------------------------------


def test_the_findings_csv_lists_every_finding_of_the_filter(demo: WebDemo) -> None:
    client = client_for("member")

    html = client.get("/o/demo/findings/").content.decode()
    every = rows_of(client.get(FINDINGS))
    high = rows_of(client.get(FINDINGS, {"severity": "high"}))

    assert 'href="/o/demo/findings.csv' in html
    assert every[0] == list(FINDING_COLUMNS)
    total = re.search(r"(\d+) findings? in today's topology", html)
    assert total is not None
    assert len(every) - 1 == int(total.group(1)) > 0
    assert {row[1] for row in high[1:]} <= {"high"}
    assert len(high) - 1 == sum(1 for row in every[1:] if row[1] == "high")


def test_a_team_name_that_looks_like_a_formula_is_neutralised(demo: WebDemo) -> None:
    silo = TeamFactory(organization=demo.organization, slug="evil-silo", type=TeamType.OPS_SILO)
    for index in range(2):
        team = TeamFactory(
            organization=demo.organization, slug=f"evil-{index}", name=f"=cmd{index}"
        )
        MembershipFactory(team=team)
        InteractionFactory(source=team, target=silo, mode=InteractionMode.TICKET_DEPENDENCY)
    cache.clear()

    text = client_for("member").get(FINDINGS).content.decode()

    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=cmd0 (evil-0)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_findings_csv_asks_for_a_login_and_a_role(demo: WebDemo) -> None:
    assert client_for(None).get(FINDINGS).status_code == 302
    assert client_for("outsider").get(FINDINGS).status_code == 404


# --- the readiness heat map --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "status"),
    [("demo", 200), ("agent", 200), ("leader", 200), ("manager", 403), ("member", 403),
     ("outsider", 404)],
)  # fmt: skip
def test_the_heat_map_csv_has_the_dashboards_access(
    demo: WebDemo, username: str, status: int
) -> None:
    assert client_for(username).get(HEAT_MAP).status_code == status


def test_the_heat_map_csv_shows_suppressed_cells_as_suppressed_and_never_their_score(
    demo: WebDemo,
) -> None:
    catalog = Team.objects.get(organization=demo.organization, slug="catalog")
    # A stored, suppressed figure whose score must never be read out: an unmistakable number.
    stored = ReadinessSnapshot.objects.filter(
        organization=demo.organization, team=catalog, suppressed=True
    )
    assert stored.exists()
    stored.update(score=87.654)

    client = client_for("leader")
    html = client.get("/o/demo/leadership/").content.decode()
    rows = rows_of(client.get(HEAT_MAP))

    assert 'href="/o/demo/leadership/heat-map.csv"' in html
    header, body = rows[0], rows[1:]
    assert header[:3] == ["team", "team_slug", "note"]
    assert len(header) == 3 + 6
    assert header[-1].endswith("(live)")
    assert body[0][0] == "Whole organisation"
    by_slug = {row[1]: row for row in body[1:]}
    assert set(by_slug[catalog.slug][3:]) <= {"suppressed", "no data"}
    assert "suppressed" in by_slug[catalog.slug][3:]
    assert "87.654" not in client.get(HEAT_MAP).content.decode()
    search = by_slug["search"]
    assert re.fullmatch(r"\d+(\.\d+)?", search[-1])
    assert search[-2] == "suppressed"


def test_the_heat_map_csv_has_every_team_not_one_page(demo: WebDemo) -> None:
    organization = Organization.objects.get(slug="demo")
    for index in range(30):
        TeamFactory(organization=organization, slug=f"grown-{index}")

    rows = rows_of(client_for("leader").get(HEAT_MAP))

    live_teams = Team.objects.filter(organization=organization, retired_at__isnull=True).count()
    assert len([row for row in rows[1:] if not row[2]]) == live_teams + 1


def test_the_heat_map_csv_reads_as_many_queries_for_a_bigger_organisation(
    demo: WebDemo, django_assert_max_num_queries: Any
) -> None:
    client = client_for("leader")
    client.get(HEAT_MAP)
    cache.clear()
    with django_assert_max_num_queries(40) as captured:
        client.get(HEAT_MAP)
    demo_count = len(captured)
    assert demo_count > 5
    for index in range(40):
        team = TeamFactory(organization=demo.organization, slug=f"grown-{index}")
        MembershipFactory(team=team)
    readiness_nightly(at=timezone.now())
    cache.clear()

    with django_assert_max_num_queries(demo_count):
        response = client.get(HEAT_MAP)

    assert len(rows_of(response)) > 40
