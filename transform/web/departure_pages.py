"""The graph team panel's writes (docs/web-graph.md): an admin or change agent marks a member as
having left the organisation, or retires the team. Both go through ``teams.lifecycle`` (history
and lineage record the caller); a refusal (409: open milestones to reassign, a transformation
led) re-shows the graph page with the panel open, the message and links to what to reassign."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from teams.lifecycle import person_leave, team_retire
from transform.access import OrgAccess
from transform.web.access import org_page, person_get_for_departure, team_get_for_retirement
from transform.web.context import query_string
from transform.web.forms import PersonLeaveForm, TeamRetireForm, cleaned
from transform.web.graph_pages import graph_render


def _refusal_items(org_slug: str, extra: dict[str, Any]) -> list[dict[str, str]]:
    """Links to what a departure check listed: each open milestone, each transformation led."""
    items = []
    for milestone in extra.get("open_milestones", []):
        transformation = milestone.get("transformation") or {}
        items.append(
            {
                "label": f"Milestone “{milestone['title']}” of {transformation.get('title', '')}",
                "url": reverse(
                    "web:milestone", kwargs={"org_slug": org_slug, "milestone_id": milestone["id"]}
                ),
            }
        )
    for transformation in extra.get("transformations_led", []):
        items.append(
            {
                "label": f"Lead change agent of {transformation['title']}",
                "url": reverse(
                    "web:plan",
                    kwargs={"org_slug": org_slug, "transformation_id": transformation["id"]},
                ),
            }
        )
    return items


def _refused(
    request: HttpRequest, access: OrgAccess, team_slug: str, exc: ApplicationError
) -> HttpResponse:
    error = {
        "message": exc.message,
        "items": _refusal_items(access.organization.slug, exc.extra),
    }
    return graph_render(
        request, access, team_slug=team_slug, panel_error=error, status=exc.status_code
    )


def _panel_url(access: OrgAccess, team_slug: str = "") -> str:
    url = reverse("web:graph", kwargs={"org_slug": access.organization.slug})
    return url + query_string(team=team_slug) + ("#team-panel" if team_slug else "")


@require_POST
@org_page
def team_member_leave(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    """Mark the member ``email`` as a leaver from today: their memberships and serves links
    end, teams they managed lose their manager, they get no more check-ins."""
    try:
        data = cleaned(PersonLeaveForm(request.POST))
        person = person_get_for_departure(access=access, email=data["email"])
        person = person_leave(person=person, source="web", actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        return _refused(request, access, team_slug, exc)
    messages.success(
        request,
        f"{person.name or person.email} is listed as having left the organisation on "
        f"{person.left_on:%Y-%m-%d}; they get no more check-ins.",
    )
    return redirect(_panel_url(access, team_slug))


@require_POST
@org_page
def team_retire_page(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    """Retire the team: it leaves the live graph with its memberships and interactions, and
    keeps its history and evidence."""
    team = team_get_for_retirement(access=access, slug=team_slug)
    try:
        data = cleaned(TeamRetireForm(request.POST))
        team_retire(team=team, source="web", actor=request.user, reason=data["reason"])  # type: ignore[arg-type]
    except ApplicationError as exc:
        return _refused(request, access, team_slug, exc)
    messages.success(request, f"{team.name} was retired; its history and evidence are kept.")
    return redirect(_panel_url(access))
