"""The organisation's scorecard grid (docs/web.md, "Scorecard"): one row per team, one column per
graph check of the team page's scorecard (``teams.scorecard``), and per check how many of the
teams it applies to pass it ("4 of 6 stream-aligned teams have a DevOps buddy").

Every role sees it, as every role sees the findings it is read from. A fixed number of queries
whatever the number of teams: the units (for the filter), the teams with their units, their
memberships, their outgoing interactions with their targets (four), and the cached analysis (one
on a hit). No graph is built for the request while the cached analysis is fresh.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from teams.analysis import AnalysisThresholds, InvalidThresholdsError
from teams.models import Interaction, Membership, Organization, Team, TeamType
from teams.scorecard import CHECK_KINDS, findings_by_team, scorecard_totals, team_scorecard
from teams.selectors import org_analysis_get, org_unit_list, team_list
from transform.access import OrgAccess
from transform.web.access import org_page
from transform.web.context import page_context


def scorecard_team_list(*, organization: Organization) -> QuerySet[Team]:
    """The live teams of ``organization`` by name, with what their scorecards read: the unit,
    the memberships' roles and the outgoing interactions with their targets (three queries)."""
    return (
        team_list(organization=organization)
        .select_related("unit")
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.only("id", "team_id", "role")),
            Prefetch(
                "outgoing_interactions",
                queryset=Interaction.objects.select_related("target").order_by("target__name"),
            ),
        )
        .order_by("name", "slug")
    )


class ScorecardFilter(django_filters.FilterSet):
    unit = django_filters.ChoiceFilter(
        field_name="unit__slug", label="Unit", empty_label="All units"
    )
    type = django_filters.ChoiceFilter(
        choices=TeamType.choices, label="Team type", empty_label="All team types"
    )

    class Meta:
        model = Team
        fields = ("unit", "type")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["unit"].extra["choices"] = [
            (unit.slug, unit.name) for unit in org_unit_list(organization=organization)
        ]


@org_page
def scorecard(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The grid of teams by graph checks, filterable by unit and team type, with per-check
    totals over the teams shown."""
    organization = access.organization
    report: dict[str, Any] | None = None
    thresholds: AnalysisThresholds | None = None
    report_error = ""
    try:
        report = org_analysis_get(organization=organization)
        thresholds = AnalysisThresholds.from_overrides(organization.analysis_thresholds)
    except InvalidThresholdsError as exc:
        report_error = f"The organisation's analysis_thresholds are invalid: {exc}"
    found = findings_by_team(report)
    chosen = ScorecardFilter(
        request.GET,
        queryset=scorecard_team_list(organization=organization),
        organization=organization,
    )
    rows = []
    for team in chosen.qs:
        checks = team_scorecard(team=team, findings=found.get(team.slug, []), thresholds=thresholds)
        rows.append(
            {
                "team": team,
                "url": reverse(
                    "web:team", kwargs={"org_slug": organization.slug, "team_slug": team.slug}
                ),
                "type_label": TeamType(team.type).label
                if team.type in TeamType.values
                else team.type,
                "checks": checks,
                "passed": sum(1 for check in checks if check.passed),
                "judged": sum(1 for check in checks if check.passed is not None),
            }
        )
    filtered = any(chosen.form.data.get(name) for name in ("unit", "type"))
    context = page_context(
        access,
        current="web:scorecard",
        form=chosen.form,
        kinds=CHECK_KINDS,
        rows=rows,
        totals=scorecard_totals(row["checks"] for row in rows),
        report_error=report_error,
        filtered=filtered,
    )
    return render(request, "web/scorecard/scorecard.html", context)
