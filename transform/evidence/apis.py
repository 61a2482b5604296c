"""REST API of ingested signal events, under /api/v1/ (docs/signals.md, "Ingesting events").

``POST /api/v1/orgs/{slug}/signal-events/`` ingests one record or ``{"records": [...]}`` (admins
and change agents); ``GET`` lists the stored events (admins, change agents and leaders).
``GET /api/v1/orgs/{slug}/dora/`` reads the DORA figures per team or per unit over a window
(docs/signals.md, "Per team and per unit"). Same
shape as transform/plans/apis.py: every error body is ``{"message", "extra"}``, field errors under
``extra.fields`` keyed by the record's path (``records[2].occurred_at``); views resolve access
(404 without a role in the organisation), check the role (403), validate and call the service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, ApiPagination, filtered, paginated_response, validated
from core.errors import ApplicationError, PermissionDeniedError
from core.parsers import SafeJSONParser
from transform.access import (
    org_get_for_management,
    org_get_for_oversight,
    readiness_access_get,
)
from transform.evidence import selectors, services
from transform.evidence.filters import SignalEventFilter, aware_moment_parse
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


# --- DORA per team and per unit -----------------------------------------------------------------

DORA_DEFAULT_WINDOW: Final = dt.timedelta(days=28)
# A window of more than a year and a day is refused: the bands judge up to half-years, and a
# longer one would read every event of the organisation in one request.
DORA_MAX_WINDOW: Final = dt.timedelta(days=366)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareMomentSerializerField(serializers.Field):
    """``transform.evidence.filters.aware_moment_parse`` as a serializer field."""

    def to_internal_value(self, data: Any) -> dt.datetime:
        try:
            return aware_moment_parse(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class DoraQuerySerializer(serializers.Serializer):
    start = AwareMomentSerializerField(
        required=False,
        help_text=f"Window start (inclusive). {MOMENT_HELP} Default: 28 days before end.",
    )
    end = AwareMomentSerializerField(
        required=False, help_text=f"Window end (exclusive). {MOMENT_HELP} Default: now."
    )
    by = serializers.ChoiceField(
        choices=[("team", "team"), ("unit", "unit")],
        default="team",
        help_text="team: one row per live team; unit: one row per unit, over the union of the "
        "events of its teams and its sub-units' teams.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end") or timezone.now()
        start = attrs.get("start") or end - DORA_DEFAULT_WINDOW
        if end <= start:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        if end - start > DORA_MAX_WINDOW:
            raise serializers.ValidationError(
                {"start": [f"The window is at most {DORA_MAX_WINDOW.days} days."]}
            )
        return {**attrs, "start": start, "end": end}


class DoraFiguresSerializer(serializers.Serializer):
    """The DORA figures of a team or unit; a figure without data is null, never a made-up 0."""

    deployment_frequency = serializers.FloatField(
        allow_null=True,
        help_text="Deploys per day. 0 only when the team's deploys are tracked (it has deployed "
        "before); null without any.",
    )
    deployment_frequency_band = serializers.ChoiceField(
        choices=[(b, b) for b in ("on_demand", "daily", "weekly", "monthly", "fewer")],
        allow_null=True,
        help_text="DORA band, judged on how many days, weeks and months have deploys.",
    )
    lead_time_for_changes = serializers.FloatField(
        allow_null=True,
        help_text="Median hours from commit to deploy, without the changes under the "
        "organisation's lead_time_min_change_minutes.",
    )
    change_failure_rate = serializers.FloatField(
        allow_null=True, help_text="Share of the window's deploys that caused a failure, 0..1."
    )
    failed_deployment_recovery_time = serializers.FloatField(
        allow_null=True,
        help_text="Time to restore: median hours from a deploy-caused incident's start to its "
        "resolution.",
    )
    deploy_count = serializers.IntegerField()
    change_count = serializers.IntegerField(help_text="Changes in the lead time.")
    short_change_count = serializers.IntegerField(
        help_text="Changes left out of the lead time by the cut-off."
    )
    failed_deploy_count = serializers.IntegerField()
    recovered_failure_count = serializers.IntegerField()


class DoraRowSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField(
        allow_null=True, help_text="A team's unit; a unit's parent unit. Null: none."
    )
    teams = serializers.ListField(
        child=serializers.CharField(),
        help_text="The team slugs whose events count: the team itself; a unit's teams and its "
        "sub-units' teams.",
    )
    figures = DoraFiguresSerializer()


class DoraOutputSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    by = serializers.ChoiceField(choices=[("team", "team"), ("unit", "unit")])
    lead_time_min_change_minutes = serializers.IntegerField(
        help_text="The organisation's lead-time cut-off (check-in settings): 0 dora.dev, 1 Four "
        "Keys."
    )
    results = DoraRowSerializer(many=True)


def _dora_row(group: selectors.DoraGroup) -> dict[str, Any]:
    dora = group.dora
    figures: dict[str, Any] = {
        "deployment_frequency": None,
        "deployment_frequency_band": None,
        "lead_time_for_changes": None,
        "change_failure_rate": None,
        "failed_deployment_recovery_time": None,
        "deploy_count": 0,
        "change_count": 0,
        "short_change_count": 0,
        "failed_deploy_count": 0,
        "recovered_failure_count": 0,
    }
    if dora is not None:
        figures = {name: getattr(dora, name) for name in figures}
    return {
        "slug": group.slug,
        "name": group.name,
        "unit": group.unit,
        "teams": list(group.teams),
        "figures": figures,
    }


class OrgDoraApi(APIView):
    """GET: the DORA figures per team or per unit over a window."""

    @extend_schema(
        operation_id="orgs_dora_retrieve",
        summary="DORA figures per team or per unit",
        parameters=[ORG_SLUG_PARAMETER, DoraQuerySerializer],
        responses=DoraOutputSerializer,
        description=(
            "Deployment frequency and its band, lead time for changes, change failure rate and "
            "time to restore over [start, end), per live team (by=team) or per unit (by=unit, "
            "computed over the union of the events of the unit's teams and its sub-units' "
            "teams, not an average of team figures). Admins, change agents and leaders read "
            "every team and unit; engineering managers read the teams they manage (by=team "
            "lists only those; by=unit is 403). A fixed number of queries whatever the number "
            "of teams. docs/signals.md, 'Per team and per unit'."
        ),
        tags=["signals"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = readiness_access_get(user=request.user, org_slug=org_slug)
        query = validated(DoraQuerySerializer, request.query_params)
        if query["by"] == "unit" and access.team_slugs is not None:
            raise PermissionDeniedError(
                "Unit figures include teams you do not manage: only admins, change agents and "
                f"leaders of '{access.org.organization.slug}' read them."
            )
        breakdown = selectors.dora_by_team_and_unit(
            organization=access.org.organization, start=query["start"], end=query["end"]
        )
        if query["by"] == "unit":
            groups = breakdown.units
        else:
            groups = [g for g in breakdown.teams if access.may_read_team(g.slug)]
        data = {
            "start": breakdown.start,
            "end": breakdown.end,
            "by": query["by"],
            "lead_time_min_change_minutes": int(breakdown.min_change_age.total_seconds() // 60),
            "results": [_dora_row(group) for group in groups],
        }
        return Response(DoraOutputSerializer(data).data)
