"""Native webhooks (docs/integrations.md, "Delivery events by webhook"): the endpoint and secret
of each sender per organisation, the explicit mapping of a sender's keys (repository, project,
service) to teams, and every delivery received, kept raw for a retention period so that the
records derived from it can be computed again when a mapping changes."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from teams.models import Organization


class WebhookSender(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    JIRA = "jira", "Jira"
    PAGERDUTY = "pagerduty", "PagerDuty"


class WebhookStatus(models.TextChoices):
    PROCESSED = "processed", "Processed"
    UNMAPPED = "unmapped", "Unmapped"
    IGNORED = "ignored", "Ignored"
    INVALID = "invalid", "Invalid"


class WebhookEndpoint(models.Model):
    """The URL ``/hooks/<org>/<sender>/`` exists for the organisation once this row does; its
    ``secret`` checks every delivery's signature (kept in clear: an HMAC needs it)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=16, choices=WebhookSender.choices)
    secret = models.CharField(max_length=200)
    environments = models.CharField(
        max_length=500,
        default="production",
        help_text="Comma-separated deployment environments that count as production.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    # Who created, rotated or changed it, when (docs/audit.md); a secret is never shown there.
    history = HistoricalRecords()

    class Meta:
        ordering = ["sender"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sender"],
                name="unique_webhook_endpoint_per_sender",
                violation_error_message="This sender already has an endpoint.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.sender}"


class WebhookMapping(models.Model):
    """An explicit mapping of a sender's key (a repository ``owner/name``, a GitLab project
    path, a Jira project key or ``PROJ/component``, a PagerDuty service id) to a team; it wins
    over the catalog's ownership."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=16, choices=WebhookSender.choices)
    key = models.CharField(max_length=300)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    # Who created, rotated or changed it, when (docs/audit.md); a secret is never shown there.
    history = HistoricalRecords()

    class Meta:
        ordering = ["sender", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sender", "key"],
                name="unique_webhook_mapping_key",
                violation_error_message="This key is already mapped for this sender.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.key}"


class WebhookDelivery(models.Model):
    """One delivery as received (headers subset and body), what became of it, and the records
    (``[kind, id]`` pairs) it produced. ``delivery_id`` is the sender's id of the delivery, or
    ``sha256:<body hash>`` when the sender gives none: the same delivery is stored once.
    ``commit`` is the commit sha a push, pipeline or merge delivered, so a later deploy of that
    commit finds its commit times."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=16, choices=WebhookSender.choices)
    delivery_id = models.CharField(max_length=200)
    event = models.CharField(max_length=100, blank=True, default="")
    received_at = models.DateTimeField()
    headers = models.JSONField(default=dict, blank=True)
    body = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=WebhookStatus.choices)
    error = models.TextField(blank=True, default="")
    records = models.JSONField(default=list, blank=True)
    commit = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "status", "received_at"], name="webhook_delivery_status_idx"
            ),
            models.Index(
                fields=["organization", "sender", "commit"], name="webhook_delivery_commit_idx"
            ),
            models.Index(fields=["received_at"], name="webhook_delivery_received_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sender", "delivery_id"],
                name="unique_webhook_delivery",
                violation_error_message="This delivery was already received.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.delivery_id}"
