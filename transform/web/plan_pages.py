"""Pages of the web interface: plans, milestones and an engineering manager's teams
(docs/web-plan.md).

Every page reads through the same selectors and writes through the same services as the API, with
the same access rules (``transform.access``): a refused write is a 403 page, a broken rule
(``ApplicationError``, ``ConflictError``) is shown next to the form it came from, with the page
answered 400 or 409 and the input kept. A write that succeeds redirects (post/redirect/get) with a
message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from teams import services as team_services
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    MembershipRole,
    Person,
    ServesLink,
    Severity,
    Team,
)
from transform.access import (
    MilestoneAccess,
    OrgAccess,
    checkin_open_list_for_user,
    milestone_get_for_plan_edit,
    milestone_get_for_status_change,
    milestone_get_for_update,
    milestone_get_for_user,
    team_get_for_topology_change,
    teams_managed_by,
    transformation_get_for_user,
)
from transform.models import Milestone, MilestoneStatus
from transform.plans import selectors, services
from transform.plans.serializers import plan_report_data
from transform.plans.services import ALLOWED_TRANSITIONS
from transform.readiness.selectors import readiness_report_get
from transform.rhythm.links import checkin_token
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import (
    SIMPLE_CHANGE_KINDS,
    TEXT_LIMIT,
    InteractionAddForm,
    MemberAddForm,
    MemberUpdateForm,
    MilestoneChangeForm,
    MilestoneReassignForm,
    MilestoneStatusForm,
    ServesAddForm,
    cleaned,
)

PLANS_PER_PAGE = 20
EVENTS_PER_PAGE = 25
CHECKINS_SHOWN = 20
# Board columns, in the order work moves through them.
BOARD_COLUMNS: tuple[str, ...] = (
    MilestoneStatus.PLANNED,
    MilestoneStatus.IN_PROGRESS,
    MilestoneStatus.AT_RISK,
    MilestoneStatus.BLOCKED,
    MilestoneStatus.DONE,
)
STATUS_LABELS: dict[str, str] = dict(MilestoneStatus.choices)


# --- plans ---------------------------------------------------------------------------------------


@org_page
def plans(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The organisation's transformations with their milestone counts by status."""
    page = Paginator(
        selectors.transformation_list(organization=access.organization), PLANS_PER_PAGE
    ).get_page(request.GET.get("page"))
    ids = [transformation.pk for transformation in page.object_list]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Milestone.objects.filter(transformation_id__in=ids)
        .values("transformation_id", "status")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[row["transformation_id"]][row["status"]] = row["count"]
    rows = [
        {
            "transformation": transformation,
            "counts": [
                {
                    "status": status,
                    "label": STATUS_LABELS[status],
                    "count": counts[transformation.pk].get(status, 0),
                }
                for status in BOARD_COLUMNS
            ],
        }
        for transformation in page.object_list
    ]
    return render(
        request,
        "web/plan/plans.html",
        page_context(access, current="web:plans", page=page, rows=rows),
    )


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@dataclass
class Bar:
    """A horizontal bar of the timeline, as percentages of the timeline's width."""

    left: float
    width: float


@dataclass
class Timeline:
    """The plan's date range and how to place a date on it."""

    start: dt.date
    end: dt.date
    ticks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, 1)

    def at(self, day: dt.date) -> float:
        return round((day - self.start).days / self.days * 100, 3)

    def bar(self, start: dt.date | None, end: dt.date | None) -> Bar | None:
        if start is None or end is None:
            return None
        # A bar is at least a day wide, so a zero-length milestone stays visible.
        width = max((end - start).days, 1) / self.days * 100
        return Bar(left=self.at(start), width=round(width, 3))


def _timeline(plan: Mapping[str, Any], today: dt.date) -> Timeline:
    days = [_day(plan["start_date"]), _day(plan["planned_end"]), _day(plan["forecast_end"])]
    for milestone in plan["milestones"]:
        days += [
            _day(milestone[name]) for name in ("planned_start", "forecast_start", "started_on")
        ]
        due = _day(milestone["forecast_due"])
        days.append(due + dt.timedelta(days=max(milestone["slack_days"], 0)) if due else None)
    known = [day for day in days if day is not None] or [today]
    timeline = Timeline(start=min(known), end=max(known))
    month = dt.date(timeline.start.year, timeline.start.month, 1)
    while month <= timeline.end:
        if month >= timeline.start:
            timeline.ticks.append({"left": timeline.at(month), "label": month.strftime("%b %Y")})
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return timeline


def _plan_view_data(plan: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """What the timeline and the board show, from ``transformation_plan_get``'s report."""
    timeline = _timeline(plan, today)
    phases: list[dict[str, Any]] = []
    board: dict[str, list[dict[str, Any]]] = {status: [] for status in BOARD_COLUMNS}
    for milestone in plan["milestones"]:
        forecast_due = _day(milestone["forecast_due"])
        slack = max(milestone["slack_days"], 0)
        row = {
            **milestone,
            "status_label": STATUS_LABELS.get(milestone["status"], milestone["status"]),
            "planned_bar": timeline.bar(
                _day(milestone["planned_start"]), _day(milestone["planned_due"])
            ),
            "forecast_bar": timeline.bar(
                _day(milestone["forecast_start"]), _day(milestone["forecast_due"])
            ),
            "slack_bar": (
                timeline.bar(forecast_due, forecast_due + dt.timedelta(days=slack))
                if forecast_due and slack
                else None
            ),
            "late_days": (
                (forecast_due - due).days
                if forecast_due and (due := _day(milestone["planned_due"])) and forecast_due > due
                else 0
            ),
        }
        phase_key = (milestone["playbook"], milestone["phase"])
        if not phases or phases[-1]["key"] != phase_key:
            phases.append({"key": phase_key, "title": milestone["phase_title"], "rows": []})
        phases[-1]["rows"].append(row)
        board.setdefault(milestone["status"], []).append(row)
    return {
        "timeline": timeline,
        "today": today,
        "today_left": timeline.at(today) if timeline.start <= today <= timeline.end else None,
        "phases": phases,
        "board": [
            {"status": status, "label": STATUS_LABELS[status], "cards": board[status]}
            for status in BOARD_COLUMNS
        ],
    }


def _plan_page(
    request: HttpRequest, access: OrgAccess, transformation_id: int, *, template: str
) -> HttpResponse:
    found = transformation_get_for_user(
        user=request.user, transformation_id=transformation_id, organization=access.organization
    )
    plan = plan_report_data(selectors.transformation_plan_get(transformation=found.transformation))
    today = timezone.localdate()
    return render(
        request,
        template,
        page_context(
            access,
            current="web:plans",
            transformation=found.transformation,
            plan=plan,
            can_edit_plan=found.can_edit_plan,
            **_plan_view_data(plan, today),
        ),
    )


@org_page
def plan(request: HttpRequest, access: OrgAccess, transformation_id: int) -> HttpResponse:
    """One transformation: the timeline grouped by phase, and the board by status."""
    return _plan_page(request, access, transformation_id, template="web/plan/plan.html")


@org_page
def plan_board(request: HttpRequest, access: OrgAccess, transformation_id: int) -> HttpResponse:
    """The board alone: one column per status."""
    return _plan_page(request, access, transformation_id, template="web/plan/board.html")


# --- milestones ----------------------------------------------------------------------------------


def _milestone_url(access: OrgAccess, milestone_id: int) -> str:
    return reverse(
        "web:milestone", kwargs={"org_slug": access.organization.slug, "milestone_id": milestone_id}
    )


def _milestone_render(
    request: HttpRequest,
    access: OrgAccess,
    found: MilestoneAccess,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    milestone = found.milestone
    transformation_access = found.transformation_access
    organization = access.organization
    criteria = selectors.milestone_criteria_evaluate(
        organization=organization, milestones=[milestone]
    )[milestone.pk]
    events = Paginator(
        selectors.milestone_event_list(milestone=milestone), EVENTS_PER_PAGE
    ).get_page(request.GET.get("events"))
    changes = [
        {"row": row, "json": json.dumps(row.change, ensure_ascii=False)}
        for row in selectors.milestone_change_list(milestone=milestone)
    ]
    allowed = [
        {"value": value, "label": STATUS_LABELS[value]}
        for value in ALLOWED_TRANSITIONS[milestone.status]
    ]
    can_status = found.can_update
    can_override = transformation_access.can_override and MilestoneStatus.DONE in (
        item["value"] for item in allowed
    )
    return render(
        request,
        "web/plan/milestone.html",
        page_context(
            access,
            current="web:plans",
            milestone=milestone,
            transformation=transformation_access.transformation,
            status_label=STATUS_LABELS.get(milestone.status, milestone.status),
            criteria=[result.as_dict() for result in criteria],
            events=events,
            changes=changes,
            override=selectors.milestone_override_get(milestone=milestone),
            allowed=allowed,
            can_status=can_status and bool(allowed),
            can_override=can_override,
            can_edit_plan=transformation_access.can_edit_plan,
            simple_change_kinds=SIMPLE_CHANGE_KINDS,
            errors=errors or {},
            values=values or {},
        ),
        status=status,
    )


@org_page
def milestone(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """A milestone: owner, dates, status, exit criteria, history, topology changes, actions."""
    found = milestone_get_for_user(
        user=request.user, milestone_id=milestone_id, organization=access.organization
    )
    return _milestone_render(request, access, found)


def _milestone_write(
    request: HttpRequest,
    access: OrgAccess,
    milestone_id: int,
    *,
    form: str,
    write: Callable[[], str],
) -> HttpResponse:
    """Run ``write`` (which fetches the milestone through its access rule, validates the form and
    calls a service, returning a success message); show a broken rule next to form ``form`` on
    the milestone page."""
    try:
        done = write()
    except ApplicationError as exc:
        found = milestone_get_for_user(
            user=request.user, milestone_id=milestone_id, organization=access.organization
        )
        return _milestone_render(
            request,
            access,
            found,
            errors={form: exc.message},
            values={name: str(value)[:TEXT_LIMIT] for name, value in request.POST.items()},
            status=exc.status_code,
        )
    messages.success(request, done)
    return redirect(_milestone_url(access, milestone_id))


@require_POST
@org_page
def milestone_status(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """Move the milestone along the workflow (``milestone_transition``)."""

    def write() -> str:
        form = MilestoneStatusForm(request.POST)
        if not form.is_valid():
            # Whoever may not change the status hears that first, whatever they typed.
            milestone_get_for_update(
                user=request.user,
                milestone_id=milestone_id,
                action="change its status",
                organization=access.organization,
            )
        data = cleaned(form)
        found = milestone_get_for_status_change(
            user=request.user,
            milestone_id=milestone_id,
            to_status=data["to_status"],
            override=data["override"],
            organization=access.organization,
        )
        changed = services.milestone_transition(
            milestone=found.milestone,
            to_status=data["to_status"],
            reason=data["reason"],
            override=data["override"],
            actor=request.user,  # type: ignore[arg-type]
        )
        label = STATUS_LABELS.get(changed.status, changed.status)
        return f"Milestone '{changed.key}' is now {label.lower()}."

    return _milestone_write(request, access, milestone_id, form="status", write=write)


@require_POST
@org_page
def milestone_reassign(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """Give the milestone to another person (``milestone_reassign``)."""

    def write() -> str:
        found = milestone_get_for_plan_edit(
            user=request.user,
            milestone_id=milestone_id,
            action="reassign milestones",
            organization=access.organization,
        )
        data = cleaned(MilestoneReassignForm(request.POST))
        owner = selectors.person_get_by_reference(
            organization=access.organization, reference=data["owner"], field="owner"
        )
        services.milestone_reassign(
            milestone=found.milestone,
            owner=owner,
            reason=data["reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return f"Milestone '{found.milestone.key}' now belongs to {owner.name or owner.email}."

    return _milestone_write(request, access, milestone_id, form="reassign", write=write)


@require_POST
@org_page
def milestone_change(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """Attach a topology change to the milestone (``milestone_change_add``)."""

    def write() -> str:
        found = milestone_get_for_plan_edit(
            user=request.user,
            milestone_id=milestone_id,
            action="attach topology changes",
            organization=access.organization,
        )
        data = cleaned(MilestoneChangeForm(request.POST))
        row = services.milestone_change_add(
            milestone=found.milestone,
            change=data["change"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return f"Change {row.position} ({row.change.get('kind')}) attached; it is pending."

    return _milestone_write(request, access, milestone_id, form="change", write=write)


# --- my team -------------------------------------------------------------------------------------


def _managed_teams(access: OrgAccess) -> list[Team]:
    """The teams whose manager is the caller's Person, with members, serves links and the
    interactions they are the source of: four queries whatever the number of teams."""
    return list(
        teams_managed_by(access)
        .select_related("manager")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("person").order_by("person__email"),
            ),
            Prefetch(
                "served_by",
                queryset=ServesLink.objects.select_related("person").order_by("person__email"),
            ),
            Prefetch(
                "outgoing_interactions",
                queryset=Interaction.objects.select_related("target").order_by(
                    "target__slug", "mode"
                ),
            ),
        )
        .order_by("slug")
    )


def _my_team_render(
    request: HttpRequest,
    access: OrgAccess,
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = access.organization
    now = timezone.now()
    has_person = Person.objects.filter(organization=organization, user_id=access.user_id).exists()
    teams = _managed_teams(access) if has_person else []
    sections = []
    if teams:
        report = readiness_report_get(organization=organization, at=now)
        min_group_size = report.policy.min_group_size
        for team in teams:
            group = report.team(team.slug)
            sections.append(
                {"team": team, "readiness": group, "error": (errors or {}).get(team.slug)}
            )
    else:
        min_group_size = 0
    all_teams = list(
        Team.objects.filter(organization=organization).order_by("slug").values("slug", "name")
    )
    open_checkins = checkin_open_list_for_user(user=request.user, at=now).filter(
        organization=organization
    )
    shown = list(open_checkins[: CHECKINS_SHOWN + 1])
    checkins = [
        {
            "checkin": checkin,
            "path": reverse("checkin-respond", kwargs={"token": checkin_token(checkin)}),
        }
        for checkin in shown[:CHECKINS_SHOWN]
    ]
    return render(
        request,
        "web/plan/my_team.html",
        page_context(
            access,
            current="web:my-team",
            has_person=has_person,
            sections=sections,
            min_group_size=min_group_size,
            all_teams=all_teams,
            checkins=checkins,
            more_checkins=len(shown) > CHECKINS_SHOWN,
            membership_roles=MembershipRole.choices,
            interaction_modes=InteractionMode.choices,
            severities=Severity.choices,
            errors=errors or {},
        ),
        status=status,
    )


@org_page
def my_team(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """An engineering manager's teams: members, serves links, interactions, readiness; and
    their open check-ins."""
    return _my_team_render(request, access)


def _team_write(
    request: HttpRequest, access: OrgAccess, team_slug: str, write: Callable[[Team], str]
) -> HttpResponse:
    """Check the caller may change the team, run ``write`` (a service call returning a success
    message); a broken rule is shown in the team's section."""
    team = team_get_for_topology_change(access=access, slug=team_slug)
    try:
        done = write(team)
    except ApplicationError as exc:
        return _my_team_render(
            request, access, errors={team.slug: exc.message}, status=exc.status_code
        )
    messages.success(request, done)
    url = reverse("web:my-team", kwargs={"org_slug": access.organization.slug})
    return redirect(f"{url}#team-{team.slug}")


def _person(access: OrgAccess, email: str) -> Person:
    return selectors.person_get_by_email(
        organization=access.organization, email=email, field="person"
    )


def _membership(team: Team, membership_id: int) -> Membership:
    found = (
        Membership.objects.select_related("person", "team", "organization")
        .filter(pk=membership_id, team=team)
        .first()
    )
    if found is None:
        raise Http404("No such membership in this team.")
    return found


@require_POST
@org_page
def member_add(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    def write(team: Team) -> str:
        data = cleaned(MemberAddForm(request.POST))
        person = _person(access, data["email"])
        team_services.membership_create(
            organization=access.organization,
            person=person,
            team=team,
            role=data["role"],
            allocation_percent=data["allocation_percent"],
        )
        return f"{person.name or person.email} joined {team.name}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def member_update(
    request: HttpRequest, access: OrgAccess, team_slug: str, membership_id: int
) -> HttpResponse:
    def write(team: Team) -> str:
        membership = _membership(team, membership_id)
        data = cleaned(MemberUpdateForm(request.POST))
        team_services.membership_update(
            membership=membership,
            data={
                "role": data["role"] or membership.role,
                "allocation_percent": data["allocation_percent"] or membership.allocation_percent,
            },
        )
        role = dict(MembershipRole.choices).get(membership.role, membership.role)
        return (
            f"{membership.person.email} in {team.name}: {role}, {membership.allocation_percent}%."
        )

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def member_remove(
    request: HttpRequest, access: OrgAccess, team_slug: str, membership_id: int
) -> HttpResponse:
    def write(team: Team) -> str:
        membership = _membership(team, membership_id)
        team_services.membership_delete(membership=membership)
        return f"{membership.person.email} left {team.name}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def serves_add(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    def write(team: Team) -> str:
        data = cleaned(ServesAddForm(request.POST))
        person = _person(access, data["email"])
        team_services.serves_link_create(
            organization=access.organization, person=person, team=team, note=data["note"]
        )
        return f"{person.email} now serves {team.name}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def serves_remove(
    request: HttpRequest, access: OrgAccess, team_slug: str, link_id: int
) -> HttpResponse:
    def write(team: Team) -> str:
        link = ServesLink.objects.select_related("person").filter(pk=link_id, team=team).first()
        if link is None:
            raise Http404("No such serves link for this team.")
        team_services.serves_link_delete(serves_link=link)
        return f"{link.person.email} no longer serves {team.name}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def interaction_add(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    def write(team: Team) -> str:
        data = cleaned(InteractionAddForm(request.POST))
        target = Team.objects.filter(organization=access.organization, slug=data["target"]).first()
        if target is None:
            raise ApplicationError(f"No team '{data['target']}' in the organisation.")
        interaction = team_services.interaction_create(
            organization=access.organization,
            source=team,
            target=target,
            mode=data["mode"],
            severity=data["severity"],
            note=data["note"],
        )
        mode = dict(InteractionMode.choices).get(interaction.mode, interaction.mode)
        return f"{team.name} → {target.name} ({mode}) added."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def interaction_remove(
    request: HttpRequest, access: OrgAccess, team_slug: str, interaction_id: int
) -> HttpResponse:
    def write(team: Team) -> str:
        interaction = (
            Interaction.objects.select_related("target")
            .filter(pk=interaction_id, source=team)
            .first()
        )
        if interaction is None:
            raise Http404("No such interaction from this team.")
        team_services.interaction_delete(interaction=interaction)
        return f"{team.name} → {interaction.target.name} ({interaction.mode}) removed."

    return _team_write(request, access, team_slug, write)


TEAM = "o/<slug:org_slug>/my-team/<slug:team_slug>/"
MILESTONE = "o/<slug:org_slug>/milestones/<int:milestone_id>/"

urlpatterns: list[URLPattern] = [
    path("o/<slug:org_slug>/plans/", plans, name="plans"),
    path("o/<slug:org_slug>/plans/<int:transformation_id>/", plan, name="plan"),
    path("o/<slug:org_slug>/plans/<int:transformation_id>/board/", plan_board, name="plan-board"),
    path(MILESTONE, milestone, name="milestone"),
    path(f"{MILESTONE}status/", milestone_status, name="milestone-status"),
    path(f"{MILESTONE}reassign/", milestone_reassign, name="milestone-reassign"),
    path(f"{MILESTONE}changes/", milestone_change, name="milestone-change"),
    path("o/<slug:org_slug>/my-team/", my_team, name="my-team"),
    path(f"{TEAM}members/", member_add, name="my-team-member-add"),
    path(f"{TEAM}members/<int:membership_id>/", member_update, name="my-team-member-update"),
    path(f"{TEAM}members/<int:membership_id>/remove/", member_remove, name="my-team-member-remove"),
    path(f"{TEAM}serves/", serves_add, name="my-team-serves-add"),
    path(f"{TEAM}serves/<int:link_id>/remove/", serves_remove, name="my-team-serves-remove"),
    path(f"{TEAM}interactions/", interaction_add, name="my-team-interaction-add"),
    path(
        f"{TEAM}interactions/<int:interaction_id>/remove/",
        interaction_remove,
        name="my-team-interaction-remove",
    ),
]
