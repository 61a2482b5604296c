"""The "My team" page (docs/web-plan.md): an engineering manager's teams with their members, serves
links, interactions and readiness, their open check-ins, and the writes that change a team's
topology (the API's services and access rules; a broken rule is shown in the team's section)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from teams import services as team_services
from teams.access import team_interaction_get, team_membership_get, team_serves_link_get
from teams.models import (
    InteractionMode,
    MembershipRole,
    Person,
    Severity,
    Team,
)
from teams.selectors import person_of_user, team_by_slug, team_list, teams_with_topology
from transform.access import (
    OrgAccess,
    checkin_open_list_for_user,
    team_get_for_topology_change,
    teams_managed_by,
)
from transform.checkins.verifications import open_proposals_by_team, team_topology_marks
from transform.plans import selectors
from transform.readiness.selectors import readiness_report_get
from transform.rhythm.links import checkin_token
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import (
    InteractionAddForm,
    MemberAddForm,
    MemberUpdateForm,
    ServesAddForm,
    cleaned,
)

CHECKINS_SHOWN = 20


def _my_team_render(
    request: HttpRequest,
    access: OrgAccess,
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = access.organization
    now = timezone.now()
    has_person = person_of_user(organization=organization, user_id=access.user_id) is not None
    teams = list(teams_with_topology(teams_managed_by(access))) if has_person else []
    sections = []
    if teams:
        report = readiness_report_get(organization=organization, at=now)
        min_group_size = report.policy.min_group_size
        marks = team_topology_marks(organization=organization, at=now)
        proposals = open_proposals_by_team(teams=teams)
        for team in teams:
            group = report.team(team.slug)
            sections.append(
                {
                    "team": team,
                    "readiness": group,
                    "error": (errors or {}).get(team.slug),
                    "topology": marks.get(team.slug),
                    "proposals": proposals.get(team.pk, []),
                }
            )
    else:
        min_group_size = 0
    all_teams = list(team_list(organization=organization).values("slug", "name"))
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
        membership = team_membership_get(team=team, membership_id=membership_id)
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
        membership = team_membership_get(team=team, membership_id=membership_id)
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
        link = team_serves_link_get(team=team, serves_link_id=link_id)
        team_services.serves_link_delete(serves_link=link)
        return f"{link.person.email} no longer serves {team.name}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def interaction_add(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    def write(team: Team) -> str:
        data = cleaned(InteractionAddForm(request.POST))
        target = team_by_slug(organization=access.organization, slug=data["target"])
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
        interaction = team_interaction_get(team=team, interaction_id=interaction_id)
        team_services.interaction_delete(interaction=interaction)
        return f"{team.name} → {interaction.target.name} ({interaction.mode}) removed."

    return _team_write(request, access, team_slug, write)
