"""REST API of ingested signal events, under /api/v1/ (docs/signals.md, "Ingesting events").

``POST /api/v1/orgs/{slug}/signal-events/`` ingests one record or ``{"records": [...]}`` (admins
and change agents); ``GET`` lists the stored events (admins, change agents and leaders). Same
shape as transform/plans/apis.py: every error body is ``{"message", "extra"}``, field errors under
``extra.fields`` keyed by the record's path (``records[2].occurred_at``); views resolve access
(404 without a role in the organisation), check the role (403), validate and call the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, ApiPagination, filtered, paginated_response
from core.errors import ApplicationError
from core.parsers import SafeJSONParser
from transform.access import org_get_for_management, org_get_for_oversight
from transform.evidence import selectors, services
from transform.evidence.filters import SignalEventFilter
from transform.evidence.records import SignalEventsInvalid, problems_text
from transform.models import SignalEvent, SignalEventKind

MOMENT_HELP = "ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z."
# The request examples of the schema (a test keeps them valid: they are what people copy first).
DEPLOY_EXAMPLE: dict[str, Any] = {
    "kind": "deploy",
    "id": "deploy-4711",
    "team": "checkout",
    "occurred_at": "2026-09-14T10:05:00Z",
    "commit_times": ["2026-09-13T16:20:00Z", "2026-09-14T08:45:00+02:00"],
}
BATCH_EXAMPLE: list[dict[str, Any]] = [
    DEPLOY_EXAMPLE,
    {
        "kind": "incident",
        "id": "INC-208",
        "team": "backend-ops",
        "occurred_at": "2026-09-14T10:30:00Z",
        "resolved_at": "2026-09-14T11:10:00Z",
        "caused_by_deploy": "deploy-4711",
    },
    {
        "kind": "adoption",
        "id": "adopt-checkout-ci",
        "team": "checkout",
        "occurred_at": "2026-09-01T09:00:00Z",
        "capability": "ci",
        "mandated": False,
    },
]


class SignalEventOutputSerializer(serializers.Serializer):
    """A stored event in the record format, plus when it was last ingested. Kind fields appear
    only for their kind; ``team`` is absent for first_deploy events."""

    kind = serializers.ChoiceField(choices=SignalEventKind.choices)
    id = serializers.CharField(help_text="The event's id in its source system.")
    team = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Team slug (the owner's, at ingest, when the record named a service).",
    )
    service = serializers.CharField(
        required=False,
        help_text="The service the record named instead of a team, as kind:slug.",
    )
    occurred_at = serializers.CharField(help_text=MOMENT_HELP + " Shown in UTC.")
    commit_times = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="deploy"
    )
    caused_failure = serializers.BooleanField(required=False, help_text="deploy")
    is_rework = serializers.BooleanField(required=False, help_text="deploy")
    resolved_at = serializers.CharField(allow_null=True, required=False, help_text="incident")
    caused_by_deploy = serializers.CharField(allow_null=True, required=False, help_text="incident")
    closed_at = serializers.CharField(allow_null=True, required=False, help_text="ticket")
    waiting_on = serializers.CharField(allow_null=True, required=False, help_text="ticket")
    waiting_on_service = serializers.CharField(
        required=False, help_text="ticket: the service named instead of waiting_on, as kind:slug"
    )
    developers_waiting = serializers.IntegerField(required=False, help_text="ticket")
    capability = serializers.CharField(required=False, help_text="adoption")
    mandated = serializers.BooleanField(required=False, help_text="adoption")
    subject = serializers.CharField(required=False, help_text="first_deploy")
    joined_at = serializers.CharField(required=False, help_text="first_deploy")
    ingested_at = serializers.CharField(help_text="When the event was last created or changed.")

    def to_representation(self, instance: SignalEvent) -> dict[str, Any]:
        record = selectors.signal_event_record(instance)
        record["ingested_at"] = instance.ingested_at.isoformat()
        return record


class IngestResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    surveys_triggered = serializers.IntegerField(
        help_text="Event-triggered survey check-ins created for the new events."
    )


def _records_of(body: Any) -> tuple[list[Any], bool]:
    """The records of a request body and whether it was a batch; 400 for other shapes."""
    shape = 'Expected a JSON object: one signal event record, or {"records": [...]}.'
    if not isinstance(body, Mapping):
        raise ApplicationError(shape, extra={"fields": {"non_field_errors": [shape]}})
    if "records" not in body:
        return [body], False
    extra = sorted(f"{key!a}" for key in body if key != "records")
    if extra:
        message = f"A batch holds only 'records'; unexpected {', '.join(extra)}."
        raise ApplicationError(message, extra={"fields": {"non_field_errors": [message]}})
    records = body["records"]
    if not isinstance(records, list):
        message = "Expected a list of signal event records."
        raise ApplicationError(message, extra={"fields": {"records": [message]}})
    return records, True


class SignalEventListApi(APIView):
    """GET: the organisation's stored signal events; POST: ingest one record or a batch."""

    # Declared so that the schema shows the paginated shape and the filters.
    pagination_class = ApiPagination
    parser_classes = [SafeJSONParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = SignalEventFilter
    queryset = SignalEvent.objects.none()

    @extend_schema(
        operation_id="orgs_signal_events_list",
        summary="List signal events",
        parameters=[ORG_SLUG_PARAMETER],
        responses=SignalEventOutputSerializer(many=True),
        tags=["signals"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_oversight(
            user=request.user, org_slug=org_slug, action="read its signal events"
        )
        rows = filtered(
            SignalEventFilter,
            request=request,
            queryset=selectors.signal_event_list(organization=access.organization),
            organization=access.organization,
        )
        return paginated_response(
            request=request, view=self, queryset=rows, serializer_class=SignalEventOutputSerializer
        )

    @extend_schema(
        operation_id="orgs_signal_events_create",
        summary="Ingest signal events",
        parameters=[ORG_SLUG_PARAMETER],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: IngestResultSerializer, 201: IngestResultSerializer},
        description=(
            "Ingest one signal event record, or a batch as "
            f'{{"records": [...]}} (at most {services.MAX_RECORDS_PER_INGEST}). All or nothing: '
            "any invalid record stores nothing and the 400 lists every problem under "
            "extra.fields by path (records[2].occurred_at; a single record: occurred_at). "
            "Records are upserted by kind and id. 201 when an event was created, else 200. "
            "The format: docs/signal-events-format.md."
        ),
        examples=[
            OpenApiExample("One deploy", value=DEPLOY_EXAMPLE, request_only=True),
            OpenApiExample("A batch", value={"records": BATCH_EXAMPLE}, request_only=True),
        ],
        tags=["signals"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_management(
            user=request.user, org_slug=org_slug, action="ingest signal events"
        )
        records, batch = _records_of(request.data)
        try:
            result = services.signal_events_ingest(
                organization=access.organization,
                records=records,
                source="the API",
                at=timezone.now(),
            )
        except SignalEventsInvalid as exc:
            if batch:
                raise
            # One record: its fields are named as they are in the body.
            fields: dict[str, list[str]] = {}
            for problem in exc.problems:
                fields.setdefault(problem.field or "non_field_errors", []).append(problem.message)
            text = problems_text(exc.problems, lambda p: p.field or "(record)")
            raise ApplicationError(
                f"Nothing was stored: the signal event is invalid.\n{text}",
                extra={"fields": fields},
            ) from None
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(IngestResultSerializer(result.as_dict()).data, status=code)
