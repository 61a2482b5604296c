"""The outbox: one row per outgoing message (docs/delivery.md)."""

from __future__ import annotations

from django.db import models

from teams.models import Organization, Person
from transform.models.checkins import CheckIn
from transform.models.rhythm import Channel


class DeliveryKind(models.TextChoices):
    CHECKIN = "checkin", "Check-in"
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    DIGEST = "digest", "Weekly digest"
    READINESS_DROP = "readiness_drop", "Readiness drop alert"
    INTERACTION_OVERRUN = "interaction_overrun", "Temporary interaction overrun alert"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One outgoing message (the outbox). ``dedupe_key`` is unique: the same message is never
    queued twice ("checkin:12", "reminder:12:1", "escalation:milestone:5:event:77",
    "digest:3:2027-W02", "readiness_drop:team:4:2027-01-04",
    "interaction_overrun:9:2027-01-31:person:3").

    Workers claim rows (pending -> sending, with ``claimed_at`` and ``claimed_by``), send, and mark
    them sent, or pending again with ``next_attempt_at`` (backoff), or failed after the last try.
    A claim older than the claim timeout is stale (its worker died) and is claimed again.
    ``payload`` holds what identifies the message beyond its related rows (the transformation,
    milestone, team, week or period); its figures are read when it is sent (docs/delivery.md)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=DeliveryKind.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(Person, on_delete=models.RESTRICT, related_name="deliveries")
    checkin = models.ForeignKey(
        CheckIn, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
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


class SlackMember(models.Model):
    """A person's Slack user id in their organisation's workspace, as ``users.lookupByEmail``
    found it for ``email``. Looked up again when the person's e-mail is no longer ``email``, and
    forgotten when Slack no longer knows the id (docs/integrations.md#slack-and-microsoft-teams).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(max_length=254)
    slack_user_id = models.CharField(max_length=32)
    looked_up_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "person"], name="slack_member_one_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} is {self.slack_user_id} in Slack"
