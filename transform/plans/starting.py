"""Reads around starting a transformation (docs/transformations.md, "Previewing a start"): the
milestones and owners a start would create, the eligible owners, the running transformations
already started from the same playbooks, and which running transformation covers a finding.

Nothing here writes; ``transformation_start`` (transform/plans/services.py) does, with the same
milestone keys (``plan_items``) and the same owner rules (``OwnerFinder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from core.errors import ApplicationError
from playbooks.models import Playbook
from teams.models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationRole,
    Person,
    Team,
    TeamType,
)
from transform.models import OwnerRole, Transformation
from transform.plans.owners import OwnerFinder, plan_items
from transform.plans.selectors import person_get_by_email
from transform.plans.services import playbook_ref_parse, playbook_ref_resolve
from transform.readiness.selectors import active_transformations


@dataclass(frozen=True, slots=True)
class PreviewMilestone:
    key: str
    title: str
    phase_title: str
    owner_role: str
    owner_role_label: str
    duration_days: int
    owner: Person


@dataclass(frozen=True, slots=True)
class StartPreview:
    """What ``transformation_start`` would create: the milestones with their proposed owners,
    the people who may be chosen instead, and running transformations of the same playbooks."""

    milestones: list[PreviewMilestone]
    eligible: list[tuple[Person, str]]  # (person, why they are eligible), by name
    duplicates: list[Transformation]
    playbook_title: str  # the playbooks' titles, joined with "and"


def start_preview(
    *,
    organization: Organization,
    playbooks: Sequence[Playbook],
    lead: Person,
    sponsor: Person | None,
) -> StartPreview:
    """The preview of a start from resolved ``playbooks`` with ``lead`` as lead change agent:
    a fixed number of queries whatever the organisation's size (the owner rules' few, one for
    the eligible people, one for the duplicates)."""
    specs = [(playbook, playbook.spec) for playbook in playbooks]
    finder = OwnerFinder(organization=organization, lead=lead, sponsor=sponsor)
    labels = dict(OwnerRole.choices)
    milestones = [
        PreviewMilestone(
            key=key,
            title=item.title,
            phase_title=phase.title,
            owner_role=item.owner_role,
            owner_role_label=str(labels.get(item.owner_role, item.owner_role)),
            duration_days=item.duration_days,
            owner=finder.owner_for(item),
        )
        for _playbook, _spec, phase, item, key in plan_items(specs)
    ]
    eligible = owners_eligible(organization=organization, extra=[lead, sponsor])
    # A proposed owner always appears among the choices (a sole team manager without a login).
    known = {person.pk for person, _why in eligible}
    for milestone in milestones:
        if milestone.owner.pk not in known:
            known.add(milestone.owner.pk)
            eligible.append((milestone.owner, "team manager"))
    eligible.sort(key=lambda row: (row[0].name.lower(), row[0].email))
    duplicates = list(
        active_transformations(organization=organization)
        .filter(playbooks__key__in=[playbook.key for playbook in playbooks])
        .distinct()
        .order_by("-start_date", "-id")
    )
    return StartPreview(
        milestones=milestones,
        eligible=eligible,
        duplicates=duplicates,
        playbook_title=" and ".join(playbook.title for playbook in playbooks),
    )


def owners_eligible(
    *, organization: Organization, extra: Sequence[Person | None] = ()
) -> list[tuple[Person, str]]:
    """The people a milestone may be given to in the start preview, with why: everyone with a
    login in the organisation (their highest role), team managers and platform product owners,
    plus ``extra`` (the lead and the sponsor), at most 500. Leavers never. Two queries."""
    role_order = ["admin", "change_agent", "leader", "engineering_manager", "member"]
    logins = OrganizationRole.objects.filter(organization=organization).values("user_id")
    managers = Team.objects.filter(organization=organization, manager__isnull=False).values(
        "manager_id"
    )
    product_owners = Membership.objects.filter(
        organization=organization, role=MembershipRole.PRODUCT_OWNER, team__type=TeamType.PLATFORM
    ).values("person_id")
    people = list(
        Person.objects.filter(organization=organization, left_on__isnull=True)
        .filter(
            Q(user_id__in=logins)
            | Q(pk__in=managers)
            | Q(pk__in=product_owners)
            | Q(pk__in=[p.pk for p in extra if p is not None])
        )
        .order_by("name", "email")[:500]
    )
    roles: dict[int, list[str]] = {}
    for user_id, role in OrganizationRole.objects.filter(
        organization=organization, user_id__in=[p.user_id for p in people if p.user_id]
    ).values_list("user_id", "role"):
        roles.setdefault(user_id, []).append(role)
    rows: list[tuple[Person, str]] = []
    for person in people:
        held = sorted(
            roles.get(person.user_id or 0, []),
            key=lambda r: role_order.index(r) if r in role_order else len(role_order),
        )
        rows.append((person, held[0].replace("_", " ") if held else "no login"))
    return rows


def covering_transformations(*, organization: Organization) -> dict[str, dict[str, Any]]:
    """For each playbook key, the running transformation started from it (the most recently
    started one when several are): ``{"id", "title"}``. A finding is *covered* when its
    suggested playbook is a key of this mapping (docs/transformations.md). One query."""
    rows = (
        Transformation.playbooks.through.objects.filter(
            transformation__in=active_transformations(organization=organization)
        )
        .order_by("-transformation__start_date", "-transformation_id")
        .values_list("playbook__key", "transformation_id", "transformation__title")
    )
    covering: dict[str, dict[str, Any]] = {}
    for key, transformation_id, title in rows:
        covering.setdefault(key, {"id": transformation_id, "title": title})
    return covering


def start_preview_get(
    *, organization: Organization, playbook: str, owner_email: str, sponsor_email: str | None
) -> StartPreview:
    """``start_preview`` for the references ``transformation_start`` takes: the same
    ``ApplicationError`` (on ``playbooks``, ``owner`` or ``sponsor``) for the same bad input."""
    resolved = playbook_ref_resolve(organization=organization, ref=playbook_ref_parse(playbook))
    lead = person_get_by_email(organization=organization, email=owner_email, field="owner")
    if lead.left_on is not None:
        message = f"{lead.email} left the organisation on {lead.left_on.isoformat()}."
        raise ApplicationError(message, extra={"fields": {"owner": [message]}})
    sponsor = (
        person_get_by_email(organization=organization, email=sponsor_email, field="sponsor")
        if sponsor_email
        else None
    )
    return start_preview(
        organization=organization, playbooks=[resolved], lead=lead, sponsor=sponsor
    )
