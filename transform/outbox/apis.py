"""The outbox API under /api/v1/ (reference: docs/delivery.md#the-deliveries-api).

``GET /api/v1/orgs/<slug>/deliveries/``: the organisation's outgoing messages with their state,
for admins and change agents (other roles: 403; no role in the organisation: 404). It shows whom
a message is for and what became of it, never its content: no check-in link or token, no payload.
Error bodies are ``{"message", "extra"}`` (core/api.py).
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, ApiPagination, filtered, paginated_response
from transform.access import org_get_for_management
from transform.models import Delivery
from transform.outbox.filters import DeliveryFilter
from transform.outbox.selectors import delivery_list


class DeliveryOutputSerializer(serializers.ModelSerializer):
    recipient = serializers.EmailField(source="recipient.email", read_only=True)
    recipient_name = serializers.CharField(source="recipient.name", read_only=True)
    checkin = serializers.IntegerField(
        source="checkin_id", read_only=True, allow_null=True, help_text="Check-in id, if any."
    )
    last_error = serializers.CharField(
        read_only=True,
        help_text='Why the last attempt failed; "skipped: ..." when not sent on purpose.',
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "kind",
            "status",
            "channel",
            "recipient",
            "recipient_name",
            "checkin",
            "attempts",
            "last_error",
            "next_attempt_at",
            "created_at",
            "sent_at",
        ]


class OrgDeliveryListApi(APIView):
    """The organisation's outbox, newest first (admins and change agents)."""

    # Declared so that the schema shows the paginated shape and the filters.
    pagination_class = ApiPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.none()

    @extend_schema(
        operation_id="orgs_deliveries_list",
        summary="List the outbox's deliveries",
        parameters=[ORG_SLUG_PARAMETER],
        responses=DeliveryOutputSerializer(many=True),
        tags=["deliveries"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_management(
            user=request.user, org_slug=org_slug, action="read the outbox"
        )
        rows = filtered(
            DeliveryFilter,
            request=request,
            queryset=delivery_list(organization=access.organization),
        )
        return paginated_response(
            request=request, view=self, queryset=rows, serializer_class=DeliveryOutputSerializer
        )
