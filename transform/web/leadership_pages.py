"""Pages of the web interface: the leadership dashboard and its printable report
(docs/web-leadership.md).

Leaders, admins and change agents see them (other roles 403, people without a role in the
organisation 404, as everywhere). Every number is read through the selectors the API uses, in a
fixed number of queries whatever the organisation's size: the active transformations (one
query), the last ``HISTORY_PERIODS`` survey periods' stored readiness snapshots (one query) and
the current one live (``readiness_report_get``), one ``ingested_readings`` per period window,
one ``dora_by_team_and_unit`` for the current period (dashboard only), and the analysis now, at
the transformation's start and after its pending changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.bounds import id_parse
from core.errors import ApplicationError
from playbooks.criteria import SignalReading
from teams.models import Organization
from teams.selectors import Predecessor, org_analysis_get, team_list, teams_predecessors
from teams.zones import organization_zone
from transform.access import OrgAccess, oversight_access_check
from transform.evidence.metrics import DoraMetrics
from transform.evidence.selectors import (
    DoraGroup,
    dora_by_team_and_unit,
    ingested_readings,
    readings_hour,
    readings_versions_get,
)
from transform.models import CheckinSettings, MilestoneStatus, ReadinessSnapshot, Transformation
from transform.plans.selectors import scenario_preview_get
from transform.readiness import business_case
from transform.readiness.report import ReadinessReport, day_start, local_day
from transform.readiness.selectors import (
    readiness_history,
    readiness_report_get,
)
from transform.rhythm.periods import Period, survey_period
from transform.rhythm.selectors import checkin_settings_get
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import AssumptionsForm
from transform.web.report_summary import ReportTeam, report_teams, unit_summary

HISTORY_PERIODS: Final = 6  # survey periods in the heat map and the KPI trends, current included
TEAMS_PER_PAGE: Final = 25
MAX_TRANSFORMATIONS: Final = 50  # offered in the "Transformation" select, newest start first
# The reader's choice of transformation, per organisation id, kept in their session.
CHOICE_SESSION_KEY: Final = "leadership_transformation"
# Readiness bands of the heat map (0-100 score); the text always says the band too.
BANDS: Final = ((70.0, "high"), (50.0, "medium"), (0.0, "low"))
# The assumptions the business case form always shows; the others sit under "More assumptions".
BASIC_ASSUMPTIONS: Final = frozenset({"engineer_cost_per_hour", "share_removed"})
ASSUMPTION_LABELS: Final = {
    "currency": "Currency",
    **{spec.name: spec.label for spec in business_case.FIELDS},
}


# --- progress ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    transformation: Transformation
    total: int
    done: int
    in_progress: int
    at_risk: int
    blocked: int
    planned: int
    days_late: int | None  # forecast end - planned end; negative: early

    @property
    def running(self) -> bool:
        """At least one milestone is not done (``active_transformations``)."""
        return self.done < self.total

    def percent(self, count: int) -> float:
        return round(100 * count / self.total, 1) if self.total else 0.0

    @property
    def segments(self) -> list[dict[str, Any]]:
        """The progress bar, one segment per status with a count."""
        parts = [
            ("done", "Done", self.done),
            ("in_progress", "In progress", self.in_progress),
            ("at_risk", "At risk", self.at_risk),
            ("blocked", "Blocked", self.blocked),
            ("planned", "Planned", self.planned),
        ]
        return [
            {"status": key, "label": label, "count": count, "percent": self.percent(count)}
            for key, label, count in parts
            if count
        ]

    @property
    def schedule(self) -> str:
        if self.days_late is None:
            return "no forecast yet"
        if self.days_late > 0:
            return f"{self.days_late} days late"
        if self.days_late < 0:
            return f"{-self.days_late} days early"
        return "on time"


def _progress_list(*, organization: Organization) -> list[Progress]:
    """The organisation's transformations (newest start first, at most MAX_TRANSFORMATIONS) with
    their milestone counts by status, running or finished: one query."""

    def count(status: str) -> Count:
        return Count("milestones", filter=Q(milestones__status=status), distinct=True)

    rows = (
        Transformation.objects.filter(organization=organization)
        .annotate(
            total=Count("milestones", distinct=True),
            done=count(MilestoneStatus.DONE),
            in_progress=count(MilestoneStatus.IN_PROGRESS),
            at_risk=count(MilestoneStatus.AT_RISK),
            blocked=count(MilestoneStatus.BLOCKED),
            planned=count(MilestoneStatus.PLANNED),
        )
        .order_by("-start_date", "-id")[:MAX_TRANSFORMATIONS]
    )
    found = []
    for row in rows:
        late = None
        if row.forecast_end is not None and row.planned_end is not None:
            late = (row.forecast_end - row.planned_end).days
        found.append(
            Progress(
                transformation=row,
                total=row.total,
                done=row.done,
                in_progress=row.in_progress,
                at_risk=row.at_risk,
                blocked=row.blocked,
                planned=row.planned,
                days_late=late,
            )
        )
    return found


# --- periods and readiness ---------------------------------------------------------------------


def heat_map_periods(
    *, settings: CheckinSettings, at: dt.datetime, zone: dt.tzinfo
) -> list[Period]:
    """The last HISTORY_PERIODS survey periods (days of ``zone``, the organisation's), oldest
    first, the current one last."""
    current = survey_period(local_day(at, zone), settings=settings)
    periods = [current]
    while len(periods) < HISTORY_PERIODS:
        periods.append(periods[-1].previous())
    return periods[::-1]


def band(score: float | None) -> str:
    if score is None:
        return ""
    return next(name for floor, name in BANDS if score >= floor)


def _cell(*, suppressed: bool, score: float | None, stored: bool = True) -> dict[str, Any]:
    if not stored:
        return {"kind": "missing", "text": "no data", "band": ""}
    if suppressed:
        return {"kind": "suppressed", "text": "suppressed", "band": ""}
    if score is None:
        return {"kind": "missing", "text": "no data", "band": ""}
    return {"kind": "score", "text": f"{score:g}", "band": band(score), "score": score}


def heat_map_build(
    *,
    organization: Organization,
    periods: list[Period],
    live: ReadinessReport,
    teams: list[tuple[int, str, str]],
) -> tuple[list[dict[str, Any]], list[ReadinessSnapshot]]:
    """The heat map's rows for ``teams`` (id, slug, name) over ``periods`` (the last one live,
    from ``live``), and the snapshots read for them: the organisation's and these teams' of the
    past periods, and a predecessor's of every period (a predecessor is not in the live report).
    The page shows a page of teams, the CSV export all of them; both read them here."""
    predecessors = teams_predecessors(team_ids=[team[0] for team in teams])
    retired = [predecessor.team.pk for found in predecessors.values() for predecessor in found]
    history = readiness_history(organization=organization)
    snapshots = list(
        history.filter(
            Q(team__isnull=True) | Q(team_id__in=[team[0] for team in teams]),
            period_start__in=[period.start for period in periods[:-1]],
        )
        | history.filter(team_id__in=retired, period_start__in=[period.start for period in periods])
    )
    rows = _heat_map(
        periods=periods, snapshots=snapshots, live=live, teams=teams, predecessors=predecessors
    )
    return rows, snapshots


def _heat_map(
    *,
    periods: list[Period],
    snapshots: list[ReadinessSnapshot],
    live: ReadinessReport,
    teams: list[tuple[int, str, str]],
    predecessors: dict[int, list[Predecessor]] | None = None,
) -> list[dict[str, Any]]:
    """One row for the organisation, then one per team of the page: a cell per period, the
    current period from the live report, the others from stored snapshots. Under a team, a row
    per team merged or split into it (``predecessors``), with its stored cells up to then: the
    team's trend starts with theirs."""
    stored = {(row.team_id, row.period_start): row for row in snapshots}
    current = periods[-1]
    live_groups = {g.team.id if g.team is not None else None: g for g in live.teams}
    live_groups[None] = live.organization_group

    def cells(team_id: int | None) -> list[dict[str, Any]]:
        found = []
        for period in periods:
            group = live_groups.get(team_id) if period == current else None
            if group is not None:
                found.append(_cell(suppressed=group.suppressed, score=group.score))
                continue
            # Not in the live report (a team retired this period): its stored figure, if any.
            row = stored.get((team_id, period.start))
            found.append(
                _cell(suppressed=row.suppressed, score=row.score)
                if row is not None
                else _cell(suppressed=False, score=None, stored=False)
            )
        return found

    def predecessor_cells(predecessor: Predecessor) -> list[dict[str, Any]]:
        until = predecessor.until.date()
        return [
            cell if period.start < until else {"kind": "missing", "text": "—", "band": ""}
            for period, cell in zip(periods, cells(predecessor.team.pk), strict=True)
        ]

    rows = [{"name": "Whole organisation", "slug": "", "cells": cells(None), "is_org": True}]
    for team_id, slug, name in teams:
        rows.append({"name": name, "slug": slug, "cells": cells(team_id), "is_org": False})
        for predecessor in (predecessors or {}).get(team_id, []):
            verb = "merged into" if predecessor.kind == "merged" else "split into"
            rows.append(
                {
                    "name": predecessor.team.name,
                    "slug": predecessor.team.slug,
                    "cells": predecessor_cells(predecessor),
                    "is_org": False,
                    "lineage": f"{verb} {name} on {predecessor.until:%Y-%m-%d}",
                }
            )
    return rows


# --- KPI trends --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiSpec:
    kind: str
    title: str
    unit: str
    better: str  # "higher" or "lower"
    scale: float = 1.0  # shown value = reading * scale (shares as percentages)
    digits: int = 1


KPIS: Final[tuple[KpiSpec, ...]] = (
    KpiSpec("platform_adoption", "Voluntary platform adoption", "% of teams free to choose",
            "higher", scale=100),
    KpiSpec("platform_satisfaction", "Platform satisfaction", "survey mean, 1-5", "higher",
            digits=2),
    KpiSpec("blocked_developer_hours", "Blocked developer hours", "developer hours per week",
            "lower", digits=0),
    KpiSpec("time_to_first_deploy", "Time to first deploy", "days (median)", "lower"),
    KpiSpec("deployment_frequency", "Deployment frequency", "deploys per day", "higher",
            digits=2),
    KpiSpec("lead_time_for_changes", "Lead time for changes", "hours (median)", "lower"),
    KpiSpec("change_failure_rate", "Change failure rate", "% of deploys", "lower", scale=100),
    KpiSpec("failed_deployment_recovery_time", "Failed deployment recovery time",
            "hours (median)", "lower"),
    KpiSpec("deployment_rework_rate", "Deployment rework rate", "% of deploys", "lower",
            scale=100),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Window:
    period: Period
    start: dt.datetime
    end: dt.datetime

    @property
    def weeks(self) -> float:
        return (self.end - self.start).total_seconds() / (7 * 24 * 3600)


def _window(period: Period, *, at: dt.datetime, zone: dt.tzinfo) -> _Window | None:
    start = day_start(period.start, zone)
    end = min(day_start(period.end, zone), readings_hour(at))
    return _Window(period=period, start=start, end=end) if end > start else None


def _kpi_values(
    *,
    organization: Organization,
    periods: list[Period],
    at: dt.datetime,
    org_snapshots: dict[dt.date, ReadinessSnapshot],
    live: ReadinessReport,
    min_change_age: dt.timedelta,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, float | None]]:
    """Per KPI kind, one point per period (``{"value", "note"}``, value None without data), and
    the business case's inputs: blocked hours per week over all windows, the latest time to
    first deploy. One ``ingested_readings`` per period window (from the cache, after the
    versions' one query, while the events and the topology are unchanged)."""
    versions = readings_versions_get(organization=organization)
    values: dict[str, list[dict[str, Any]]] = {spec.kind: [] for spec in KPIS}
    blocked_hours = blocked_weeks = 0.0
    first_deploy: float | None = None
    for period in periods:
        window = _window(period, at=at, zone=organization_zone(organization))
        readings: dict[str, SignalReading] = {}
        if window is not None:
            readings = ingested_readings(
                organization=organization,
                start=window.start,
                end=window.end,
                min_change_age=min_change_age,
                versions=versions,
            ).get(None, {})
        for spec in KPIS:
            note = "" if window is not None else "not begun"
            value: float | None = None
            if spec.kind == "platform_satisfaction":
                value, note = _satisfaction(period, org_snapshots=org_snapshots, live=live)
            elif spec.kind in readings:
                value = readings[spec.kind].value
                if spec.kind == "blocked_developer_hours" and window is not None:
                    blocked_hours += value
                    blocked_weeks += window.weeks
                    value = value / window.weeks
                if spec.kind == "time_to_first_deploy":
                    first_deploy = value
            values[spec.kind].append({"value": value, "note": note})
    inputs = {
        "blocked_hours_per_week": blocked_hours / blocked_weeks if blocked_weeks else None,
        "time_to_first_deploy_days": first_deploy,
    }
    return values, inputs


def _satisfaction(
    period: Period, *, org_snapshots: dict[dt.date, ReadinessSnapshot], live: ReadinessReport
) -> tuple[float | None, str]:
    """The organisation's platform satisfaction of the period: live for the current one, else
    from its stored snapshot; suppressed results say so."""
    if period == live.period:
        group = live.organization_group
        reading = group.signals.get("platform_satisfaction")
        return (reading.value if reading else None), ("suppressed" if group.suppressed else "")
    row = org_snapshots.get(period.start)
    if row is None:
        return None, ""
    signal = (row.signals or {}).get("platform_satisfaction") or {}
    value = signal.get("value") if isinstance(signal, dict) else None
    shown = float(value) if isinstance(value, int | float) else None
    return shown, ("suppressed" if row.suppressed else "")


def _kpi_charts(
    *, periods: list[Period], values: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Each KPI as its chart data, table rows and one-sentence summary."""
    labels = [period.start.isoformat() for period in periods]
    charts = []
    for spec in KPIS:
        points = [
            None if point["value"] is None else round(point["value"] * spec.scale, spec.digits)
            for point in values[spec.kind]
        ]
        rows = [
            {
                "period": label,
                "text": (
                    f"{point:,.{spec.digits}f}" if point is not None else (raw["note"] or "no data")
                ),
            }
            for label, point, raw in zip(labels, points, values[spec.kind], strict=True)
        ]
        known = [
            (label, point) for label, point in zip(labels, points, strict=True) if point is not None
        ]
        if known:
            last_label, last = known[-1]
            summary = f"Latest: {last:,.{spec.digits}f} {spec.unit} (period from {last_label})"
            if len(known) > 1:
                first_label, first = known[0]
                summary += f"; {first:,.{spec.digits}f} in the period from {first_label}"
            summary += f". {spec.better.capitalize()} is better."
        else:
            summary = "No data in these periods."
        charts.append(
            {
                "id": f"kpi-{spec.kind.replace('_', '-')}",
                "kind": spec.kind,
                "title": spec.title,
                "unit": spec.unit,
                "better": spec.better,
                "labels": labels,
                "points": points,
                "rows": rows,
                "summary": summary,
                "latest": known[-1][1] if known else None,
                "latest_text": f"{known[-1][1]:,.{spec.digits}f}" if known else "no data",
                "latest_period": known[-1][0] if known else None,
            }
        )
    return charts


# --- DORA per unit and team --------------------------------------------------------------------

# Plain words for the deployment frequency bands (docs/signals.md).
DORA_BAND_LABELS: Final = {
    "on_demand": "on demand (several a day)",
    "daily": "daily to weekly",
    "weekly": "weekly to monthly",
    "monthly": "monthly to twice a year",
    "fewer": "less than twice a year",
}
NO_DATA: Final = "no data"


def _dora_cells(dora: DoraMetrics | None) -> dict[str, str]:
    """The table's texts of one team's or unit's figures; a figure without data reads
    "no data", never a made-up 0."""

    def shown(value: float | None, pattern: str) -> str:
        return NO_DATA if value is None else pattern.format(value)

    if dora is None:
        return dict.fromkeys(("deploys", "band", "lead_time", "failure_rate", "restore"), NO_DATA)
    band = dora.deployment_frequency_band
    return {
        "deploys": shown(dora.deployment_frequency, "{:,.2f}"),
        "band": DORA_BAND_LABELS[band] if band is not None else NO_DATA,
        "lead_time": shown(dora.lead_time_for_changes, "{:,.1f}"),
        "failure_rate": shown(
            None if dora.change_failure_rate is None else dora.change_failure_rate * 100, "{:.0f}%"
        ),
        "restore": shown(dora.failed_deployment_recovery_time, "{:,.1f}"),
    }


def _dora_table(
    *, organization: Organization, window: _Window | None, min_change_age: dt.timedelta
) -> dict[str, Any]:
    """The units (a parent before its sub-units) with their DORA figures over the current
    period so far, each with its own teams; then the teams without a unit. One
    ``dora_by_team_and_unit`` (a fixed number of queries)."""
    table: dict[str, Any] = {
        "units": [],
        "unassigned": [],
        "cut_off_minutes": int(min_change_age.total_seconds() // 60),
        "window": window,
    }
    if window is None:
        return table
    breakdown = dora_by_team_and_unit(
        organization=organization,
        start=window.start,
        end=window.end,
        min_change_age=min_change_age,
    )

    def row(group: DoraGroup) -> dict[str, Any]:
        return {"name": group.name, "slug": group.slug, "cells": _dora_cells(group.dora)}

    unit_names = {unit.slug: unit.name for unit in breakdown.units}
    teams_of: dict[str | None, list[dict[str, Any]]] = {}
    for team in breakdown.teams:
        teams_of.setdefault(team.unit, []).append(row(team))
    table["units"] = [
        {
            **row(unit),
            "depth": unit.depth,
            "parent": unit_names.get(unit.unit or ""),
            "teams": teams_of.get(unit.slug, []),
            "team_count": len(unit.teams),
        }
        for unit in breakdown.units
    ]
    table["unassigned"] = teams_of.get(None, [])
    return table


# --- flow score ----------------------------------------------------------------------------------


def _flow(*, organization: Organization, transformation: Transformation | None) -> dict[str, Any]:
    """``flow_score`` now, at the transformation's start and after its pending changes (lower is
    better); a part that cannot be computed stays None and a message or note says why."""
    flow: dict[str, Any] = {
        "now": None,
        "start": None,
        "target": None,
        "messages": [],  # something went wrong
        "notes": [],  # nothing wrong, but a number is missing
    }
    try:
        if transformation is not None:
            try:
                preview = scenario_preview_get(transformation=transformation)
                flow["now"] = preview["before"]["metrics"].get("flow_score")
                flow["target"] = preview["after"]["metrics"].get("flow_score")
                flow["changes"] = len(preview["changes"])
            except ApplicationError as exc:
                flow["messages"].append(f"The target could not be computed: {exc.message}")
            flow["start_date"] = transformation.start_date
            start = org_analysis_get(
                organization=organization,
                as_of=day_start(transformation.start_date, organization_zone(organization)),
            )
            if start["metrics"].get("teams"):
                flow["start"] = start["metrics"].get("flow_score")
            else:
                flow["notes"].append(
                    "No topology is recorded as of the transformation's start, so there is no "
                    "score to compare with."
                )
        if flow["now"] is None:
            flow["now"] = org_analysis_get(organization=organization)["metrics"].get("flow_score")
    except ValueError as exc:
        # teams.analysis.InvalidThresholdsError: the organisation's thresholds need fixing.
        flow["messages"].append(f"The analysis could not run: {exc}")
    if flow["start"] is not None and flow["now"] is not None:
        flow["change"] = round(flow["now"] - flow["start"], 1)
    return flow


# --- the page ------------------------------------------------------------------------------------


def _transformation_choose(
    request: HttpRequest, *, organization: Organization, choices: list[Progress]
) -> Progress | None:
    """The transformation the page follows (progress and flow score): the one asked for with
    ``?transformation=<id>`` (then remembered in the session, per organisation), else the one
    remembered, else the most recently started running one; ``None`` when none runs and none
    was chosen. An id that is not one of ``choices`` is ignored."""
    by_id = {item.transformation.pk: item for item in choices}
    remembered: dict[str, int] = dict(request.session.get(CHOICE_SESSION_KEY) or {})
    org_key = str(organization.pk)
    asked = id_parse(request.GET.get("transformation", "")[:20])
    if asked is not None and asked in by_id:
        if remembered.get(org_key) != asked:
            remembered[org_key] = asked
            request.session[CHOICE_SESSION_KEY] = remembered
        return by_id[asked]
    if remembered.get(org_key) in by_id:
        return by_id[remembered[org_key]]
    return next((item for item in choices if item.running), None)


def _dashboard(
    request: HttpRequest,
    access: OrgAccess,
    *,
    heat_map: bool,
    dora: bool = True,
    report: bool = False,
) -> dict[str, Any]:
    """Everything the dashboard shows; the printable report (``dora=False``) has no DORA table
    per team, so it does not read one, and (``report``) summarises the teams instead of paging
    them (``transform.web.report_summary``), so it stays one page."""
    oversight_access_check(access=access, action="see the leadership dashboard")
    organization = access.organization
    at = timezone.now()
    choices = _progress_list(organization=organization)
    chosen = _transformation_choose(request, organization=organization, choices=choices)
    progress = [chosen] if chosen is not None else []
    settings = checkin_settings_get(organization=organization)
    periods = heat_map_periods(settings=settings, at=at, zone=organization_zone(organization))
    live = readiness_report_get(organization=organization, period=periods[-1], at=at)
    history = readiness_history(organization=organization).filter(
        period_start__in=[period.start for period in periods[:-1]]
    )
    context: dict[str, Any] = {}
    if heat_map and report:
        context.update(_report_teams(organization=organization, periods=periods, live=live))
        snapshots = context.pop("snapshots")
    elif heat_map:
        paginator = Paginator(
            team_list(organization=organization).select_related(None).only("id", "slug", "name"),
            TEAMS_PER_PAGE,
        )
        page = paginator.get_page(request.GET.get("teams_page"))
        teams = [(team.pk, team.slug, team.name) for team in page.object_list]
        context["heat_map"], snapshots = heat_map_build(
            organization=organization, periods=periods, live=live, teams=teams
        )
        context["teams_page"] = page
    else:
        snapshots = list(history.filter(team__isnull=True))
    org_snapshots = {row.period_start: row for row in snapshots if row.team_id is None}
    values, inputs = _kpi_values(
        organization=organization,
        periods=periods,
        at=at,
        org_snapshots=org_snapshots,
        live=live,
        min_change_age=settings.lead_time_min_change_age,
    )
    if heat_map and dora:
        context["dora"] = _dora_table(
            organization=organization,
            window=_window(periods[-1], at=at, zone=organization_zone(organization)),
            min_change_age=settings.lead_time_min_change_age,
        )
    assumptions, assumption_errors = AssumptionsForm(request.GET).assumptions()
    case = business_case.business_case_compute(
        blocked_hours_per_week=inputs["blocked_hours_per_week"],
        time_to_first_deploy_days=inputs["time_to_first_deploy_days"],
        assumptions=assumptions,
    )
    primary = progress[0].transformation if progress else None
    org_score = live.organization_group
    return {
        **context,
        "progress": progress,
        "transformation_choices": [
            {
                "id": item.transformation.pk,
                "label": f"{item.transformation.title} (started "
                f"{item.transformation.start_date:%Y-%m-%d}"
                f"{'' if item.running else ', finished'})",
                "selected": item is chosen,
            }
            for item in choices
        ],
        "periods": periods,
        "current_period": periods[-1],
        "org_readiness": _cell(suppressed=org_score.suppressed, score=org_score.score),
        "min_group_size": live.policy.min_group_size,
        "kpis": _kpi_charts(periods=periods, values=values),
        "flow": _flow(organization=organization, transformation=primary),
        "primary": primary,
        "case": case,
        "case_money": {
            name: business_case.money(getattr(case, name), assumptions.currency)
            for name in (
                "cost_of_waiting_per_year",
                "waiting_savings_per_year",
                "onboarding_savings_per_year",
                "total_savings_per_year",
            )
        },
        "case_is_default": business_case.is_default(assumptions),
        "case_share": f"{assumptions.share_removed * 100:g}%",
        "advanced_open": any(
            spec.name in assumption_errors
            for spec in business_case.FIELDS
            if spec.name not in BASIC_ASSUMPTIONS
        ),
        "assumption_fields": _assumption_fields(assumptions, assumption_errors, request),
        "currency_value": (request.GET.get("currency") or assumptions.currency)[:40],
        "currency_error": assumption_errors.get("currency"),
        "assumption_errors": [
            f"{ASSUMPTION_LABELS.get(name, name)}: {message}"
            for name, message in assumption_errors.items()
        ],
        "currency_help": business_case.CURRENCY_HELP,
        "query": request.GET.urlencode(),
        "plans_url": reverse("web:plans", kwargs={"org_slug": organization.slug}),
        "generated_at": at,
    }


def _report_teams(
    *, organization: Organization, periods: list[Period], live: ReadinessReport
) -> dict[str, Any]:
    """The report's heat map (a bounded selection of teams, ``report_teams``, without lineage
    rows), what it says about the selection, the table by unit, and the snapshots read."""
    teams = [
        ReportTeam(id=pk, slug=slug, name=name, unit=unit or "", unit_id=unit_id)
        for pk, slug, name, unit, unit_id in team_list(organization=organization)
        .select_related(None)
        .values_list("id", "slug", "name", "unit__name", "unit_id")
    ]
    groups = {g.team.id: g for g in live.teams if g.team is not None}
    cells = {
        team.id: (
            _cell(suppressed=groups[team.id].suppressed, score=groups[team.id].score)
            if team.id in groups
            else _cell(suppressed=False, score=None)
        )
        for team in teams
    }
    chosen, said = report_teams(teams, cells=cells)
    rows, snapshots = heat_map_build(
        organization=organization,
        periods=periods,
        live=live,
        teams=[(team.id, team.slug, team.name) for team in chosen],
    )
    units, units_more = unit_summary(teams, cells=cells)
    return {
        # A merged team's predecessors are on the dashboard; here they would grow the page.
        "heat_map": [row for row in rows if not row.get("lineage")],
        "report_teams_said": said,
        "report_units": units,
        "report_units_more": units_more,
        "snapshots": snapshots,
    }


def _assumption_fields(
    assumptions: business_case.Assumptions, errors: dict[str, str], request: HttpRequest
) -> list[dict[str, Any]]:
    shown = business_case.assumptions_form_values(assumptions)
    return [
        {
            "name": spec.name,
            "label": spec.label,
            "help": spec.help,
            # A wrong entry stays in its field, next to its message, so it can be corrected.
            "value": (request.GET.get(spec.name) or "")[:40]
            if spec.name in errors
            else shown[spec.name],
            "error": errors.get(spec.name),
            "min": f"{spec.minimum:g}",
            "max": f"{spec.maximum:g}",
            "advanced": spec.name not in BASIC_ASSUMPTIONS,
        }
        for spec in business_case.FIELDS
    ]


@org_page
def leadership(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The dashboard: progress, readiness heat map, KPI trends, flow score, business case."""
    context = _dashboard(request, access, heat_map=True)
    return render(
        request,
        "web/leadership/dashboard.html",
        page_context(access, current="web:leadership", **context),
    )


# The report's KPI sparklines: an SVG of this size (user units), drawn on the server so that
# they print without JavaScript.
SPARK_WIDTH: Final = 120
SPARK_HEIGHT: Final = 30
SPARK_PAD: Final = 3


def _sparkline(points: list[float | None]) -> dict[str, Any]:
    """A KPI's points as SVG polylines (one a run of known points; a gap breaks the line) and
    dots, scaled into ``SPARK_WIDTH`` x ``SPARK_HEIGHT``; empty when no point is known."""
    known = [point for point in points if point is not None]
    if not known:
        return {"lines": [], "dots": []}
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(points) - 1, 1)
    lines: list[str] = []
    dots: list[tuple[str, str]] = []
    run: list[str] = []
    for index, point in enumerate(points):
        if point is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        x = SPARK_PAD + index * step
        y = SPARK_HEIGHT - SPARK_PAD - (point - low) / span * (SPARK_HEIGHT - 2 * SPARK_PAD)
        if high == low:
            y = SPARK_HEIGHT / 2
        run.append(f"{x:.1f},{y:.1f}")
        dots.append((f"{x:.1f}", f"{y:.1f}"))
    if run:
        lines.append(" ".join(run))
    return {"lines": lines, "dots": dots}


@org_page
def leadership_report(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The dashboard's headline on one printable A4 page: progress bars, the heat map (a bounded
    selection of teams, ``report_summary.report_teams``), the table by unit and each KPI as a server-drawn SVG sparkline, so it all prints without JavaScript."""
    context = _dashboard(request, access, heat_map=True, dora=False, report=True)
    for kpi in context["kpis"]:
        kpi["spark"] = _sparkline(kpi["points"])
    return render(
        request,
        "web/leadership/report.html",
        page_context(access, current="web:leadership", **context),
    )
