"""Shared set-up of the API tests (no tests here): two organisations and a user per role.

``acme`` is the organisation under test; ``globex`` is another tenant whose rows must stay
invisible to acme's users. In acme, ``em`` is the engineering manager of team ``payments``
(through the Person linked to their login) and ``other_em`` of team ``search``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework.test import APIClient

from teams.models import (
    InteractionMode,
    Person,
    Role,
    Severity,
    Specialty,
    TeamType,
)
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    OrgUnitFactory,
    PersonFactory,
    ServesLinkFactory,
    TeamFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"
# The default hasher takes most of a second per user; these tests create seven users each.
USER_KINDS = ["admin", "change_agent", "em", "other_em", "leader", "member", "no_role"]


@dataclass
class OrgRows:
    # Typed Any: the factories are untyped, and the tests use these as the model rows they are.
    org: Any
    unit: Any
    team: Any  # the team managed by "em" (acme) or any team (globex)
    other_team: Any
    silo: Any
    person: Any
    membership: Any
    serves_link: Any
    interaction: Any  # team -> silo, a blocking ticket dependency


@dataclass
class World:
    acme: OrgRows
    globex: OrgRows
    users: dict[str, Any]

    def client(self, kind: str) -> APIClient:
        """A client logged in (session) as the user of ``kind``; "anonymous" is not logged in."""
        client = APIClient()
        if kind != "anonymous":
            client.force_login(self.users[kind])
        return client


def build_org(slug: str) -> OrgRows:
    org = OrganizationFactory(slug=slug, name=slug.title())
    unit = OrgUnitFactory(organization=org, slug=f"{slug}-eng")
    team = TeamFactory(organization=org, slug=f"{slug}-payments", unit=unit)
    other_team = TeamFactory(organization=org, slug=f"{slug}-search")
    silo = TeamFactory(
        organization=org, slug=f"{slug}-dba", type=TeamType.OPS_SILO, specialty=Specialty.DATABASE
    )
    person = PersonFactory(organization=org, email=f"alice@{slug}.test", name="Alice Archer")
    membership = MembershipFactory(team=team, person=person)
    serves_link = ServesLinkFactory(team=team, person=person)
    interaction = InteractionFactory(
        source=team, target=silo, mode=InteractionMode.TICKET_DEPENDENCY, severity=Severity.BLOCKING
    )
    return OrgRows(
        org=org,
        unit=unit,
        team=team,
        other_team=other_team,
        silo=silo,
        person=person,
        membership=membership,
        serves_link=serves_link,
        interaction=interaction,
    )


def build_world() -> World:
    acme = build_org("acme")
    globex = build_org("globex")
    users: dict[str, Any] = {kind: UserFactory(username=kind) for kind in USER_KINDS}
    roles = {
        "admin": Role.ADMIN,
        "change_agent": Role.CHANGE_AGENT,
        "em": Role.ENGINEERING_MANAGER,
        "other_em": Role.ENGINEERING_MANAGER,
        "leader": Role.LEADER,
        "member": Role.MEMBER,
    }
    for kind, role in roles.items():
        OrganizationRoleFactory(organization=acme.org, user=users[kind], role=role)
    # "no_role" is an admin elsewhere: holding roles in another tenant must not help.
    OrganizationRoleFactory(organization=globex.org, user=users["no_role"], role=Role.ADMIN)

    em_person = Person.objects.create(
        organization=acme.org, email="em@acme.test", name="Em", user=users["em"]
    )
    other_em_person = Person.objects.create(
        organization=acme.org, email="other-em@acme.test", name="Other Em", user=users["other_em"]
    )
    acme.team.manager = em_person
    acme.team.save()
    acme.other_team.manager = other_em_person
    acme.other_team.save()
    return World(acme=acme, globex=globex, users=users)
