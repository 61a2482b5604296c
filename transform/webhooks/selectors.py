"""Reads of webhook endpoints, mappings and stored deliveries, one organisation at a time."""

from __future__ import annotations

from django.db.models import QuerySet

from core.errors import NotFoundError
from teams.models import Organization
from transform.models import WebhookDelivery, WebhookEndpoint, WebhookMapping


def webhook_endpoint_list(*, organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("sender")


def webhook_endpoint_get(*, organization: Organization, sender: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(organization=organization, sender=sender).first()
    if endpoint is None:
        raise NotFoundError(f"No {sender} webhook endpoint in the organisation.")
    return endpoint


def webhook_mapping_list(*, organization: Organization) -> QuerySet[WebhookMapping]:
    return (
        WebhookMapping.objects.filter(organization=organization)
        .select_related("team")
        .order_by("sender", "key")
    )


def webhook_mapping_get(*, organization: Organization, mapping_id: int) -> WebhookMapping:
    mapping = webhook_mapping_list(organization=organization).filter(pk=mapping_id).first()
    if mapping is None:
        raise NotFoundError("No webhook mapping with this id in the organisation.")
    return mapping


def webhook_delivery_list(*, organization: Organization) -> QuerySet[WebhookDelivery]:
    """Newest first; the body is left out (the detail shows it)."""
    return (
        WebhookDelivery.objects.filter(organization=organization)
        .defer("body")
        .order_by("-received_at", "-id")
    )


def webhook_delivery_get(*, organization: Organization, delivery_id: int) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.filter(organization=organization, pk=delivery_id).first()
    if delivery is None:
        raise NotFoundError("No webhook delivery with this id in the organisation.")
    return delivery
