"""The plan as CSV and XLSX through the API (docs/integrations.md, "Spreadsheets"): opened with
the csv module and openpyxl, the plan report's columns and dates, formula-looking text that
never runs, and the plan's access rules."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest

from core.files.spreadsheets import cell_neutralised, csv_text, xlsx_bytes
from tests.builders import (
    PlanWorld,
    build_plan_world,
    chain_transformation,
    fresh,
    module_world,
)
from transform.audit.export import cell_neutralised as audit_cell_neutralised
from transform.models import Milestone
from transform.plans.exports import PLAN_COLUMNS

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://evil.example","click")'


@pytest.fixture(scope="module")
def plan_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[PlanWorld]:
    yield from module_world(django_db_blocker, build_plan_world)


@pytest.fixture
def world(plan_world_built: PlanWorld, db: None) -> PlanWorld:
    return fresh(plan_world_built)


def _csv(world: PlanWorld, kind: str = "member") -> list[dict[str, str]]:
    response = world.client(kind).get(f"/api/v1/transformations/{world.transformation.pk}/plan.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode()
    assert text.splitlines()[0] == ",".join(PLAN_COLUMNS)
    return list(csv.DictReader(io.StringIO(text)))


def _xlsx(world: PlanWorld, kind: str = "member") -> Any:
    response = world.client(kind).get(
        f"/api/v1/transformations/{world.transformation.pk}/plan.xlsx"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content))["Plan"]


def test_the_csv_plan_has_the_report_columns_and_one_row_per_milestone(world: PlanWorld) -> None:
    rows = _csv(world)

    milestones = list(world.transformation.milestones.order_by("position", "id"))
    assert [row["key"] for row in rows] == [m.key for m in milestones]
    buddies = next(row for row in rows if row["key"] == "buddies")
    milestone = world.milestone("buddies")
    assert buddies["owner_email"] == "em@acme.test"
    assert buddies["planned_start"] == str(milestone.planned_start)
    assert buddies["planned_due"] == str(milestone.planned_due)
    assert buddies["forecast_due"] == str(milestone.forecast_due)
    assert buddies["critical"] == str(milestone.critical)
    assert buddies["status"] == "planned"


def test_the_xlsx_plan_has_date_cells_on_the_right_days(world: PlanWorld) -> None:
    sheet = _xlsx(world)

    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(PLAN_COLUMNS)
    by_key = {row[0]: dict(zip(PLAN_COLUMNS, row, strict=True)) for row in rows[1:]}
    for milestone in world.transformation.milestones.all():
        row = by_key[milestone.key]
        assert row["planned_due"].date() == milestone.planned_due
        assert row["planned_start"].date() == milestone.planned_start
        assert row["title"] == milestone.title
        assert row["critical"] is milestone.critical
    assert len(by_key) == world.transformation.milestones.count()


def test_formula_looking_text_never_runs_in_either_file(world: PlanWorld) -> None:
    Milestone.objects.filter(pk=world.milestone("buddies").pk).update(
        title=FORMULA, status_reason="@SUM(A1)"
    )

    csv_row = next(row for row in _csv(world) if row["key"] == "buddies")
    response = world.client("member").get(
        f"/api/v1/transformations/{world.transformation.pk}/plan.xlsx"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Plan"]

    assert csv_row["title"] == "'" + FORMULA
    assert csv_row["status_reason"] == "'@SUM(A1)"
    title_cells = [row[1] for row in sheet.iter_rows(min_row=2) if row[1].value == FORMULA]
    assert len(title_cells) == 1
    assert title_cells[0].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    assert "<f " not in sheet_xml


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize(("kind", "status"), [("anonymous", 401), ("no_role", 404)])
def test_callers_who_may_not_read_the_plan_get_no_file(
    world: PlanWorld, extension: str, kind: str, status: int
) -> None:
    response = world.client(kind).get(
        f"/api/v1/transformations/{world.transformation.pk}/plan.{extension}"
    )

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"message", "extra"}


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_another_organisations_plan_is_a_404(world: PlanWorld, extension: str) -> None:
    response = world.client("admin").get(
        f"/api/v1/transformations/{world.globex_transformation.pk}/plan.{extension}"
    )

    assert response.status_code == 404


# The session, the login, the plan's access (3), its playbooks, milestones and dependencies, and
# the exit criteria's organisation snapshot and readings: whatever the number of milestones.
PLAN_EXPORT_QUERIES = 14


@pytest.mark.parametrize("count", [4, 30])
def test_the_export_reads_as_many_queries_for_a_bigger_plan(
    world: PlanWorld, django_assert_max_num_queries: Any, count: int
) -> None:
    plan = chain_transformation(
        world.transformation.organization, count=count, owner="plan_agent@acme.test"
    )
    client = world.client("member")
    path = f"/api/v1/transformations/{plan.pk}/plan.xlsx"
    client.get(path)  # the exit criteria's cache, warm

    with django_assert_max_num_queries(PLAN_EXPORT_QUERIES):
        response = client.get(path)

    assert openpyxl.load_workbook(io.BytesIO(response.content))["Plan"].max_row == count + 1


def test_cells_that_look_like_formulas_are_neutralised_everywhere() -> None:
    for text in ("=1+2", "+33 1 23", "-5", "@SUM(A1)", "\tx", "\rx"):
        assert cell_neutralised(text) == "'" + text
    assert cell_neutralised("plain") == "plain"
    assert cell_neutralised(None) == ""
    assert audit_cell_neutralised is cell_neutralised
    assert csv_text(["a"], [["=1"], [dt.date(2027, 1, 4)]]) == "a\r\n'=1\r\n2027-01-04\r\n"


def test_an_xlsx_string_starting_with_equals_is_text_and_a_date_a_date() -> None:
    data = xlsx_bytes(title="T", header=["a", "b"], rows=[["=1+2", dt.date(2027, 1, 4)]])

    sheet = openpyxl.load_workbook(io.BytesIO(data))["T"]

    assert sheet["A2"].value == "=1+2"
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == dt.datetime(2027, 1, 4)
    assert sheet["B2"].is_date
