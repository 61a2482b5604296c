"""Check-ins (one question to one person for one subject and period) and the topology
verifications they collect (docs/checkins.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from teams.models import Organization, Person
from transform.models.plans import Milestone, Transformation


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
    ``answered_at`` with a conditional UPDATE. A check-in nobody needs to answer any more (the
    status check-in of a milestone marked done) is closed: ``closed_at`` and ``closed_reason``
    say when and why, its link answers with the reason and the outbox skips its messages.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    transformation = models.ForeignKey(
        Transformation, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkins"
    )
    kind = models.CharField(max_length=32, choices=CheckInKind.choices)
    recipient = models.ForeignKey(Person, on_delete=models.RESTRICT, related_name="checkins")
    subject = models.CharField(max_length=64)
    period = models.CharField(max_length=64)
    period_start = models.DateField(help_text="First day of the period the answers count for.")
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkins"
    )
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.RESTRICT, related_name="checkins"
    )
    instruments = models.JSONField(default=list)
    link_nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(
        blank=True, default="", help_text="Why the check-in was closed unanswered, for people."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject", "period"],
                name="one_checkin_per_recipient_subject_period",
                violation_error_message="This check-in already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | ~models.Q(closed_reason=""),
                name="closed_checkin_has_a_reason",
                violation_error_message="A closed check-in needs a reason.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "answered_at", "expires_at"]),
            # Each planning round reads the organisation's recent check-ins (reminders, digest).
            models.Index(fields=["organization", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.period} to {self.recipient}"


class ProposalStatus(models.TextChoices):
    NONE = "", "No changes proposed"
    PROPOSED = "proposed", "Changes proposed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class TeamVerification(models.Model):
    """An engineering manager's answer to a topology verification: the team's members, buddy and
    interactions are right (``confirmed``) or need the ``corrections`` described.

    Structured corrections are ``proposed_changes``: scenario changes (``teams.scenarios``, as
    ``change_json`` writes them) that a change agent or the team's manager accepts (applied with
    history, reference ``verification:<id>``) or rejects; ``decided_by`` and ``decided_at`` say
    who and when."""

    team = models.ForeignKey("teams.Team", on_delete=models.RESTRICT, related_name="verifications")
    verified_by = models.ForeignKey(Person, on_delete=models.RESTRICT, related_name="+")
    verified_at = models.DateTimeField()
    confirmed = models.BooleanField()
    corrections = models.TextField(blank=True, default="")
    proposed_changes = models.JSONField(default=list, blank=True)
    proposal_status = models.CharField(
        max_length=16, choices=ProposalStatus.choices, blank=True, default=ProposalStatus.NONE
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-verified_at", "-id"]
        indexes = [
            models.Index(fields=["team", "proposal_status"], name="teamverification_proposal_idx")
        ]

    def __str__(self) -> str:
        return f"{self.team} {'confirmed' if self.confirmed else 'needs changes'}"
