"""Query-string filters of the webhook deliveries list."""

from __future__ import annotations

import django_filters

from transform.models import WebhookDelivery, WebhookSender, WebhookStatus


class WebhookDeliveryFilter(django_filters.FilterSet):
    """``status`` (processed, unmapped, ignored, invalid) and ``sender``."""

    status = django_filters.ChoiceFilter(choices=WebhookStatus.choices)
    sender = django_filters.ChoiceFilter(choices=WebhookSender.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "sender"]
