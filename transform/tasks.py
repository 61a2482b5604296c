"""Celery tasks: thin, idempotent wrappers around services (docs/delivery.md)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="transform.dispatch_deliveries")
def dispatch_deliveries(*, at: str | None = None) -> int:
    """Placeholder: filled in by the delivery work."""
    return 0
