"""The team page (docs/web.md, "Team page"): one page per team that answers "how is this team
doing?".

Everyone with a role in the organisation sees the team's topology (identity, members, services,
interactions), its findings and scorecard, and the milestones that touch it, as on the graph,
findings and plan pages. Its readiness trend and delivery figures follow the readiness and DORA
rules (``transform.access.readiness_access_get``): admins, change agents and leaders, and the
engineering manager of this team. Its open check-ins (who, never answers) are shown to admins,
change agents, leaders and the team's engineering manager.

A fixed number of queries whatever the team's size: the team with its topology (six), the cached
analysis (one on a hit), the milestones and their changes (two), the open check-ins (one), and
when shown the readiness (the live report and the heat map's history) and DORA (cached per
window). No graph is built for the request while the cached analysis is fresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.errors import NotFoundError
from teams.analysis import AnalysisThresholds, InvalidThresholdsError
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    MembershipRole,
    Organization,
    Role,
    ServesLink,
    Service,
    ServiceKind,
    Severity,
    Specialty,
    Team,
    TeamType,
)
from teams.scorecard import team_findings, team_scorecard
from teams.selectors import org_analysis_get, team_list
from teams.zones import organization_zone
from transform.access import OrgAccess, may_see_oversight
from transform.evidence.metrics import DoraMetrics
from transform.evidence.selectors import (
    dora_by_team_and_unit,
    ingested_readings,
    lead_time_cut_off_get,
    readings_hour,
)
from transform.models import CheckIn, CheckInKind, Milestone, MilestoneStatus
from transform.readiness.report import day_start
from transform.readiness.selectors import readiness_report_get
from transform.rhythm.selectors import checkin_settings_get
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.graph_pages import finding_row
from transform.web.leadership_pages import heat_map_build, heat_map_periods

NO_DATA: Final = "no data"
MILESTONES_SHOWN: Final = 50
CHECKINS_SHOWN: Final = 30
# Keys of a topology change (teams.scenarios) that name an existing team.
CHANGE_TEAM_KEYS: Final = ("team", "source", "target", "from_team", "to_team", "teams", "into")


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value.replace("_", " ")


# --- reads -------------------------------------------------------------------------------------


def team_page_team_get(*, organization: Organization, slug: str) -> Team:
    """The live team ``slug`` of ``organization`` with its manager, unit, members, serves links,
    services and interactions both ways: six queries whatever its size. ``NotFoundError``
    for an unknown or retired slug, or one of another organisation."""
    team = (
        team_list(organization=organization)
        .filter(slug=slug)
        .select_related("manager", "unit")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("person").order_by(
                    "person__name", "person__email"
                ),
            ),
            Prefetch(
                "served_by",
                queryset=ServesLink.objects.select_related("person").order_by("person__email"),
            ),
            Prefetch("services", queryset=Service.objects.order_by("kind", "slug")),
            Prefetch(
                "outgoing_interactions",
                queryset=Interaction.objects.select_related("target").order_by(
                    "target__slug", "mode"
                ),
            ),
            Prefetch(
                "incoming_interactions",
                queryset=Interaction.objects.select_related("source").order_by(
                    "source__slug", "mode"
                ),
            ),
        )
        .first()
    )
    if team is None:
        raise NotFoundError(f"No team '{slug}' in the organisation.")
    return team


def _names_team(value: Any, slug: str) -> bool:
    """Whether a JSON value (an exit criterion, a topology change) names the team ``slug``."""
    if isinstance(value, str):
        return value == slug
    if isinstance(value, list):
        return any(_names_team(item, slug) for item in value)
    if isinstance(value, dict):
        return any(_names_team(item, slug) for item in value.values())
    return False


def _change_names_team(change: Any, slug: str) -> bool:
    if not isinstance(change, dict):
        return False
    for key in CHANGE_TEAM_KEYS:
        found = change.get(key)
        if isinstance(found, list):
            if any(
                part == slug or (isinstance(part, dict) and part.get("slug") == slug)
                for part in found
            ):
                return True
        elif found == slug:
            return True
    return False


def team_milestones(*, team: Team, member_ids: Iterable[int]) -> list[Milestone]:
    """The organisation's milestones that touch ``team``: an exit criterion names it, an attached
    change names it, or its owner is one of the team's people (``member_ids``). Two queries (the
    milestones with their transformation and owner, their changes); not-done first, then by
    transformation and position."""
    members = set(member_ids)
    rows = (
        Milestone.objects.filter(transformation__organization_id=team.organization_id)
        .select_related("transformation", "owner")
        .prefetch_related("changes")
        .order_by("-transformation__start_date", "transformation_id", "position", "id")
    )
    found = [
        milestone
        for milestone in rows
        if milestone.owner_id in members
        or _names_team(milestone.exit_criteria, team.slug)
        or any(_change_names_team(row.change, team.slug) for row in milestone.changes.all())
    ]
    found.sort(key=lambda milestone: milestone.status == MilestoneStatus.DONE)
    return found


def team_open_checkins(*, team: Team, member_ids: Iterable[int], at: dt.datetime) -> list[CheckIn]:
    """The open check-ins (not answered, not closed, not expired at ``at``) about the team or
    put to its people: one query."""
    return list(
        CheckIn.objects.filter(
            Q(team=team) | Q(recipient_id__in=list(member_ids)),
            organization_id=team.organization_id,
            answered_at__isnull=True,
            closed_at__isnull=True,
            expires_at__gt=at,
        )
        .select_related("recipient")
        .order_by("expires_at", "id")
    )


# --- what the page shows -----------------------------------------------------------------------


def _interaction_row(
    edge: Interaction, *, other: Team, outgoing: bool, today: dt.date, org_slug: str
) -> dict[str, Any]:
    overrunning = edge.expected_end is not None and edge.expected_end < today
    return {
        "other": other,
        "url": reverse("web:team", kwargs={"org_slug": org_slug, "team_slug": other.slug}),
        "outgoing": outgoing,
        "mode": _label(InteractionMode, edge.mode),
        "severity": _label(Severity, edge.severity) if edge.severity else "",
        "since": edge.since,
        "expected_end": edge.expected_end,
        "overrunning": overrunning,
        "note": edge.note,
    }


def _figure(value: float | None, pattern: str, scale: float = 1.0) -> str:
    return NO_DATA if value is None else pattern.format(value * scale)


def _delivery(
    *, organization: Organization, team: Team, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """The team's DORA figures and blocked hours over ``[start, end)`` (cached per window)."""
    cut_off = lead_time_cut_off_get(organization=organization)
    breakdown = dora_by_team_and_unit(
        organization=organization, start=start, end=end, min_change_age=cut_off
    )
    dora: DoraMetrics | None = next(
        (group.dora for group in breakdown.teams if group.slug == team.slug), None
    )
    readings = ingested_readings(
        organization=organization, start=start, end=end, min_change_age=cut_off
    ).get(team.pk, {})
    blocked = readings.get("blocked_developer_hours")
    weeks = (end - start).total_seconds() / (7 * 24 * 3600)
    blocked_per_week = blocked.value / weeks if blocked is not None and weeks > 0 else None
    figures = [
        ("Deploy frequency", _figure(dora.deployment_frequency if dora else None, "{:,.2f} a day")),
        (
            "Lead time for changes",
            _figure(dora.lead_time_for_changes if dora else None, "{:,.1f} hours"),
        ),
        (
            "Change failure rate",
            _figure(dora.change_failure_rate if dora else None, "{:.0f}%", scale=100),
        ),
        (
            "Time to restore",
            _figure(dora.failed_deployment_recovery_time if dora else None, "{:,.1f} hours"),
        ),
        ("Blocked developer hours", _figure(blocked_per_week, "{:,.0f} a week")),
    ]
    return {"start": start, "end": end, "figures": figures}


def team_page_context(*, access: OrgAccess, team_slug: str, user_id: int) -> dict[str, Any]:
    """Everything the team page shows, each part only where the caller may see it."""
    organization = access.organization
    org_slug = organization.slug
    now = timezone.now()
    today = timezone.localdate(now)
    team = team_page_team_get(organization=organization, slug=team_slug)
    memberships = list(team.memberships.all())
    member_ids = [membership.person_id for membership in memberships]

    is_manager = team.manager is not None and team.manager.user_id == user_id
    oversight = may_see_oversight(access)
    sees_figures = oversight or (Role.ENGINEERING_MANAGER in access.roles and is_manager)
    sees_checkins = oversight or is_manager

    # Findings and scorecard: the cached analysis (no graph is built while it is fresh).
    findings_error = ""
    report: dict[str, Any] | None = None
    thresholds: AnalysisThresholds | None = None
    try:
        report = org_analysis_get(organization=organization)
        thresholds = AnalysisThresholds.from_overrides(organization.analysis_thresholds)
    except InvalidThresholdsError as exc:
        findings_error = f"The organisation's analysis_thresholds are invalid: {exc}"
    findings = team_findings(report, team.slug)
    team_names = {team.slug: team.name}
    for edge in team.outgoing_interactions.all():
        team_names[edge.target.slug] = edge.target.name
    for edge in team.incoming_interactions.all():
        team_names[edge.source.slug] = edge.source.name
    scorecard = team_scorecard(team=team, findings=findings, thresholds=thresholds)

    members = [
        {
            "name": membership.person.name or membership.person.email,
            "email": membership.person.email,
            "role": membership.role,
            "role_label": _label(MembershipRole, membership.role),
            "allocation": membership.allocation_percent,
        }
        for membership in memberships
    ]
    members.sort(key=lambda member: (member["role"] == MembershipRole.MEMBER, member["name"]))
    interactions = [
        _interaction_row(edge, other=edge.target, outgoing=True, today=today, org_slug=org_slug)
        for edge in team.outgoing_interactions.all()
    ] + [
        _interaction_row(edge, other=edge.source, outgoing=False, today=today, org_slug=org_slug)
        for edge in team.incoming_interactions.all()
    ]

    readiness: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None
    if sees_figures:
        zone = organization_zone(organization)
        settings = checkin_settings_get(organization=organization)
        periods = heat_map_periods(settings=settings, at=now, zone=zone)
        live = readiness_report_get(organization=organization, period=periods[-1], at=now)
        rows, _ = heat_map_build(
            organization=organization,
            periods=periods,
            live=live,
            teams=[(team.pk, team.slug, team.name)],
        )
        readiness = {
            "periods": periods,
            "rows": rows,
            "min_group_size": live.policy.min_group_size,
        }
        start = day_start(periods[-1].start, zone)
        end = min(day_start(periods[-1].end, zone), readings_hour(now))
        if end > start:
            delivery = _delivery(organization=organization, team=team, start=start, end=end)
        else:
            delivery = {"start": start, "end": end, "figures": []}

    milestones = [
        {
            "milestone": milestone,
            "status_label": _label(MilestoneStatus, milestone.status),
            "url": reverse(
                "web:milestone", kwargs={"org_slug": org_slug, "milestone_id": milestone.pk}
            ),
            "owner_name": milestone.owner.name or milestone.owner.email,
            "owner_in_team": milestone.owner_id in member_ids,
        }
        for milestone in team_milestones(team=team, member_ids=member_ids)
    ]

    checkins: dict[str, Any] | None = None
    if sees_checkins:
        rows_open = team_open_checkins(team=team, member_ids=member_ids, at=now)
        checkins = {
            "count": len(rows_open),
            "rows": [
                {
                    "who": checkin.recipient.name or checkin.recipient.email,
                    "kind": _label(CheckInKind, checkin.kind),
                    "expires_at": checkin.expires_at,
                }
                for checkin in rows_open[:CHECKINS_SHOWN]
            ],
            "more": max(0, len(rows_open) - CHECKINS_SHOWN),
        }

    return {
        "team": team,
        "type_label": _label(TeamType, team.type),
        "specialty_label": _label(Specialty, team.specialty) if team.specialty else "",
        "manager_name": (team.manager.name or team.manager.email) if team.manager else "",
        "members": members,
        "buddies": [m for m in members if m["role"] == MembershipRole.DEVOPS_BUDDY],
        "product_owners": [m for m in members if m["role"] == MembershipRole.PRODUCT_OWNER],
        "leads": [m for m in members if m["role"] == MembershipRole.LEAD],
        "fte": sum(membership.allocation_percent for membership in memberships) / 100,
        "serves": [
            {"name": link.person.name or link.person.email, "note": link.note}
            for link in team.served_by.all()
        ],
        "services": [
            {"slug": service.slug, "name": service.name, "kind": _label(ServiceKind, service.kind)}
            for service in team.services.all()
        ],
        "interactions": interactions,
        "findings": [
            finding_row(finding, team_names=team_names, org_slug=org_slug) for finding in findings
        ],
        "findings_error": findings_error,
        "scorecard": scorecard,
        "passed": sum(1 for check in scorecard if check.passed),
        "judged": sum(1 for check in scorecard if check.passed is not None),
        "readiness": readiness,
        "delivery": delivery,
        "sees_figures": sees_figures,
        "milestones": milestones[:MILESTONES_SHOWN],
        "more_milestones": max(0, len(milestones) - MILESTONES_SHOWN),
        "checkins": checkins,
        "graph_url": reverse("web:graph", kwargs={"org_slug": org_slug})
        + f"?team={team.slug}#team-panel",
    }


# --- the view ----------------------------------------------------------------------------------


@org_page
def team(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    """One team: identity, members, services, interactions, findings and scorecard, readiness
    trend and delivery figures, milestones and open check-ins (each for the roles that may see
    it). 404 for an unknown team or one of another organisation."""
    context = team_page_context(access=access, team_slug=team_slug, user_id=access.user_id)
    return render(request, "web/team/team.html", page_context(access, current="", **context))
