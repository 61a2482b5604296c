"""Ingested signal events, the raw facts of the objective signals (docs/signals.md)."""

from __future__ import annotations

from django.db import models

from teams.models import Organization


class SignalEventKind(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    INCIDENT = "incident", "Incident"
    TICKET = "ticket", "Ticket"
    ADOPTION = "adoption", "Platform adoption"
    FIRST_DEPLOY = "first_deploy", "First deploy"


class SignalEvent(models.Model):
    """One ingested event (docs/signals.md): the raw facts the objective signals are computed
    from by transform/evidence/metrics.py. ``external_id`` is the source system's id; ingesting the same
    (kind, external_id) again updates the row instead of adding one. ``data`` holds the kind's
    fields (commit times, resolved_at, closed_at, capability, mandated, ...), validated on ingest."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=SignalEventKind.choices)
    external_id = models.CharField(max_length=200)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
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
