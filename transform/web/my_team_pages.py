"""The "My team" page (docs/web-plan.md): an engineering manager's teams with their members, serves
links, interactions and readiness, their open check-ins, and the writes that change a team's
topology (the API's services and access rules; a broken rule is shown in the team's section)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from teams import services as team_services
from teams.access import (
    invitation_role_access_check,
    org_manage_access_check,
    team_interaction_get,
    team_membership_get,
    team_serves_link_get,
)
from teams.invitations import InvitationNotSent, invitation_create_for_email
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    MembershipRole,
    Person,
    Role,
    ServesLink,
    Severity,
    Team,
)
from teams.selectors import person_of_user, team_by_slug, team_list, teams_with_topology
from transform.access import (
    OrgAccess,
    team_get_for_topology_change,
    teams_managed_by,
)
from transform.checkins.verifications import open_proposals_by_team, team_topology_marks
from transform.plans import selectors
from transform.readiness.selectors import readiness_report_get
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.forms import (
    InteractionAddForm,
    InteractionEditForm,
    MemberAddForm,
    MemberUpdateForm,
    PersonNewForm,
    ServesAddForm,
    cleaned,
    interaction_duplicate_message,
)
from transform.web.my_checkins_pages import open_checkin_items

CHECKINS_SHOWN = 20
# What the last removal on "My team" was, kept in the session so that "Undo" can re-create it.
UNDO_SESSION_KEY = "web.my_team.undo"


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
    checkins, more_checkins = open_checkin_items(request, access, limit=CHECKINS_SHOWN)
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
            more_checkins=more_checkins,
            membership_roles=MembershipRole.choices,
            interaction_modes=InteractionMode.choices,
            severities=Severity.choices,
            errors=errors or {},
            undo=_undo_get(request, access),
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


@require_http_methods(["GET", "HEAD", "POST"])
@org_page
def member_remove(
    request: HttpRequest, access: OrgAccess, team_slug: str, membership_id: int
) -> HttpResponse:
    """GET asks for confirmation; POST removes the membership and offers to undo it."""
    if request.method != "POST":
        team = team_get_for_topology_change(access=access, slug=team_slug)
        membership = team_membership_get(team=team, membership_id=membership_id)
        person = _person_label(membership.person)
        return _confirm(
            request,
            access,
            team=team,
            question=f"Remove {person} from {team.name}?",
            detail=f"{person} is {membership.get_role_display().lower()} at "
            f"{membership.allocation_percent}%. You can undo this right after.",
        )

    def write(team: Team) -> str:
        membership = team_membership_get(team=team, membership_id=membership_id)
        _undo_keep(request, access, kind="membership", team=team, row=membership)
        team_services.membership_delete(membership=membership)
        return f"{_person_label(membership.person)} left {team.name}."

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


@require_http_methods(["GET", "HEAD", "POST"])
@org_page
def serves_remove(
    request: HttpRequest, access: OrgAccess, team_slug: str, link_id: int
) -> HttpResponse:
    """GET asks for confirmation; POST removes the serves link and offers to undo it."""
    if request.method != "POST":
        team = team_get_for_topology_change(access=access, slug=team_slug)
        link = team_serves_link_get(team=team, serves_link_id=link_id)
        return _confirm(
            request,
            access,
            team=team,
            question=f"Remove {_person_label(link.person)} from those who serve {team.name}?",
            detail="You can undo this right after.",
        )

    def write(team: Team) -> str:
        link = team_serves_link_get(team=team, serves_link_id=link_id)
        _undo_keep(request, access, kind="serves", team=team, row=link)
        team_services.serves_link_delete(serves_link=link)
        return f"{_person_label(link.person)} no longer serves {team.name}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def interaction_add(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    def write(team: Team) -> str:
        # The other team by name or slug ("Payments Squad"): the form resolves it or lists them.
        data = cleaned(InteractionAddForm(request.POST, organization=access.organization))
        target = team_by_slug(organization=access.organization, slug=data["target"])
        if target is None:
            raise ApplicationError(f"No team '{data['target']}' in the organisation.")
        try:
            interaction = team_services.interaction_create(
                organization=access.organization,
                source=team,
                target=target,
                mode=data["mode"],
                severity=data["severity"],
                note=data["note"],
            )
        except ApplicationError as exc:
            # "Payments already has a collaboration with Platform; edit it instead."
            duplicate = interaction_duplicate_message(source=team, target=target, mode=data["mode"])
            if duplicate:
                raise ApplicationError(duplicate, extra=exc.extra) from None
            raise
        mode = dict(InteractionMode.choices).get(interaction.mode, interaction.mode)
        return f"{team.name} → {target.name} ({mode}) added."

    return _team_write(request, access, team_slug, write)


@require_http_methods(["GET", "HEAD", "POST"])
@org_page
def interaction_remove(
    request: HttpRequest, access: OrgAccess, team_slug: str, interaction_id: int
) -> HttpResponse:
    """GET asks for confirmation; POST removes the interaction and offers to undo it."""
    if request.method != "POST":
        team = team_get_for_topology_change(access=access, slug=team_slug)
        interaction = team_interaction_get(team=team, interaction_id=interaction_id)
        return _confirm(
            request,
            access,
            team=team,
            question=f"Remove the {interaction.get_mode_display().lower()} of {team.name} "
            f"with {interaction.target.name}?",
            detail="You can undo this right after.",
        )

    def write(team: Team) -> str:
        interaction = team_interaction_get(team=team, interaction_id=interaction_id)
        _undo_keep(request, access, kind="interaction", team=team, row=interaction)
        team_services.interaction_delete(interaction=interaction)
        mode = interaction.get_mode_display().lower()
        return f"{team.name} → {interaction.target.name} ({mode}) removed."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def interaction_edit(
    request: HttpRequest, access: OrgAccess, team_slug: str, interaction_id: int
) -> HttpResponse:
    """An interaction's mode and expected end (``teams.services.interaction_update``)."""

    def write(team: Team) -> str:
        interaction = team_interaction_get(team=team, interaction_id=interaction_id)
        data = cleaned(InteractionEditForm(request.POST))
        team_services.interaction_update(
            interaction=interaction,
            data={"mode": data["mode"], "expected_end": data["expected_end"]},
        )
        end = f", expected to end {data['expected_end']:%Y-%m-%d}" if data["expected_end"] else ""
        mode = interaction.get_mode_display().lower()
        return f"{team.name} → {interaction.target.name}: {mode}{end}."

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def member_new(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    """Someone not yet in the organisation joins the team: the person, then the membership, and
    with "invite" an invitation to log in as a member (``invitation_create_for_email``)."""

    def write(team: Team) -> str:
        data = cleaned(PersonNewForm(request.POST))
        email = data["email"].strip().lower()
        if Person.objects.filter(organization=access.organization, email=email).exists():
            raise ApplicationError(
                f"{email} is already a person of {access.organization.name}: add them with "
                "“Add a member” instead."
            )
        if data["invite"]:
            # Invitations are the admins' and change agents' (docs/access.md), here too.
            org_manage_access_check(access=access, action="send invitations")
            invitation_role_access_check(access=access, role=Role.MEMBER)
        person = team_services.person_create(
            organization=access.organization, email=email, name=data["name"].strip()
        )
        team_services.membership_create(
            organization=access.organization,
            person=person,
            team=team,
            role=data["role"],
            allocation_percent=data["allocation_percent"],
        )
        done = f"{_person_label(person)} joined {team.name}."
        if data["invite"]:
            try:
                invitation_create_for_email(
                    organization=access.organization,
                    email=email,
                    actor=request.user if request.user.is_authenticated else None,
                    name=person.name,
                )
            except InvitationNotSent as exc:
                return f"{done} The invitation could not be sent: {exc.message}"
            done += f" An invitation to log in went to {email}."
        return done

    return _team_write(request, access, team_slug, write)


@require_POST
@org_page
def undo(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Re-create what the last removal on "My team" removed, through the same services."""
    kept = _undo_get(request, access)
    request.session.pop(UNDO_SESSION_KEY, None)
    if kept is None:
        messages.info(request, "There is nothing to undo.")
        return redirect(reverse("web:my-team", kwargs={"org_slug": access.organization.slug}))

    def write(team: Team) -> str:
        person = None
        if kept.get("person_id") is not None:
            person = Person.objects.filter(
                organization=access.organization, pk=kept["person_id"]
            ).first()
            if person is None:
                raise ApplicationError("That person is no longer in the organisation.")
        if kept["kind"] == "membership":
            assert person is not None
            team_services.membership_create(
                organization=access.organization,
                person=person,
                team=team,
                role=kept["role"],
                allocation_percent=kept["allocation_percent"],
            )
            return f"Undone: {_person_label(person)} is back in {team.name}."
        if kept["kind"] == "serves":
            assert person is not None
            team_services.serves_link_create(
                organization=access.organization, person=person, team=team, note=kept["note"]
            )
            return f"Undone: {_person_label(person)} serves {team.name} again."
        target = Team.objects.filter(organization=access.organization, pk=kept["target_id"]).first()
        if target is None:
            raise ApplicationError("The other team no longer exists.")
        team_services.interaction_create(
            organization=access.organization,
            source=team,
            target=target,
            mode=kept["mode"],
            severity=kept["severity"],
            note=kept["note"],
            since=_date_or_none(kept.get("since")),
            expected_end=_date_or_none(kept.get("expected_end")),
        )
        return f"Undone: {team.name} → {target.name} is back."

    return _team_write(request, access, kept["team"], write)


def _person_label(person: Person) -> str:
    return person.name or person.email


def _date_or_none(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _confirm(
    request: HttpRequest, access: OrgAccess, *, team: Team, question: str, detail: str
) -> HttpResponse:
    """The confirmation step of a removal: the question and a button posting to this same URL."""
    back = reverse("web:my-team", kwargs={"org_slug": access.organization.slug})
    return render(
        request,
        "web/plan/my_team_confirm.html",
        page_context(
            access,
            current="web:my-team",
            question=question,
            detail=detail,
            team=team,
            back=f"{back}#team-{team.slug}",
        ),
    )


def _undo_keep(
    request: HttpRequest,
    access: OrgAccess,
    *,
    kind: str,
    team: Team,
    row: Membership | ServesLink | Interaction,
) -> None:
    """Remember the row about to be removed (in the session) for "Undo"."""
    kept: dict[str, Any] = {"org": access.organization.pk, "kind": kind, "team": team.slug}
    if isinstance(row, Membership):
        kept |= {
            "person_id": row.person_id,
            "label": f"{_person_label(row.person)} left {team.name}",
            "role": row.role,
            "allocation_percent": row.allocation_percent,
        }
    elif isinstance(row, ServesLink):
        kept |= {
            "person_id": row.person_id,
            "label": f"{_person_label(row.person)} no longer serves {team.name}",
            "note": row.note,
        }
    else:
        kept |= {
            "target_id": row.target_id,
            "label": f"{team.name} → {row.target.name} removed",
            "mode": row.mode,
            "severity": row.severity,
            "note": row.note,
            "since": row.since.isoformat() if row.since else None,
            "expected_end": row.expected_end.isoformat() if row.expected_end else None,
        }
    request.session[UNDO_SESSION_KEY] = kept


def _undo_get(request: HttpRequest, access: OrgAccess) -> dict[str, Any] | None:
    kept = request.session.get(UNDO_SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("org") != access.organization.pk:
        return None
    return kept
