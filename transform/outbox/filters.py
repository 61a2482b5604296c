"""Query-string filters of the deliveries list (documented in the OpenAPI schema)."""

from __future__ import annotations

import django_filters

from transform.models import Delivery, DeliveryKind, DeliveryStatus


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=DeliveryStatus.choices, help_text="Only messages in this state."
    )
    kind = django_filters.ChoiceFilter(
        choices=DeliveryKind.choices, help_text="Only messages of this kind."
    )

    class Meta:
        model = Delivery
        fields = ["status", "kind"]
