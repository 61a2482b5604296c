"""Ingested signal events, the raw facts of the objective signals (docs/signals.md)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models, transaction

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


class SignalEventsVersion(models.Model):
    """A new random value on every write to an organisation's signal events: with the
    organisation's ``topology_version`` it keys the cached readings computed from the events
    (``transform.evidence.selectors.ingested_readings``; docs/signals.md, "Cost and caching").
    No row yet: the organisation's events were never written since the row was introduced, and
    the key says so. Random rather than a counter so a key never comes back."""

    organization = models.OneToOneField(
        Organization,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="signal_events_version",
    )
    version = models.UUIDField(default=uuid.uuid4, editable=False)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.version}"


def signal_events_changed(*, organization_id: int) -> None:
    """Give the organisation's signal events a new version, in the caller's transaction.

    Writers call it with their bulk writes (they send no model signals); saves and deletes of
    single events (the admin) call it through the signal handlers below. As with
    ``teams.models.topology_changed``: before the writes inside a transaction, after them in
    autocommit, so a reader never caches figures of old events under the new version.
    """
    SignalEventsVersion.objects.bulk_create(
        [SignalEventsVersion(organization_id=organization_id, version=uuid.uuid4())],
        update_conflicts=True,
        update_fields=["version"],
        unique_fields=["organization"],
    )


def _event_writing(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    if transaction.get_connection().in_atomic_block:
        signal_events_changed(organization_id=instance.organization_id)


def _event_written(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    if not transaction.get_connection().in_atomic_block:
        signal_events_changed(organization_id=instance.organization_id)


models.signals.pre_save.connect(_event_writing, sender=SignalEvent)
models.signals.pre_delete.connect(_event_writing, sender=SignalEvent)
models.signals.post_save.connect(_event_written, sender=SignalEvent)
models.signals.post_delete.connect(_event_written, sender=SignalEvent)
