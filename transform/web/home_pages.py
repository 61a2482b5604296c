"""The front door: the organisations a user holds a role in, and each organisation's home."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from teams.models import Role
from transform.access import OrgAccess, organization_list_for_user
from transform.web.access import org_page


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One organisation: straight to its home; several: a list to choose from."""
    organizations = list(organization_list_for_user(user=request.user))
    if len(organizations) == 1:
        return redirect("web:org-home", org_slug=organizations[0].slug)
    return render(request, "web/home.html", {"organizations": organizations})


@org_page
def org_home(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Each role's starting point: leaders the dashboard, engineering managers their team,
    change agents and admins the findings."""
    roles = access.roles
    if access.can_manage:
        return redirect("web:findings", org_slug=access.organization.slug)
    if Role.ENGINEERING_MANAGER in roles:
        return redirect("web:my-team", org_slug=access.organization.slug)
    if Role.LEADER in roles:
        return redirect("web:leadership", org_slug=access.organization.slug)
    return redirect("web:graph", org_slug=access.organization.slug)
