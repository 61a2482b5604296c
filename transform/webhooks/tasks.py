"""Celery task of webhooks: pruning the stored deliveries past their retention."""

from __future__ import annotations

from celery import shared_task

from transform.webhooks.services import webhook_deliveries_prune


@shared_task(name="transform.prune_webhook_deliveries")
def prune_webhook_deliveries() -> int:
    """Deletes the deliveries older than TRANSFORM_WEBHOOK_RETENTION_DAYS; never events."""
    return webhook_deliveries_prune()
