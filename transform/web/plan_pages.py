"""Pages of the web interface: plans, their timeline and board, and milestones (docs/web-plan.md).

Every page reads through the same selectors and writes through the same services as the API, with
the same access rules (``transform.access``): a refused write is a 403 page, a broken rule
(``ApplicationError``, ``ConflictError``) is shown next to the form it came from, with the page
answered 400 or 409 and the input kept. A write that succeeds redirects (post/redirect/get) with a
message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from teams.zones import organization_today
from transform.access import (
    MilestoneAccess,
    OrgAccess,
    milestone_get_for_plan_edit,
    milestone_get_for_status_change,
    milestone_get_for_update,
    milestone_get_for_user,
    transformation_get_for_user,
)
from transform.models import MilestoneStatus
from transform.plans import changes, selectors, services
from transform.plans.serializers import plan_report_data
from transform.plans.workflow import milestone_allowed_statuses
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import (
    SIMPLE_CHANGE_KINDS,
    TEXT_LIMIT,
    MilestoneChangeForm,
    MilestoneReassignForm,
    MilestoneStatusForm,
    cleaned,
)

PLANS_PER_PAGE = 20
EVENTS_PER_PAGE = 25
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
    counts = selectors.milestone_status_counts(
        transformation_ids=[transformation.pk for transformation in page.object_list]
    )
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
    # The organisation's day, whatever zone the reader chose (docs/time-zones.md).
    today = organization_today(access.organization)
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
        for value in milestone_allowed_statuses(milestone)
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
            started_before_dependencies=selectors.milestone_started_before_dependencies(
                milestone=milestone
            ),
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
        data = cleaned(MilestoneChangeForm(request.POST, organization=access.organization))
        row = changes.milestone_change_add(
            milestone=found.milestone,
            change=data["change"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return f"Change {row.position} ({row.change.get('kind')}) attached; it is pending."

    return _milestone_write(request, access, milestone_id, form="change", write=write)
