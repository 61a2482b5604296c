"""Pages of the web interface: plans, their timeline and board, and milestones (docs/web-plan.md).

Every page reads through the same selectors and writes through the same services as the API, with
the same access rules (``transform.access``): a refused write is a 403 page, a broken rule
(``ApplicationError``, ``ConflictError``) is shown next to the form it came from, with the page
answered 400 or 409 and the input kept. A write that succeeds redirects (post/redirect/get) with a
message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from teams.zones import organization_today
from transform.access import (
    OrgAccess,
    milestone_get_for_plan_edit,
    milestone_get_for_status_change,
    milestone_get_for_user,
    transformation_get_for_user,
)
from transform.models import MilestoneStatus
from transform.plans import selectors, services
from transform.plans.serializers import plan_report_data
from transform.web import schedule_section
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import (
    MilestoneReassignForm,
    MilestoneStatusForm,
    cleaned,
)
from transform.web.milestone_writes import (
    STATUS_LABELS,
    milestone_form_cleaned,
    milestone_page_render,
    milestone_write_page,
)
from transform.web.progress_section import plan_progress_context

PLANS_PER_PAGE = 20
# Board columns, in the order work moves through them.
BOARD_COLUMNS: tuple[str, ...] = (
    MilestoneStatus.PLANNED,
    MilestoneStatus.IN_PROGRESS,
    MilestoneStatus.AT_RISK,
    MilestoneStatus.BLOCKED,
    MilestoneStatus.DONE,
)


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


# The milestone page's renderer and its writes live in ``milestone_writes`` (shared with
# schedule_pages and change_pages).


@org_page
def milestone(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """A milestone: owner, dates, status, exit criteria, history, topology changes, actions."""
    found = milestone_get_for_user(
        user=request.user, milestone_id=milestone_id, organization=access.organization
    )
    return milestone_page_render(request, access, found)


@require_POST
@org_page
def milestone_status(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """Move the milestone along the workflow (``milestone_transition``)."""

    def write() -> str:
        data = milestone_form_cleaned(
            request,
            access,
            milestone_id,
            MilestoneStatusForm(request.POST),
            action="change its status",
        )
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

    return milestone_write_page(
        request, access, milestone_id, write=write, errors=lambda exc: {"status": exc.message}
    )


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

    return milestone_write_page(
        request, access, milestone_id, write=write, errors=lambda exc: {"reassign": exc.message}
    )
