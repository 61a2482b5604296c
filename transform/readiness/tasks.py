"""Celery task of readiness: the nightly snapshots and drop alerts (docs/readiness.md)."""

from __future__ import annotations

from celery import shared_task

from core.moments import moment_or_now
from transform.readiness.services import readiness_nightly


@shared_task(name="transform.compute_readiness")
def compute_readiness(*, at: str | None = None) -> dict[str, int]:
    """The nightly readiness snapshots of every organisation, and drop alerts."""
    return readiness_nightly(at=moment_or_now(at))
