"""Downloads of the web pages (docs/integrations.md, "Spreadsheets"), with the access rules of the
page each one exports:

- ``o/<org>/plans/<id>/plan.csv`` and ``plan.xlsx``: the plan report (whoever reads the plan);
- ``o/<org>/findings.csv``: the findings list with the page's kind and severity filters, every
  page of it (every role);
- ``o/<org>/leadership/heat-map.csv``: the readiness heat map, one row for the organisation then
  one per team (and per team merged or split into it), one column per survey period (admins,
  change agents and leaders). A suppressed cell says "suppressed", exactly as the page shows
  it: the hidden score is never read into the file.

Every cell goes through ``core.files.spreadsheets`` (formula-looking text neutralised).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.files.spreadsheets import csv_text
from teams.analysis import InvalidThresholdsError
from teams.selectors import org_analysis_get, team_list
from teams.zones import organization_zone
from transform.access import OrgAccess, oversight_access_check, transformation_get_for_user
from transform.plans import selectors
from transform.plans.export_apis import XLSX_MEDIA_TYPE
from transform.plans.exports import findings_csv, plan_csv, plan_file_name, plan_xlsx
from transform.plans.serializers import plan_report_data
from transform.readiness.selectors import readiness_report_get
from transform.rhythm.selectors import checkin_settings_get
from transform.web.access import org_page
from transform.web.findings_pages import FindingsFilterForm

# The heat map is the leadership page's own computation, so that the file suppresses exactly
# what the page suppresses (transform.web.leadership_pages).
from transform.web.leadership_pages import heat_map_build, heat_map_periods

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _download(content: str | bytes, *, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _plan(request: HttpRequest, access: OrgAccess, transformation_id: int) -> dict[str, object]:
    found = transformation_get_for_user(
        user=request.user, transformation_id=transformation_id, organization=access.organization
    )
    return plan_report_data(selectors.transformation_plan_get(transformation=found.transformation))


@org_page
def plan_csv_download(
    request: HttpRequest, access: OrgAccess, transformation_id: int
) -> HttpResponse:
    plan = _plan(request, access, transformation_id)
    return _download(
        plan_csv(plan), content_type=CSV_CONTENT_TYPE, name=plan_file_name(plan, "csv")
    )


@org_page
def plan_xlsx_download(
    request: HttpRequest, access: OrgAccess, transformation_id: int
) -> HttpResponse:
    plan = _plan(request, access, transformation_id)
    return _download(
        plan_xlsx(plan), content_type=XLSX_MEDIA_TYPE, name=plan_file_name(plan, "xlsx")
    )


@org_page
def findings_csv_download(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Every finding the page lists with the same filters (not only the page shown)."""
    form = FindingsFilterForm(request.GET)
    chosen = form.cleaned_data if form.is_valid() else {}
    try:
        report = org_analysis_get(organization=access.organization)
    except InvalidThresholdsError:
        report = {"findings": []}
    listed = [
        finding
        for finding in report["findings"]
        if (not chosen.get("kind") or finding["kind"] == chosen["kind"])
        and (not chosen.get("severity") or finding["severity"] == chosen["severity"])
    ]
    team_names = dict(team_list(organization=access.organization).values_list("slug", "name"))
    return _download(
        findings_csv(listed, team_names=team_names),
        content_type=CSV_CONTENT_TYPE,
        name=f"findings-{access.organization.slug}.csv",
    )


@org_page
def heat_map_csv_download(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The readiness heat map of every team (the page shows it a page of teams at a time), in
    a fixed number of queries whatever the number of teams."""
    oversight_access_check(access=access, action="export the readiness heat map")
    organization = access.organization
    at = timezone.now()
    settings = checkin_settings_get(organization=organization)
    periods = heat_map_periods(settings=settings, at=at, zone=organization_zone(organization))
    live = readiness_report_get(organization=organization, period=periods[-1], at=at)
    teams = [
        (team.pk, team.slug, team.name)
        for team in team_list(organization=organization)
        .select_related(None)
        .only("id", "slug", "name")
    ]
    rows, _snapshots = heat_map_build(
        organization=organization, periods=periods, live=live, teams=teams
    )
    header = [
        "team",
        "team_slug",
        "note",
        # Period start dates, as the page heads its columns; the last is the current period.
        *(f"{period.start:%Y-%m-%d}" for period in periods[:-1]),
        f"{periods[-1].start:%Y-%m-%d} (live)",
    ]
    lines = [
        [row["name"], row["slug"], row.get("lineage", ""), *(cell["text"] for cell in row["cells"])]
        for row in rows
    ]
    return _download(
        csv_text(header, lines),
        content_type=CSV_CONTENT_TYPE,
        name=f"readiness-heat-map-{organization.slug}.csv",
    )
