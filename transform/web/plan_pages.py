"""Pages of the web interface: plans, their timeline and board, and milestones (docs/web-plan.md).

Every page reads through the same selectors and writes through the same services as the API, with
the same access rules (``transform.access``): a refused write is a 403 page, a broken rule
(``ApplicationError``, ``ConflictError``) is shown next to the form it came from, with the page
answered 400 or 409 and the input kept. A write that succeeds redirects (post/redirect/get) with a
message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
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
from transform.plans import selectors, services
from transform.plans.serializers import plan_report_data
from transform.plans.workflow import milestone_allowed_statuses
from transform.web import schedule_section
from transform.web.access import org_page
from transform.web.change_section import changes_section
from transform.web.context import page_context
from transform.web.criteria_words import criterion_rows
from transform.web.forms import (
    TEXT_LIMIT,
    MilestoneReassignForm,
    MilestoneStatusForm,
    cleaned,
)
from transform.web.people_words import events_name_people
from transform.web.progress_section import plan_progress_context

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


def _plan_view_data(plan: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """What the board shows, from ``transformation_plan_get``'s report (the timeline is drawn by
    ``transform.web.timeline``)."""
    board: dict[str, list[dict[str, Any]]] = {status: [] for status in BOARD_COLUMNS}
    for milestone in plan["milestones"]:
        forecast_due = _day(milestone["forecast_due"])
        due = _day(milestone["planned_due"])
        row = {
            **milestone,
            "status_label": STATUS_LABELS.get(milestone["status"], milestone["status"]),
            "late_days": (forecast_due - due).days
            if forecast_due and due and forecast_due > due
            else 0,
        }
        board.setdefault(milestone["status"], []).append(row)
    return {
        "today": today,
        "has_milestones": bool(plan["milestones"]),
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
    view = _plan_view_data(plan, today)
    # Zoom, dependency arrows and dragging (docs/web-plan.md#timeline).
    view.update(
        schedule_section.plan_schedule_context(
            request, found, plan, board=view["board"], today=today
        )
    )
    if template == "web/plan/plan.html":
        # The campaign's burn-up of its graph exit criteria (docs/web-plan.md#progress-burn-up).
        view.update(
            plan_progress_context(
                access=access, transformation=found.transformation, plan=plan, today=today
            )
        )
    return render(
        request,
        template,
        page_context(
            access,
            current="web:plans",
            transformation=found.transformation,
            plan=plan,
            can_edit_plan=found.can_edit_plan,
            **view,
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
    changes_context: Mapping[str, Any] | None = None,
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
    events_name_people(events.object_list, organization=organization)
    allowed = [
        {"value": value, "label": STATUS_LABELS[value]}
        for value in milestone_allowed_statuses(milestone)
    ]
    can_status = found.can_update
    # Dependencies read by title, never by key (docs/web-plan.md, "Plain words").
    titles = {dependency.key: dependency.title for dependency in milestone.depends_on.all()}
    override = selectors.milestone_override_get(milestone=milestone)
    if override is not None:
        by = milestone.overridden_by
        override["by"] = (by.get_full_name() or by.get_username()) if by is not None else None
        override["dependencies"] = [titles.get(key, key) for key in override["dependencies"]]
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
            criteria=criterion_rows(criteria, organization=organization),
            events=events,
            # The "Topology changes" section (web/plan/_changes.html, transform.web.change_pages).
            **(changes_context or changes_section(found=found)),
            override=override,
            started_before_dependencies=[
                titles.get(key, key)
                for key in selectors.milestone_started_before_dependencies(milestone=milestone)
            ],
            allowed=allowed,
            can_status=can_status and bool(allowed),
            can_override=can_override,
            can_edit_plan=transformation_access.can_edit_plan,
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
        return f"Milestone '{changed.title}' is now {label.lower()}."

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
        return f"Milestone '{found.milestone.title}' now belongs to {owner.name or owner.email}."

    return _milestone_write(request, access, milestone_id, form="reassign", write=write)
