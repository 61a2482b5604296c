"""Transformations: a dated plan of milestones, built from playbooks, each with one owner.

A ``Transformation`` is an organisation's instance of one or more playbooks. Its ``Milestone`` rows
are copied from the playbooks when it starts (so a later playbook version never changes a running
plan) and carry both the plan (planned dates) and the forecast (what the dates look like now,
recomputed by ``transform.plans.services`` after every change, with slack and the critical path), so
reading a plan never recomputes it. Every change to a milestone is a ``MilestoneEvent``: the audit
trail of who changed what, when and why (docs/transformations.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch, Q
from simple_history.models import HistoricalRecords

from teams.models import BaseModel, Organization, Person


class TransformationQuerySet(models.QuerySet["Transformation"]):
    def with_people(self) -> TransformationQuerySet:
        """With the organisation, the sponsor and the lead change agent: what every page and
        endpoint about a transformation shows."""
        return self.select_related("organization", "sponsor", "lead_change_agent")


class Transformation(BaseModel):
    """One organisation's change programme: a sponsor, change agents and a plan of milestones."""

    objects = TransformationQuerySet.as_manager()

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="transformations"
    )
    title = models.CharField(max_length=200)
    start_date = models.DateField()
    sponsor = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sponsored_transformations",
        help_text="The leader who backs the transformation.",
    )
    lead_change_agent = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="led_transformations",
        help_text="Owns every milestone nobody else is known to own, until it is reassigned.",
    )
    change_agents = models.ManyToManyField(
        Person,
        related_name="change_agent_of",
        blank=True,
        help_text="People who edit this plan (the lead change agent is always one of them).",
    )
    playbooks = models.ManyToManyField(
        "playbooks.Playbook", related_name="transformations", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when started from the command line.",
    )
    # Kept up to date by transform.plans.services.transformation_schedule_refresh.
    planned_end = models.DateField(null=True, blank=True)
    forecast_end = models.DateField(null=True, blank=True)
    critical_path = models.JSONField(
        default=list, blank=True, help_text="Milestone keys of the critical path, first to last."
    )
    # Who changed the plan's title, dates and people, when (docs/audit.md).
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.organization})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        message = "Must be a person of the transformation's organisation."
        if self.sponsor is not None and self.sponsor.organization_id != self.organization_id:
            errors["sponsor"] = message
        if (
            self.lead_change_agent_id is not None
            and self.lead_change_agent.organization_id != self.organization_id
        ):
            errors["lead_change_agent"] = message
        if errors:
            raise ValidationError(errors)


class OwnerRole(models.TextChoices):
    CHANGE_AGENT = "change_agent", "Change agent"
    ENGINEERING_MANAGER = "engineering_manager", "Engineering manager"
    LEADER = "leader", "Leader"
    PLATFORM_PRODUCT_OWNER = "platform_product_owner", "Platform product owner"


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    AT_RISK = "at_risk", "At risk"
    BLOCKED = "blocked", "Blocked"
    DONE = "done", "Done"


class MilestoneQuerySet(models.QuerySet["Milestone"]):
    def with_details(self) -> MilestoneQuerySet:
        """With the owner, the playbook, who overrode it and the milestones it depends on (key,
        title, status, completion date; one more query for the whole list): what a milestone's
        representation shows."""
        return self.select_related("owner", "playbook", "overridden_by").prefetch_related(
            Prefetch(
                "depends_on",
                queryset=Milestone.objects.only("id", "key", "title", "status", "done_on").order_by(
                    "key"
                ),
            )
        )


class Milestone(BaseModel):
    """A step of a transformation with exactly one accountable owner.

    ``key`` is unique within the transformation: the playbook's milestone key, or
    ``<playbook-key>/<milestone-key>`` when two combined playbooks use the same milestone key
    (``source_key`` keeps the playbook's own key).
    """

    objects = MilestoneQuerySet.as_manager()

    transformation = models.ForeignKey(
        Transformation, on_delete=models.CASCADE, related_name="milestones"
    )
    # RESTRICT: a playbook used by a plan cannot be deleted alone, yet deleting the whole
    # organisation (which cascades to both) still works.
    playbook = models.ForeignKey(
        "playbooks.Playbook", on_delete=models.RESTRICT, related_name="milestones"
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Order of the milestone in the plan (playbooks, phases, milestones)."
    )
    phase_key = models.SlugField(max_length=100)
    phase_title = models.CharField(max_length=200)
    key = models.CharField(max_length=201)
    source_key = models.SlugField(max_length=100, help_text="The milestone key in its playbook.")
    title = models.CharField(max_length=200)
    why = models.TextField(blank=True, default="")
    how = models.TextField(blank=True, default="")
    duration_days = models.PositiveIntegerField()
    owner_role = models.CharField(max_length=32, choices=OwnerRole.choices)
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="owned_milestones")
    checkin_every_days = models.PositiveIntegerField(default=7)
    exit_criteria = models.JSONField(default=list, blank=True)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, related_name="dependents", blank=True
    )
    status = models.CharField(
        max_length=16, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED
    )
    status_reason = models.TextField(blank=True, default="")
    started_on = models.DateField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)
    reported_due = models.DateField(
        null=True, blank=True, help_text="The owner's latest forecast of the due date, if any."
    )
    # The schedule, recomputed by transform.plans.services after every change (playbooks.planning).
    planned_start = models.DateField(null=True, blank=True)
    planned_due = models.DateField(null=True, blank=True)
    forecast_start = models.DateField(null=True, blank=True)
    forecast_due = models.DateField(null=True, blank=True)
    slack_days = models.IntegerField(default=0)
    critical = models.BooleanField(default=False)
    override_reason = models.TextField(blank=True, default="")
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    override_dependencies = models.JSONField(
        default=list,
        blank=True,
        help_text="Keys of the dependencies that were not done when it was done by override.",
    )

    class Meta:
        ordering = ["transformation_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transformation", "key"],
                name="unique_milestone_key_per_transformation",
                violation_error_message="A milestone with this key already exists in the plan.",
            ),
            models.CheckConstraint(
                condition=Q(duration_days__gte=1),
                name="milestone_lasts_at_least_one_day",
                violation_error_message="A milestone lasts at least one day.",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[MilestoneStatus.AT_RISK, MilestoneStatus.BLOCKED])
                | ~Q(status_reason=""),
                name="milestone_at_risk_or_blocked_has_a_reason",
                violation_error_message="An at-risk or blocked milestone needs a reason.",
            ),
            models.CheckConstraint(
                condition=Q(status=MilestoneStatus.DONE) | Q(done_on__isnull=True),
                name="milestone_done_on_only_when_done",
                violation_error_message="Only a done milestone has a completion date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    def clean(self) -> None:
        if (
            self.owner_id is not None
            and self.transformation_id is not None
            and self.owner.organization_id != self.transformation.organization_id
        ):
            raise ValidationError(
                {"owner": "The owner must be a person of the transformation's organisation."}
            )


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    REASSIGNED = "reassigned", "Reassigned"
    OVERRIDE = "override", "Done by override"
    RESCHEDULED = "rescheduled", "Rescheduled"
    ENACTED = "enacted", "Topology changes enacted"


class MilestoneEvent(models.Model):
    """One change to a milestone: who (``actor``; empty from the command line), when, from, to, why.

    ``data`` holds what the columns do not: the old and new owner of a reassignment, the old and
    new forecast of a rescheduling, the criteria results and unfinished dependencies an override
    went past.
    """

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    from_status = models.CharField(
        max_length=16, choices=MilestoneStatus.choices, blank=True, default=""
    )
    to_status = models.CharField(
        max_length=16, choices=MilestoneStatus.choices, blank=True, default=""
    )
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["milestone_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.milestone.key}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class MilestoneChange(BaseModel):
    """One target-topology change attached to a milestone (docs/scenarios.md).

    ``change`` is a ``teams.scenarios.Change`` as JSON (validated when attached). Pending until
    the milestone's changes are enacted on the live graph; ``enacted_at`` and ``enacted_by`` then
    record when and by whom, and an enacted change is never applied again.
    """

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="changes")
    position = models.PositiveIntegerField(help_text="Order of the change within its milestone.")
    change = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enacted_at = models.DateTimeField(null=True, blank=True)
    enacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["milestone_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "position"],
                name="unique_change_position_per_milestone",
                violation_error_message="The milestone already has a change at this position.",
            ),
            models.CheckConstraint(
                condition=Q(enacted_at__isnull=False) | Q(enacted_by__isnull=True),
                name="milestone_change_enacted_by_only_when_enacted",
                violation_error_message="Only an enacted change has an enactor.",
            ),
        ]

    def __str__(self) -> str:
        state = "enacted" if self.enacted_at else "pending"
        return f"{self.milestone.key} #{self.position}: {self.change.get('kind')} ({state})"
