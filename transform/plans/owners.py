"""Who owns a new milestone: from its playbook's ``owner_role`` and the organisation graph, with
the lead change agent as the owner of last resort (rules: docs/transformations.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from playbooks.format import MilestoneSpec, PhaseSpec, PlaybookSpec
from playbooks.models import Playbook
from teams.models import (
    Membership,
    MembershipRole,
    Organization,
    OrganizationRole,
    Person,
    Role,
    Team,
    TeamType,
)
from transform.models import (
    OwnerRole,
)

# The team types a milestone "is about", read from its graph exit criteria: the engineering
# manager who manages all such teams is the natural owner (docs/transformations.md).
CRITERION_TEAM_TYPES: dict[str, str] = {
    "every_stream_team_has_devops_buddy": TeamType.STREAM_ALIGNED,
    "no_ticket_dependencies_on_gatekeepers": TeamType.OPS_SILO,
    "no_ticket_dependencies_on_ops_silos": TeamType.OPS_SILO,
    "ops_silos_merged": TeamType.OPS_SILO,
    "platform_team_has_product_owner": TeamType.PLATFORM,
}


def criterion_json(criterion: Any) -> dict[str, Any]:
    if isinstance(criterion, dict):
        return dict(criterion)
    dumped: dict[str, Any] = criterion.model_dump(mode="json")
    return dumped


class OwnerFinder:
    """Who owns a new milestone, from its ``owner_role`` and the organisation graph.

    Loads the candidates once (a fixed number of queries per transformation start):
    - engineering_manager: the person who manages every team the milestone is about (the team
      types its graph criteria concern), else the organisation's only team manager, else a
      person whose login holds the engineering_manager role (first by e-mail), preferring one
      who manages a team the milestone is about;
    - platform_product_owner: a product owner of a platform team (first by team slug, e-mail);
    - leader: the sponsor if their login holds the leader role, else the first such person,
      else the sponsor (whatever their role: they answer for the transformation);
    - change_agent: the lead change agent (they are this transformation's change agent);
    otherwise the lead change agent, until the milestone is reassigned. Leavers are never
    candidates (a team whose manager left counts as unmanaged).
    """

    def __init__(self, *, organization: Organization, lead: Person, sponsor: Person | None):
        self.lead = lead
        self.managers_by_type: dict[str, set[int]] = {}
        self.managers: set[int] = set()
        for team_type, manager_id in Team.objects.filter(
            organization=organization, manager__isnull=False, manager__left_on__isnull=True
        ).values_list("type", "manager_id"):
            self.managers_by_type.setdefault(team_type, set()).add(manager_id)
            self.managers.add(manager_id)
        self.platform_owners = list(
            Membership.objects.filter(
                organization=organization,
                role=MembershipRole.PRODUCT_OWNER,
                team__type=TeamType.PLATFORM,
                person__left_on__isnull=True,
            )
            .order_by("team__slug", "person__email")
            .values_list("person_id", flat=True)
        )
        leader_users = OrganizationRole.objects.filter(
            organization=organization, role=Role.LEADER
        ).values("user_id")
        self.leaders = list(
            Person.objects.filter(
                organization=organization, user_id__in=leader_users, left_on__isnull=True
            )
            .order_by("email")
            .values_list("id", flat=True)
        )
        if sponsor is not None and sponsor.pk in self.leaders:
            self.leaders.remove(sponsor.pk)
            self.leaders.insert(0, sponsor.pk)
        self.sponsor = sponsor
        manager_users = OrganizationRole.objects.filter(
            organization=organization, role=Role.ENGINEERING_MANAGER
        ).values("user_id")
        self.manager_logins = list(
            Person.objects.filter(
                organization=organization, user_id__in=manager_users, left_on__isnull=True
            )
            .order_by("email")
            .values_list("id", flat=True)
        )
        wanted = (
            self.managers
            | set(self.platform_owners[:1])
            | set(self.leaders[:1])
            | set(self.manager_logins)
        )
        self.people = {person.pk: person for person in Person.objects.filter(pk__in=wanted)}
        if sponsor is not None:
            self.people[sponsor.pk] = sponsor

    def owner_for(self, milestone: MilestoneSpec) -> Person:
        person_id = self._candidate(milestone)
        return self.people[person_id] if person_id is not None else self.lead

    def _candidate(self, milestone: MilestoneSpec) -> int | None:
        role = milestone.owner_role
        if role == OwnerRole.ENGINEERING_MANAGER:
            concerned = {
                CRITERION_TEAM_TYPES[name]
                for name in _graph_checks(milestone)
                if name in CRITERION_TEAM_TYPES
            }
            managers = set().union(*(self.managers_by_type.get(t, set()) for t in concerned))
            if len(managers) == 1:
                return next(iter(managers))
            if len(self.managers) == 1:
                return next(iter(self.managers))
            concerned_logins = [pk for pk in self.manager_logins if pk in managers]
            logins = concerned_logins or self.manager_logins
            return logins[0] if logins else None
        if role == OwnerRole.PLATFORM_PRODUCT_OWNER:
            return self.platform_owners[0] if self.platform_owners else None
        if role == OwnerRole.LEADER:
            if self.leaders:
                return self.leaders[0]
            return self.sponsor.pk if self.sponsor is not None else None
        return None


def _graph_checks(milestone: MilestoneSpec) -> list[str]:
    names = []
    for criterion in milestone.exit_criteria:
        data = criterion_json(criterion)
        if "graph" in data:
            names.append(str(data["graph"]))
    return names


def plan_items(
    specs: Sequence[tuple[Playbook, PlaybookSpec]],
) -> Iterator[tuple[Playbook, PlaybookSpec, PhaseSpec, MilestoneSpec, str]]:
    """Every milestone of the playbooks in plan order, with its key in the new transformation: a
    key used by two of the playbooks becomes ``<playbook-key>/<milestone-key>`` in both."""
    key_count = Counter(
        milestone.key
        for _p, spec in specs
        for phase in spec.phases
        for milestone in phase.milestones
    )
    for playbook, spec in specs:
        for phase in spec.phases:
            for item in phase.milestones:
                key = item.key if key_count[item.key] == 1 else f"{spec.key}/{item.key}"
                yield playbook, spec, phase, item, key
