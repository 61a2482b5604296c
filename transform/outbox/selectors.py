"""Reads of the outbox: an organisation's deliveries and the rows due to be sent."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet

from teams.models import Organization
from transform.models import (
    Delivery,
    DeliveryStatus,
)


def deliveries_due(*, at: dt.datetime) -> list[int]:
    """Ids of the rows to send at ``at``: pending with ``next_attempt_at <= at``, or sending under
    a stale claim (claimed before ``at - DELIVERY_CLAIM_TIMEOUT_SECONDS``: its worker died).
    Ordered by organisation, then by when they fell due."""
    return [pk for pk, _org in deliveries_due_rows(at=at)]


def delivery_list(*, organization: Organization) -> QuerySet[Delivery]:
    """The organisation's outbox, newest first."""
    return (
        Delivery.objects.filter(organization=organization)
        .select_related("recipient")
        .order_by("-created_at", "-id")
    )


def claim_stale_before(at: dt.datetime) -> dt.datetime:
    return at - dt.timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS)


def deliveries_due_filter(at: dt.datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=at) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=claim_stale_before(at)
    )


def deliveries_due_rows(
    *, at: dt.datetime, organization_id: int | None = None, limit: int | None = None
) -> list[tuple[int, int]]:
    """(id, organisation id) of the rows due at ``at``, by organisation, then by when they fell
    due; of one organisation and at most ``limit`` rows when given."""
    rows = Delivery.objects.filter(deliveries_due_filter(at))
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    ordered = rows.order_by("organization_id", "next_attempt_at", "id").values_list(
        "id", "organization_id"
    )
    return list(ordered if limit is None else ordered[:limit])


def deliveries_due_organization_ids(*, at: dt.datetime) -> list[int]:
    """The organisations with rows due at ``at``."""
    return sorted(
        set(
            Delivery.objects.filter(deliveries_due_filter(at))
            .order_by()
            .values_list("organization_id", flat=True)
            .distinct()
        )
    )
