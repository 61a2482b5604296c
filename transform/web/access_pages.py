"""People & access (docs/access.md, docs/web.md "People & access"): who holds which role in the
organisation, the pending invitations, and the writes that change them; and the instance
administrators' "New organisation" page.

- Admins and change agents open the page, invite by e-mail with a role (change agents not as
  admin) and revoke pending invitations; only admins give and take roles. Everyone else gets the
  403 page, other tenants the 404 page (``org_page``).
- Every write is a Django form posted with CSRF; success redirects back to the page with a
  message (POST-redirect-GET); a broken rule re-shows the page with the message and the form.
- The page reads a fixed number of queries whatever the number of users and invitations (the
  users' roles and people are prefetched; both lists are paged or capped).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError, DomainError
from teams import services as team_services
from teams.access import (
    invitation_role_access_check,
    org_admin_access_check,
    organization_role_get_for_user,
)
from teams.invitations import (
    invitation_create_for_email,
    invitation_get_for_organization,
    invitation_list,
    invitation_revoke,
    organization_role_grantee_get,
    organization_user_list,
)
from teams.models import Role
from transform.access import OrgAccess, org_manage_access_check
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import (
    InvitationCreateForm,
    OrganizationCreateForm,
    RoleGrantForm,
    cleaned,
)

USERS_PER_PAGE = 100
INVITATIONS_SHOWN = 100


def _access_render(
    request: HttpRequest,
    access: OrgAccess,
    *,
    invite_form: InvitationCreateForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    organization = access.organization
    page = Paginator(organization_user_list(organization=organization), USERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    users = [
        {
            "user": user,
            "roles": user.org_roles,  # type: ignore[attr-defined]
            "person": user.org_people[0] if user.org_people else None,  # type: ignore[attr-defined]
            "missing_roles": [
                (value, label)
                for value, label in Role.choices
                if value not in {grant.role for grant in user.org_roles}  # type: ignore[attr-defined]
            ],
        }
        for user in page.object_list
    ]
    pending = list(invitation_list(organization=organization, status="pending")[:INVITATIONS_SHOWN])
    if invite_form is None:
        invite_form = InvitationCreateForm()
        if not access.is_admin:
            # Change agents do not invite admins (teams.access.invitation_role_access_check).
            invite_form.fields["role"].choices = [  # type: ignore[attr-defined]
                (value, label) for value, label in Role.choices if value != Role.ADMIN
            ]
    context = page_context(
        access,
        current="web:access",
        users=users,
        users_page=page,
        pending=pending,
        pending_capped=len(pending) == INVITATIONS_SHOWN,
        invite_form=invite_form,
        is_admin=access.is_admin,
        error=error,
    )
    return render(request, "web/access/access.html", context, status=status)


def _back(access: OrgAccess) -> HttpResponse:
    return redirect("web:access", org_slug=access.organization.slug)


@org_page
def access_page(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The users with their roles, the pending invitations and the invitation form."""
    org_manage_access_check(access=access, action="manage people and access")
    return _access_render(request, access)


@require_POST
@org_page
def invitation_create_page(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Invite an address with a role; the link goes out by e-mail."""
    org_manage_access_check(access=access, action="invite people")
    form = InvitationCreateForm(request.POST)
    try:
        data = cleaned(form)
        invitation_role_access_check(access=access, role=data["role"])
        sent = invitation_create_for_email(
            organization=access.organization,
            email=data["email"],
            role=data["role"],
            name=data["name"],
            actor=request.user,  # type: ignore[arg-type]
        )
    except ApplicationError as exc:
        return _access_render(
            request, access, invite_form=form, error=exc.message, status=exc.status_code
        )
    except DomainError as exc:  # 403 (role) or 503 (mail): the page says so, the form kept
        return _access_render(
            request, access, invite_form=form, error=exc.message, status=exc.status_code
        )
    target = sent.invitation.person.name if sent.invitation.person else sent.invitation.email
    messages.success(
        request,
        f"Invitation sent to {sent.invitation.email} ({target}) with the role "
        f"{Role(sent.invitation.role).label.lower()}; the link works for 7 days.",
    )
    return _back(access)


@require_POST
@org_page
def invitation_revoke_page(
    request: HttpRequest, access: OrgAccess, invitation_id: int
) -> HttpResponse:
    """Withdraw a pending invitation; it stays in the history."""
    org_manage_access_check(access=access, action="revoke invitations")
    invitation = invitation_get_for_organization(
        organization=access.organization, invitation_id=invitation_id
    )
    try:
        invitation_revoke(invitation=invitation, actor=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        return _access_render(request, access, error=exc.message, status=exc.status_code)
    messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return _back(access)


@require_POST
@org_page
def role_grant_page(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Give a listed user one more role (admins only)."""
    org_admin_access_check(access=access, action="give roles")
    try:
        data = cleaned(RoleGrantForm(request.POST))
        user = organization_role_grantee_get(
            organization=access.organization, username=data["username"], actor=request.user
        )
        team_services.organization_role_create(
            organization=access.organization, user=user, role=data["role"]
        )
    except DomainError as exc:
        return _access_render(request, access, error=exc.message, status=exc.status_code)
    messages.success(
        request, f"{user.get_username()} is now {Role(data['role']).label.lower()} as well."
    )
    return _back(access)


@require_POST
@org_page
def role_revoke_page(request: HttpRequest, access: OrgAccess, role_id: int) -> HttpResponse:
    """Take a role away (admins only); the last admin role stays."""
    org_admin_access_check(access=access, action="take roles")
    grant = organization_role_get_for_user(access=access, role_id=role_id)
    try:
        team_services.organization_role_delete(organization_role=grant)
    except DomainError as exc:
        return _access_render(request, access, error=exc.message, status=exc.status_code)
    messages.success(
        request,
        f"{grant.user.get_username()} is no longer {Role(grant.role).label.lower()}.",
    )
    return _back(access)


@login_required
def organization_new_page(request: HttpRequest) -> HttpResponse:
    """Instance administrators create an empty organisation and become its first admin."""
    if not getattr(request.user, "is_superuser", False):
        raise PermissionDenied("Only instance administrators may create organisations.")
    form = OrganizationCreateForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "error": ""}
    if request.method == "POST":
        try:
            data = cleaned(form)
            organization = team_services.organization_create(
                slug=data["slug"],
                name=data["name"],
                creator=request.user,  # type: ignore[arg-type]
                time_zone=data["time_zone"],
            )
        except ApplicationError as exc:
            context["error"] = exc.message
            fields = exc.extra.get("fields", {})
            for name, problems in fields.items():
                if name in form.fields and name not in form.errors:
                    for problem in problems:
                        form.add_error(name, problem)
            return render(request, "web/access/new_org.html", context, status=exc.status_code)
        messages.success(
            request,
            f"{organization.name} was created; you are its admin. Next: import its people and "
            "teams, and invite your colleagues.",
        )
        return redirect("web:org-home", org_slug=organization.slug)
    return render(request, "web/access/new_org.html", context)
