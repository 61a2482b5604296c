"""Transformations: a dated plan of milestones, built from playbooks, each with one owner.

A ``Transformation`` is an organisation's instance of one or more playbooks. Its ``Milestone`` rows
are copied from the playbooks when it starts (so a later playbook version never changes a running
plan) and carry both the plan (planned dates) and the forecast (what the dates look like now,
recomputed by ``transform.services`` after every change, with slack and the critical path), so
reading a plan never recomputes it. Every change to a milestone is a ``MilestoneEvent``: the audit
trail of who changed what, when and why (docs/transformations.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from teams.models import BaseModel, Organization, Person


class Transformation(BaseModel):
    """One organisation's change programme: a sponsor, change agents and a plan of milestones."""

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
    # Kept up to date by transform.services.transformation_schedule_refresh.
    planned_end = models.DateField(null=True, blank=True)
    forecast_end = models.DateField(null=True, blank=True)
    critical_path = models.JSONField(
        default=list, blank=True, help_text="Milestone keys of the critical path, first to last."
    )

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


class Milestone(BaseModel):
    """A step of a transformation with exactly one accountable owner.

    ``key`` is unique within the transformation: the playbook's milestone key, or
    ``<playbook-key>/<milestone-key>`` when two combined playbooks use the same milestone key
    (``source_key`` keeps the playbook's own key).
    """

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
    # The schedule, recomputed by transform.services after every change (playbooks.planning).
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
    new forecast of a rescheduling, the criteria results an override went past.
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


# --- the rhythm: check-ins, deliveries, responses, signals, readiness (docs/checkins.md) -------


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Chat webhook"


def default_pulse_instruments() -> list[str]:
    return ["westrum", "adkar", "platform-satisfaction"]


def default_event_surveys() -> list[dict[str, str]]:
    return [{"event": "first_deploy", "instrument": "platform-satisfaction"}]


class CheckinSettings(BaseModel):
    """An organisation's rhythm: cadences, channel, reminders, escalation, alert and anonymity
    thresholds. Optional: an organisation without a row uses the field defaults
    (``transform.checkins.checkin_settings_get``)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="checkin_settings"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    webhook_url = models.URLField(
        max_length=500, blank=True, default="", help_text="Slack-compatible incoming webhook."
    )
    survey_every_days = models.PositiveIntegerField(default=14)
    pulse_instruments = models.JSONField(
        default=default_pulse_instruments,
        help_text="Instrument keys asked in every pulse survey, latest version each.",
    )
    event_surveys = models.JSONField(
        default=default_event_surveys,
        blank=True,
        help_text='Surveys an ingested event triggers: [{"event": KIND, "instrument": KEY}].',
    )
    topology_verify_every_days = models.PositiveIntegerField(default=90)
    link_valid_days = models.PositiveIntegerField(default=7)
    reminder_after_days = models.PositiveIntegerField(default=3)
    max_reminders = models.PositiveIntegerField(default=2)
    escalate_blocked_after_days = models.PositiveIntegerField(default=7)
    readiness_drop_alert = models.FloatField(
        default=10.0, help_text="Readiness points a team may lose from one period to the next."
    )
    digest_weekday = models.PositiveSmallIntegerField(
        default=0, help_text="ISO weekday - 1 on which the leaders' digest goes out (0 = Monday)."
    )
    min_group_size = models.PositiveIntegerField(default=5)
    min_free_text_group_size = models.PositiveIntegerField(default=10)

    class Meta:
        verbose_name_plural = "check-in settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(survey_every_days__gte=1)
                & Q(topology_verify_every_days__gte=1)
                & Q(link_valid_days__gte=1),
                name="checkin_settings_cadences_positive",
                violation_error_message="Cadences and link validity are at least one day.",
            ),
            models.CheckConstraint(
                condition=Q(min_group_size__gte=3)
                & Q(min_free_text_group_size__gte=models.F("min_group_size")),
                name="checkin_settings_anonymity_floor",
                violation_error_message=(
                    "min_group_size is at least 3 and min_free_text_group_size at least "
                    "min_group_size."
                ),
            ),
            models.CheckConstraint(
                condition=Q(digest_weekday__lte=6),
                name="checkin_settings_digest_weekday",
                violation_error_message="digest_weekday is 0 (Monday) to 6 (Sunday).",
            ),
        ]

    def __str__(self) -> str:
        return f"check-in settings of {self.organization}"


class Instrument(BaseModel):
    """A stored instrument version (transform/instruments.py): a built-in (organization null,
    synced from transform/instrument_library/) or an organisation's own. key@version is
    immutable once stored."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="instruments"
    )
    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)
    source = models.TextField(help_text="The YAML definition as given.")

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "version"],
                name="unique_instrument_version_per_organization",
                violation_error_message="This instrument version already exists.",
            ),
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=Q(organization__isnull=True),
                name="unique_builtin_instrument_version",
                violation_error_message="This built-in instrument version already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"


class CheckInKind(models.TextChoices):
    MILESTONE_STATUS = "milestone_status", "Milestone status"
    PULSE_SURVEY = "pulse_survey", "Pulse survey"
    EVENT_SURVEY = "event_survey", "Event survey"
    TOPOLOGY_VERIFICATION = "topology_verification", "Topology verification"


# Survey answers are anonymous: their Response rows carry no link to the check-in or the person.
ANONYMOUS_CHECKIN_KINDS = frozenset({CheckInKind.PULSE_SURVEY, CheckInKind.EVENT_SURVEY})


class CheckIn(models.Model):
    """One question put to one person for one subject and period, answered through a signed,
    expiring, single-use link (or the API).

    ``subject`` says what it is about ("milestone:12", "team:4", "event:99"); ``period`` names the
    period ("2027-01-04", the period's first day, or the event id). The unique constraint on
    (recipient, kind, subject, period) is what makes planning idempotent: beat firing twice or two
    workers racing create one row. ``instruments`` lists the ``[key, version]`` pairs asked.
    ``link_nonce`` is the random half of the link; the link is single use because answering sets
    ``answered_at`` with a conditional UPDATE.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    transformation = models.ForeignKey(
        Transformation, null=True, blank=True, on_delete=models.CASCADE, related_name="checkins"
    )
    kind = models.CharField(max_length=32, choices=CheckInKind.choices)
    recipient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="checkins")
    subject = models.CharField(max_length=64)
    period = models.CharField(max_length=64)
    period_start = models.DateField(help_text="First day of the period the answers count for.")
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="checkins"
    )
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="checkins"
    )
    instruments = models.JSONField(default=list)
    link_nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject", "period"],
                name="one_checkin_per_recipient_subject_period",
                violation_error_message="This check-in already exists.",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "answered_at", "expires_at"]),
            # Each planning round reads the organisation's recent check-ins (reminders, digest).
            models.Index(fields=["organization", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.period} to {self.recipient}"


class DeliveryKind(models.TextChoices):
    CHECKIN = "checkin", "Check-in"
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    DIGEST = "digest", "Weekly digest"
    READINESS_DROP = "readiness_drop", "Readiness drop alert"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One outgoing message (the outbox). ``dedupe_key`` is unique: the same message is never
    queued twice ("checkin:12", "reminder:12:1", "escalation:milestone:5:event:77",
    "digest:3:2027-W02", "readiness_drop:team:4:2027-01-04").

    Workers claim rows (pending -> sending, with ``claimed_at`` and ``claimed_by``), send, and mark
    them sent, or pending again with ``next_attempt_at`` (backoff), or failed after the last try.
    A claim older than the claim timeout is stale (its worker died) and is claimed again.
    ``payload`` holds what the message says beyond its related rows (digest figures, alert)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=DeliveryKind.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="deliveries")
    checkin = models.ForeignKey(
        CheckIn, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"


class ResponseKind(models.TextChoices):
    MILESTONE_STATUS = "milestone_status", "Milestone status"
    SURVEY = "survey", "Survey"
    TOPOLOGY_VERIFICATION = "topology_verification", "Topology verification"


class Response(models.Model):
    """One answered check-in's answers and scores.

    Survey responses are anonymous by construction: no person, no check-in, only the team the
    survey was sent for, the period and the day (not the time) it was answered. ``answers`` is
    ``{instrument_key: {question: value}}``; ``scores`` is ``{signal_kind: value}``
    (``transform.instruments.score_response`` over every instrument answered)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=ResponseKind.choices)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField()
    submitted_on = models.DateField()
    instruments = models.JSONField(default=list)
    answers = models.JSONField(default=dict)
    scores = models.JSONField(default=dict)
    # Only for non-anonymous kinds (milestone status, topology verification): who reported.
    checkin = models.OneToOneField(
        CheckIn, null=True, blank=True, on_delete=models.CASCADE, related_name="response"
    )

    class Meta:
        ordering = ["-submitted_on", "-id"]
        indexes = [models.Index(fields=["organization", "period_start"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="survey") | Q(checkin__isnull=True),
                name="survey_response_is_anonymous",
                violation_error_message="A survey response is never linked to its check-in.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} response {self.pk} ({self.period_start})"


class TeamVerification(models.Model):
    """An engineering manager's answer to a topology verification: the team's members, buddy and
    interactions are right (``confirmed``) or need the ``corrections`` described."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="verifications")
    verified_by = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    verified_at = models.DateTimeField()
    confirmed = models.BooleanField()
    corrections = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-verified_at", "-id"]

    def __str__(self) -> str:
        return f"{self.team} {'confirmed' if self.confirmed else 'needs changes'}"


class SignalEventKind(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    INCIDENT = "incident", "Incident"
    TICKET = "ticket", "Ticket"
    ADOPTION = "adoption", "Platform adoption"
    FIRST_DEPLOY = "first_deploy", "First deploy"


class SignalEvent(models.Model):
    """One ingested event (docs/signals.md): the raw facts the objective signals are computed
    from by transform/metrics.py. ``external_id`` is the source system's id; ingesting the same
    (kind, external_id) again updates the row instead of adding one. ``data`` holds the kind's
    fields (commit times, resolved_at, closed_at, capability, mandated, ...), validated on ingest."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=SignalEventKind.choices)
    external_id = models.CharField(max_length=200)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["organization", "kind", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "external_id"],
                name="unique_signal_event_per_source_id",
                violation_error_message="An event with this id was already ingested.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id}"


class ReadinessSnapshot(models.Model):
    """The nightly readiness of one team (``team`` set) or the organisation (``team`` null) for
    one survey period, as ``transform.readiness`` computed it, kept for trends, the heat map and
    drop alerts. Stores suppressed results too, with ``score`` null, so history never shows what
    the API would hide."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    respondents = models.PositiveIntegerField(default=0)
    suppressed = models.BooleanField(default=False)
    score = models.FloatField(null=True, blank=True)
    barrier = models.CharField(max_length=32, blank=True, default="")
    trend = models.CharField(max_length=8, blank=True, default="")
    delta = models.FloatField(null=True, blank=True)
    components = models.JSONField(default=dict, blank=True)
    signals = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["period_start", "team_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "team", "period_start"],
                name="one_readiness_snapshot_per_team_period",
                violation_error_message="This team's readiness for the period is already stored.",
            ),
            models.UniqueConstraint(
                fields=["organization", "period_start"],
                condition=Q(team__isnull=True),
                name="one_org_readiness_snapshot_per_period",
                violation_error_message="The organisation's readiness for the period is stored.",
            ),
        ]

    def __str__(self) -> str:
        return f"readiness {self.team or self.organization} {self.period_start}: {self.score}"
