"""The organisation graph: organisations, units, teams, people and how they work together.

Every row belongs to one Organization (the tenant); every query is scoped by it. Each model keeps
its full history (django-simple-history: who changed what, when) so the topology can be rebuilt as
of any past moment.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from core.zones import time_zone_default, time_zone_validate


class BaseModel(models.Model):
    """Timestamps shared by every model."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Organization(BaseModel):
    """A tenant: one company or division running its transformation in Transform."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    analysis_thresholds = models.JSONField(
        default=dict,
        blank=True,
        help_text="Overrides of the analysis thresholds; see docs/analysis.md for keys and defaults.",
    )
    # A new random value on every write to the organisation's topology (topology_changed): the
    # cached analysis is keyed by it (docs/analysis.md, "Cost and caching"). Random rather than a
    # counter so a key never comes back, even after a database is reset under a shared cache.
    topology_version = models.UUIDField(
        default=uuid.uuid4,
        editable=False,
        help_text="Changes on every write to the topology; keys the cached analysis.",
    )
    time_zone = models.CharField(
        max_length=64,
        default=time_zone_default,
        validators=[time_zone_validate],
        help_text=(
            "IANA time zone (e.g. Europe/Berlin) of the organisation's days, schedules and "
            "messages; see docs/time-zones.md."
        ),
    )
    history = HistoricalRecords(excluded_fields=["topology_version"])

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Only topology_changed() writes topology_version: saving an instance loaded before a
        # topology write must not put the old version back (the cache would serve the old
        # analysis under it).
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "topology_version"
            ]
        super().save(*args, **kwargs)


def topology_changed(*, organization_id: int) -> None:
    """Give the organisation a new ``topology_version``, in the caller's transaction.

    Called before the writes when inside a transaction (so every writer takes the organisation's
    row lock first, in the same order, and the new version commits with the data), and after
    them in autocommit (so the version never changes before the data it stands for).
    """
    Organization.objects.filter(pk=organization_id).update(topology_version=uuid.uuid4())


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    CHANGE_AGENT = "change_agent", "Change agent"
    ENGINEERING_MANAGER = "engineering_manager", "Engineering manager"
    LEADER = "leader", "Leader"
    MEMBER = "member", "Member"


class OrganizationRole(BaseModel):
    """A role a login user holds in one organisation; a user may hold several."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_roles"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "role"],
                name="unique_role_per_user_and_organization",
                violation_error_message="This user already holds this role in the organisation.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} in {self.organization}"


class OrgUnit(BaseModel):
    """An organisational unit that holds teams (organisation, division, department, ...)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="units")
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=50, default="department", help_text="e.g. department")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"],
                name="unique_unit_slug_per_organization",
                violation_error_message="A unit with this slug already exists in the organisation.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="unit_not_its_own_parent",
                violation_error_message="A unit cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class TeamType(models.TextChoices):
    STREAM_ALIGNED = "stream_aligned", "Stream-aligned"
    PLATFORM = "platform", "Platform"
    ENABLING = "enabling", "Enabling"
    COMPLICATED_SUBSYSTEM = "complicated_subsystem", "Complicated subsystem"
    OPS_SILO = "ops_silo", "Ops silo"
    UNCLASSIFIED = "unclassified", "Unclassified"


class Specialty(models.TextChoices):
    DATABASE = "database", "Database"
    NETWORKING = "networking", "Networking"
    BACKEND_OPS = "backend_ops", "Backend ops"
    SECURITY = "security", "Security"
    OTHER = "other", "Other"


class TeamQuerySet(models.QuerySet["Team"]):
    def live(self) -> TeamQuerySet:
        """Teams that are not retired: the live graph."""
        return self.filter(retired_at__isnull=True)


class LiveTeamManager(models.Manager["Team"]):
    """``Team.objects``: the live graph, without retired teams. ``Team.all_objects`` (the default
    manager, used by validation, relations and the admin) includes them."""

    def get_queryset(self) -> TeamQuerySet:
        return TeamQuerySet(self.model, using=self._db).live()


class Team(BaseModel):
    """A team, typed by Team Topologies; ops silos carry the specialty they gatekeep.

    A retired team (``retired_at`` set) has left the live graph but keeps its row, its slug and
    every piece of evidence attributed to it; its lineage events say why and what followed it.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=TeamType.choices, default=TeamType.UNCLASSIFIED)
    specialty = models.CharField(max_length=32, choices=Specialty.choices, blank=True, default="")
    description = models.TextField(blank=True, default="")
    unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams"
    )
    manager = models.ForeignKey(
        "Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        help_text="The team's engineering manager.",
    )
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the team left the live graph (merged, split, retired).",
    )
    history = HistoricalRecords()

    all_objects = TeamQuerySet.as_manager()
    objects = LiveTeamManager()

    class Meta:
        ordering = ["slug"]
        default_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"],
                name="unique_team_slug_per_organization",
                violation_error_message="A team with this slug already exists in the organisation.",
            ),
            models.CheckConstraint(
                condition=Q(type=TeamType.OPS_SILO) | Q(specialty=""),
                name="specialty_only_for_ops_silos",
                violation_error_message="Only ops_silo teams have a specialty.",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class Person(BaseModel):
    """Someone in the organisation; e-mail (stored lower-case) is unique per organisation.

    A leaver (``left_on`` set) has no memberships and gets no check-ins but keeps their history.
    An erased person (``erased_at`` set) had their name and e-mail replaced by a pseudonym
    everywhere (``teams.services.person_erase``).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="people")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="people",
    )
    left_on = models.DateField(
        null=True, blank=True, help_text="The day the person left the organisation (a leaver)."
    )
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person's name and e-mail were erased."
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        validators=[time_zone_validate],
        help_text="IANA time zone the person reads times in; blank: the organisation's.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["email"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                name="unique_person_email_per_organization",
                violation_error_message="A person with this e-mail already exists in the organisation.",
            )
        ]

    def __str__(self) -> str:
        return self.email


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Member"
    LEAD = "lead", "Lead"
    DEVOPS_BUDDY = "devops_buddy", "DevOps buddy"
    PRODUCT_OWNER = "product_owner", "Product owner"


class Membership(BaseModel):
    """A person belonging to a team, with a role and a share of their time."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        max_length=32, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    allocation_percent = models.PositiveSmallIntegerField(default=100)
    history = HistoricalRecords()

    class Meta:
        ordering = ["team_id", "person_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "team"],
                name="unique_membership_per_person_and_team",
                violation_error_message="This person is already a member of this team.",
            ),
            models.CheckConstraint(
                condition=Q(allocation_percent__gte=1) & Q(allocation_percent__lte=100),
                name="membership_allocation_between_1_and_100",
                violation_error_message="Allocation must be between 1 and 100 percent.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} in {self.team} ({self.role})"


class ServesLink(BaseModel):
    """A person who serves a team without being a member (e.g. one DevOps engineer for squads)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="serves_links"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="serves_links")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="served_by")
    note = models.CharField(max_length=200, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["team_id", "person_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "team"],
                name="unique_serves_link_per_person_and_team",
                violation_error_message="This person already serves this team.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} serves {self.team}"


class InteractionMode(models.TextChoices):
    COLLABORATION = "collaboration", "Collaboration"
    X_AS_A_SERVICE = "x_as_a_service", "X-as-a-Service"
    FACILITATING = "facilitating", "Facilitating"
    TICKET_DEPENDENCY = "ticket_dependency", "Ticket dependency"


class Severity(models.TextChoices):
    BLOCKING = "blocking", "Blocking"
    SLOWING = "slowing", "Slowing"
    OK = "ok", "OK"


class Interaction(BaseModel):
    """How ``source`` works with ``target``: for dependencies, source's work waits on target.

    Collaboration and facilitating are meant to be temporary, so they carry an expected end;
    ticket dependencies carry a severity.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="interactions"
    )
    source = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="outgoing_interactions")
    target = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="incoming_interactions")
    mode = models.CharField(max_length=32, choices=InteractionMode.choices)
    since = models.DateField(null=True, blank=True)
    expected_end = models.DateField(null=True, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["source_id", "target_id", "mode"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "mode"],
                name="unique_interaction_per_pair_and_mode",
                violation_error_message="These two teams already have an interaction in this mode.",
            ),
            models.CheckConstraint(
                condition=~Q(source=F("target")),
                name="interaction_between_two_teams",
                violation_error_message="An interaction needs two different teams.",
            ),
            models.CheckConstraint(
                condition=Q(mode=InteractionMode.TICKET_DEPENDENCY) | Q(severity=""),
                name="severity_only_for_ticket_dependencies",
                violation_error_message="Only ticket dependencies have a severity.",
            ),
            models.CheckConstraint(
                condition=Q(expected_end__isnull=True)
                | Q(since__isnull=True)
                | Q(expected_end__gte=F("since")),
                name="interaction_ends_after_it_starts",
                violation_error_message="The expected end must not be before the start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} -[{self.mode}]-> {self.target}"


class ServiceKind(models.TextChoices):
    """What a team owns, in Backstage's terms: a component, a system, an API or a whole domain
    (a business area; Team Topologies' unit of domain complexity)."""

    COMPONENT = "component", "Component"
    SYSTEM = "system", "System"
    API = "api", "API"
    DOMAIN = "domain", "Domain"


class Service(BaseModel):
    """What a team owns: a Backstage Component, System, API or Domain (``spec.owner``).

    Ownership is load the team carries (``teams.analysis``). The owner is ``SET_NULL``: teams are
    retired, not deleted (``teams.lifecycle``), so a retired owner keeps its services on its row
    (the live graph shows only live teams' services); only a team deleted as a mistake leaves
    them unowned.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="services"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    kind = models.CharField(
        max_length=16, choices=ServiceKind.choices, default=ServiceKind.COMPONENT
    )
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "slug"],
                name="unique_service_per_kind_and_organization",
                violation_error_message="A service of this kind and slug already exists in the organisation.",
            )
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        """The Backstage entity reference, ``kind:slug`` (as carried in ``TeamNode.services``)."""
        return f"{self.kind}:{self.slug}"


class LineageKind(models.TextChoices):
    FORMED = "formed", "Formed"
    RENAMED = "renamed", "Renamed"
    MERGED = "merged", "Merged into"
    SPLIT = "split", "Split into"
    RETIRED = "retired", "Retired"


# The lineage kinds that hand a team's work over to another (its successor).
HANDOVER_KINDS = [("merged", "Merged"), ("split", "Split")]


class LineageSource(models.TextChoices):
    MILESTONE = "milestone", "Enacted milestone"
    API = "api", "API"
    WEB = "web", "Web page"
    IMPORT = "import", "Import"
    COMMAND = "command", "Command"


class TeamLineageEvent(BaseModel):
    """One dated step in a team's life: formed, renamed, merged into ``successor``, split into
    ``successor`` (one event per new team) or retired, with who recorded it and why.

    Lineage is how evidence outlives a re-drawn team: an event naming a merged team's slug counts,
    from the merge on, for its successor; a renamed team's old slug still resolves; a merged
    team's trend shows its predecessors' series (docs/scenarios.md, "Lineage").
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="lineage_events"
    )
    kind = models.CharField(max_length=16, choices=LineageKind.choices)
    team = models.ForeignKey(Team, on_delete=models.RESTRICT, related_name="lineage")
    successor = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="predecessor_events",
    )
    occurred_at = models.DateTimeField()
    old_slug = models.CharField(max_length=100, blank=True, default="")
    new_slug = models.CharField(max_length=100, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    source = models.CharField(max_length=16, choices=LineageSource.choices)
    reference = models.CharField(
        max_length=100, blank=True, default="", help_text='What caused it, e.g. "milestone:12".'
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["organization", "occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["merged", "split"], successor__isnull=False)
                | (~Q(kind__in=["merged", "split"]) & Q(successor__isnull=True)),
                name="lineage_successor_only_for_merge_and_split",
                violation_error_message="Only a merge or a split names a successor team.",
            ),
        ]

    def __str__(self) -> str:
        target = f" -> {self.successor}" if self.successor_id else ""
        return f"{self.team} {self.kind}{target} ({self.occurred_at:%Y-%m-%d})"


class Invitation(BaseModel):
    """An offer, e-mailed to an address, to join an organisation with a ``role``: accepting it
    grants the role to the accepting login and, when the address is a person's of the
    organisation (``person``), links that person to the login. The only way (besides an instance
    administrator) a login becomes someone of an organisation (docs/access.md).

    Only a SHA-256 hash of the token is stored (the token travels in the e-mail alone). An
    invitation is accepted once, by a logged-in or newly created login, before ``expires_at``,
    unless it was revoked; creating a new one for the same address ends the open ones
    (``teams.invitations``).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
        help_text="The person accepting links to the login; empty: a login and a role only.",
    )
    email = models.EmailField(max_length=254, help_text="The address the link was sent to.")
    name = models.CharField(
        max_length=200, blank=True, help_text="Whom the invitation greets (optional)."
    )
    role = models.CharField(
        max_length=32,
        choices=Role.choices,
        default=Role.MEMBER,
        help_text="The role accepting grants in the organisation.",
    )
    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="When an admin withdrew the invitation before its use."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(accepted_by__isnull=True) | Q(accepted_at__isnull=False),
                name="invitation_accepted_by_only_when_accepted",
                violation_error_message="Only an accepted invitation names who accepted it.",
            ),
        ]

    def __str__(self) -> str:
        state = "accepted" if self.accepted_at else f"until {self.expires_at:%Y-%m-%d}"
        return f"Invitation of {self.person or self.email} as {self.role} ({state})"


# Every save or delete of a row the analysis reads changes its organisation's topology_version
# (bulk writes, which send no signals, call topology_changed themselves: the importer and the
# erasure). Inside a transaction before the write, in autocommit after it (see topology_changed).
TOPOLOGY_MODELS: tuple[type[models.Model], ...] = (
    OrgUnit,
    Team,
    Person,
    Membership,
    ServesLink,
    Interaction,
    Service,
    TeamLineageEvent,
)


def _topology_row_writing(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    if transaction.get_connection().in_atomic_block:
        topology_changed(organization_id=instance.organization_id)


def _topology_row_written(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    if not transaction.get_connection().in_atomic_block:
        topology_changed(organization_id=instance.organization_id)


for _model in TOPOLOGY_MODELS:
    models.signals.pre_save.connect(_topology_row_writing, sender=_model)
    models.signals.pre_delete.connect(_topology_row_writing, sender=_model)
    models.signals.post_save.connect(_topology_row_written, sender=_model)
    models.signals.post_delete.connect(_topology_row_written, sender=_model)
