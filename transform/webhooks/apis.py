"""The webhook receiver (``/hooks/<org>/<sender>/``) and the admin REST API of webhooks under
/api/v1/ (docs/integrations.md, "Delivery events by webhook"; docs/api.md).

The receiver is a plain Django view: no session or token (the sender's signature is the
authentication), no CSRF, the body read in chunks up to ``MAX_BODY_BYTES``, a rate per address
(``WebhookThrottle``). Every answer is JSON ``{"message", "extra"}`` or the delivery's outcome.
The admin API follows transform/evidence/apis.py: admins only (403 for other roles, 404 without a
role in the organisation), thin views calling services and selectors.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import (
    ORG_SLUG_PARAMETER,
    ApiPagination,
    OrgScopedSlugRelatedField,
    filtered,
    paginated_response,
    validated,
)
from core.errors import DomainError
from core.files.limits import MAX_BODY_BYTES, read_limited
from core.throttles import AddressThrottle
from teams.models import Team
from transform.access import org_get_for_admin
from transform.models import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMapping,
    WebhookSender,
    WebhookStatus,
)
from transform.webhooks import selectors, services
from transform.webhooks.filters import WebhookDeliveryFilter

TAGS = ["webhooks"]

# One replay request replays at most this many deliveries (it runs inside the request);
# ``manage.py reprocess_webhooks`` replays any number.
REPROCESS_PER_REQUEST = 500
# What ``webhook-deliveries/reprocess/`` replays.
REPROCESS_CHOICES = [("unmapped", "unmapped"), ("all", "all")]


class WebhookThrottle(AddressThrottle):
    """Webhook requests per address (scope ``webhook``), counted before anything is read."""

    scope = "webhook"


# --- the receiver --------------------------------------------------------------------------------


def _error(message: str, code: int, retry_after: float | None = None) -> JsonResponse:
    response = JsonResponse({"message": message, "extra": {}}, status=code)
    if retry_after is not None:
        response["Retry-After"] = str(int(retry_after) + 1)
    return response


@csrf_exempt
@never_cache
@require_POST
def webhook_receive(request: HttpRequest, org_slug: str, sender: str) -> JsonResponse:
    """One delivery: 200 (stored, or the same delivery again), 400 (signed but not JSON:
    stored as invalid), 401 (unsigned or wrongly signed: nothing stored), 404 (no such
    organisation or no endpoint for the sender), 413 (too large), 429 (too many requests)."""
    throttle = WebhookThrottle()
    if not throttle.allow_request(request, None):
        return _error("Too many requests.", 429, throttle.wait())
    if sender not in WebhookSender.values:
        return _error("Not found.", 404)
    body = read_limited(request, MAX_BODY_BYTES)
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        received = services.webhook_receive(
            org_slug=org_slug, sender=sender, headers=headers, body=body
        )
    except services.WebhookRefused as exc:
        return _error(exc.message, exc.status_code)
    except DomainError as exc:
        return _error(exc.message, exc.status_code)
    delivery = received.delivery
    return JsonResponse(
        {
            "message": delivery.error or delivery.status,
            "delivery": delivery.delivery_id,
            "status": delivery.status,
            "duplicate": received.duplicate,
            "records": delivery.records,
        },
        status=received.status_code,
    )


# --- endpoints -----------------------------------------------------------------------------------


def _masked(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) > 8 else "…"


class WebhookEndpointOutputSerializer(serializers.ModelSerializer):
    secret = serializers.SerializerMethodField(
        help_text="Masked; the whole secret is shown once, on creation and rotation."
    )
    path = serializers.SerializerMethodField(help_text="The URL path the sender posts to.")

    class Meta:
        model = WebhookEndpoint
        fields = ["sender", "path", "secret", "environments", "created_at", "rotated_at"]

    def get_secret(self, row: WebhookEndpoint) -> str:
        return _masked(row.secret)

    def get_path(self, row: WebhookEndpoint) -> str:
        return f"/hooks/{self.context['org_slug']}/{row.sender}/"


class WebhookEndpointSecretOutputSerializer(WebhookEndpointOutputSerializer):
    def get_secret(self, row: WebhookEndpoint) -> str:
        return row.secret


SECRET_HELP = (
    "Only for a sender that generates its own signing secret (PagerDuty); otherwise leave it "
    "out and Transform generates one."
)


class WebhookEndpointInputSerializer(serializers.Serializer):
    sender = serializers.ChoiceField(choices=WebhookSender.choices)
    secret = serializers.CharField(
        min_length=16, max_length=200, required=False, write_only=True, help_text=SECRET_HELP
    )
    environments = serializers.CharField(
        max_length=500,
        required=False,
        default="production",
        help_text="Comma-separated deployment environments that count as production.",
    )


class WebhookEndpointUpdateInputSerializer(serializers.Serializer):
    environments = serializers.CharField(max_length=500, required=False)
    secret = serializers.CharField(
        min_length=16, max_length=200, required=False, write_only=True, help_text=SECRET_HELP
    )


class WebhookEndpointListApi(APIView):
    """GET: the organisation's webhook endpoints (secrets masked); POST: create one."""

    pagination_class = ApiPagination
    queryset = WebhookEndpoint.objects.none()

    @extend_schema(
        operation_id="orgs_webhooks_list",
        summary="List webhook endpoints",
        parameters=[ORG_SLUG_PARAMETER],
        responses=WebhookEndpointOutputSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="read webhooks")
        rows = selectors.webhook_endpoint_list(organization=access.organization)
        return paginated_response(
            request=request,
            view=self,
            queryset=rows,
            serializer_class=WebhookEndpointOutputSerializer,
            context={"org_slug": access.organization.slug},
        )

    @extend_schema(
        operation_id="orgs_webhooks_create",
        summary="Create a webhook endpoint",
        parameters=[ORG_SLUG_PARAMETER],
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointSecretOutputSerializer},
        description="The answer shows the whole secret, this once. 409 when it exists.",
        tags=TAGS,
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="add webhooks")
        data = validated(WebhookEndpointInputSerializer, request.data)
        endpoint = services.webhook_endpoint_create(organization=access.organization, **data)
        context = {"org_slug": access.organization.slug}
        return Response(
            WebhookEndpointSecretOutputSerializer(endpoint, context=context).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookEndpointDetailApi(APIView):
    """PATCH: change the production environments; DELETE: remove the endpoint."""

    @extend_schema(
        operation_id="orgs_webhooks_partial_update",
        summary="Change a webhook endpoint's environments or secret",
        parameters=[ORG_SLUG_PARAMETER],
        request=WebhookEndpointUpdateInputSerializer,
        responses=WebhookEndpointOutputSerializer,
        tags=TAGS,
    )
    def patch(self, request: Request, org_slug: str, sender: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="change webhooks")
        endpoint = selectors.webhook_endpoint_get(organization=access.organization, sender=sender)
        data = validated(WebhookEndpointUpdateInputSerializer, request.data)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data)
        context = {"org_slug": access.organization.slug}
        return Response(WebhookEndpointOutputSerializer(endpoint, context=context).data)

    @extend_schema(
        operation_id="orgs_webhooks_destroy",
        summary="Delete a webhook endpoint",
        parameters=[ORG_SLUG_PARAMETER],
        responses={204: None},
        tags=TAGS,
    )
    def delete(self, request: Request, org_slug: str, sender: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="delete webhooks")
        endpoint = selectors.webhook_endpoint_get(organization=access.organization, sender=sender)
        endpoint.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateApi(APIView):
    """POST: a new secret for the endpoint, shown this once; the old one stops working."""

    @extend_schema(
        operation_id="orgs_webhooks_rotate_create",
        summary="Rotate a webhook endpoint's secret",
        parameters=[ORG_SLUG_PARAMETER],
        request=None,
        responses=WebhookEndpointSecretOutputSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, org_slug: str, sender: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="rotate webhooks")
        endpoint = selectors.webhook_endpoint_get(organization=access.organization, sender=sender)
        endpoint = services.webhook_endpoint_rotate(endpoint=endpoint)
        context = {"org_slug": access.organization.slug}
        return Response(WebhookEndpointSecretOutputSerializer(endpoint, context=context).data)


# --- mappings ------------------------------------------------------------------------------------


class WebhookMappingOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", read_only=True)

    class Meta:
        model = WebhookMapping
        fields = ["id", "sender", "key", "team", "created_at"]


class WebhookMappingInputSerializer(serializers.Serializer):
    sender = serializers.ChoiceField(choices=WebhookSender.choices)
    key = serializers.CharField(
        max_length=300,
        help_text="Repository owner/name, GitLab project path, Jira project key or "
        "PROJ/component, PagerDuty service id.",
    )
    team = OrgScopedSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Team slug."
    )


class WebhookMappingUpdateInputSerializer(serializers.Serializer):
    team = OrgScopedSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Team slug."
    )


def _input(serializer_class: type[serializers.Serializer], data: Any, org: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, context={"organization": org})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WebhookMappingListApi(APIView):
    """GET: the explicit mappings of senders' keys to teams; POST: add one."""

    pagination_class = ApiPagination
    queryset = WebhookMapping.objects.none()

    @extend_schema(
        operation_id="orgs_webhook_mappings_list",
        summary="List webhook mappings",
        parameters=[ORG_SLUG_PARAMETER],
        responses=WebhookMappingOutputSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="read mappings")
        rows = selectors.webhook_mapping_list(organization=access.organization)
        return paginated_response(
            request=request,
            view=self,
            queryset=rows,
            serializer_class=WebhookMappingOutputSerializer,
        )

    @extend_schema(
        operation_id="orgs_webhook_mappings_create",
        summary="Add a webhook mapping",
        parameters=[ORG_SLUG_PARAMETER],
        request=WebhookMappingInputSerializer,
        responses={201: WebhookMappingOutputSerializer},
        description="Explicit mappings win over the catalog's ownership. Replay the unmapped "
        "deliveries afterwards (webhook-deliveries/reprocess/).",
        tags=TAGS,
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="add mappings")
        data = _input(WebhookMappingInputSerializer, request.data, access.organization)
        mapping = services.webhook_mapping_create(organization=access.organization, **data)
        return Response(
            WebhookMappingOutputSerializer(mapping).data, status=status.HTTP_201_CREATED
        )


class WebhookMappingDetailApi(APIView):
    """PATCH: map the key to another team; DELETE: remove the mapping."""

    @extend_schema(
        operation_id="orgs_webhook_mappings_partial_update",
        summary="Change a webhook mapping",
        parameters=[ORG_SLUG_PARAMETER],
        request=WebhookMappingUpdateInputSerializer,
        responses=WebhookMappingOutputSerializer,
        tags=TAGS,
    )
    def patch(self, request: Request, org_slug: str, mapping_id: int) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="change mappings")
        mapping = selectors.webhook_mapping_get(
            organization=access.organization, mapping_id=mapping_id
        )
        data = _input(WebhookMappingUpdateInputSerializer, request.data, access.organization)
        mapping = services.webhook_mapping_update(mapping=mapping, **data)
        return Response(WebhookMappingOutputSerializer(mapping).data)

    @extend_schema(
        operation_id="orgs_webhook_mappings_destroy",
        summary="Delete a webhook mapping",
        parameters=[ORG_SLUG_PARAMETER],
        responses={204: None},
        tags=TAGS,
    )
    def delete(self, request: Request, org_slug: str, mapping_id: int) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="delete mappings")
        mapping = selectors.webhook_mapping_get(
            organization=access.organization, mapping_id=mapping_id
        )
        mapping.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- deliveries ----------------------------------------------------------------------------------


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "sender",
            "delivery_id",
            "event",
            "received_at",
            "status",
            "error",
            "records",
            "headers",
        ]


class WebhookDeliveryDetailOutputSerializer(WebhookDeliveryOutputSerializer):
    class Meta(WebhookDeliveryOutputSerializer.Meta):
        fields = [*WebhookDeliveryOutputSerializer.Meta.fields, "body"]


class WebhookDeliveryListApi(APIView):
    """GET: the stored deliveries, newest first (``?status=unmapped`` lists what no team got)."""

    pagination_class = ApiPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = WebhookDeliveryFilter
    queryset = WebhookDelivery.objects.none()

    @extend_schema(
        operation_id="orgs_webhook_deliveries_list",
        summary="List webhook deliveries",
        parameters=[ORG_SLUG_PARAMETER],
        responses=WebhookDeliveryOutputSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="read deliveries")
        rows = filtered(
            WebhookDeliveryFilter,
            request=request,
            queryset=selectors.webhook_delivery_list(organization=access.organization),
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=rows,
            serializer_class=WebhookDeliveryOutputSerializer,
        )


class WebhookDeliveryDetailApi(APIView):
    """GET: one stored delivery with its body."""

    @extend_schema(
        operation_id="orgs_webhook_deliveries_retrieve",
        summary="Show a webhook delivery",
        parameters=[ORG_SLUG_PARAMETER],
        responses=WebhookDeliveryDetailOutputSerializer,
        tags=TAGS,
    )
    def get(self, request: Request, org_slug: str, delivery_id: int) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="read deliveries")
        delivery = selectors.webhook_delivery_get(
            organization=access.organization, delivery_id=delivery_id
        )
        return Response(WebhookDeliveryDetailOutputSerializer(delivery).data)


class WebhookReprocessInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=REPROCESS_CHOICES,
        default="unmapped",
        help_text="unmapped (default): the deliveries no team got; all: every stored delivery.",
    )
    after = serializers.IntegerField(
        default=0,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Go on after this delivery id: the next_after of the previous answer.",
    )


class WebhookDeliveryReprocessApi(APIView):
    """POST: replay stored deliveries after a mapping changed."""

    @extend_schema(
        operation_id="orgs_webhook_deliveries_reprocess_create",
        summary="Replay stored webhook deliveries",
        parameters=[ORG_SLUG_PARAMETER],
        request=WebhookReprocessInputSerializer,
        responses=inline_serializer(
            "WebhookReprocessResult",
            fields={
                "replayed": serializers.IntegerField(),
                "by_status": serializers.DictField(child=serializers.IntegerField()),
                "next_after": serializers.IntegerField(allow_null=True),
            },
        ),
        description="Idempotent: records upsert by their id, so replaying again changes nothing. "
        f"One call replays at most {REPROCESS_PER_REQUEST} deliveries; when more remain, "
        "next_after is the id to pass as after in the next call (null when done).",
        tags=TAGS,
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(user=request.user, org_slug=org_slug, action="replay webhooks")
        data = validated(WebhookReprocessInputSerializer, request.data)
        statuses = None if data["status"] == "all" else [WebhookStatus.UNMAPPED.value]
        result = services.webhook_deliveries_reprocess(
            organization=access.organization,
            statuses=statuses,
            after=data["after"],
            limit=REPROCESS_PER_REQUEST,
        )
        return Response(
            {
                "replayed": result.replayed,
                "by_status": result.by_status,
                "next_after": result.next_after,
            }
        )
