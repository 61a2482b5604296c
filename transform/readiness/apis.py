"""Readiness API under /api/v1/ (reference: docs/readiness.md, "Stored results and the API").

Admins, change agents and leaders read every team; engineering managers the teams they manage
and the organisation's figure; other roles get 403 (``transform.access.readiness_access_get``).
What these endpoints return is aggregated and has passed the anonymity rules
(``transform.readiness.anonymity``), decided on the whole organisation before any filter is
applied. Error bodies are ``{"message", "extra"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, ApiPagination, filtered, paginated_response
from core.errors import ApplicationError
from teams.models import HANDOVER_KINDS, Organization
from teams.selectors import team_predecessors
from transform.access import readiness_access_get
from transform.models import ReadinessSnapshot
from transform.readiness.filters import ReadinessHistoryFilter
from transform.readiness.selectors import (
    PERIOD_FORMAT_HELP,
    period_param_parse,
    readiness_comments_get,
    readiness_history,
    readiness_history_team,
    readiness_report_get,
)
from transform.rhythm.periods import Period
from transform.rhythm.selectors import checkin_settings_get

PERIOD_PARAMETER = OpenApiParameter(
    "period",
    OpenApiTypes.DATE,
    OpenApiParameter.QUERY,
    required=False,
    description=(f"The survey period: {PERIOD_FORMAT_HELP}. Default: the period containing today."),
)
TEAM_PARAMETER = OpenApiParameter(
    "team",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="Only this team (slug). An unknown slug is a 400.",
)


class ReadinessPeriodSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the survey period.")
    end = serializers.DateField(help_text="Day after the last day (the period is [start, end)).")


class ReadinessSignalSerializer(serializers.Serializer):
    value = serializers.FloatField()
    respondents = serializers.IntegerField(
        allow_null=True, help_text="People behind a survey-derived value; null when measured."
    )


class ReadinessComponentSerializer(serializers.Serializer):
    value = serializers.FloatField(help_text="Raw value on the component's own scale.")
    normalised = serializers.FloatField(help_text="0-1.")
    weight = serializers.FloatField(help_text="Effective weight after re-normalisation.")
    respondents = serializers.IntegerField(allow_null=True)


class _GroupReadinessFields(serializers.Serializer):
    period = ReadinessPeriodSerializer()
    respondents = serializers.IntegerField(
        allow_null=True, help_text="Survey answers in the period; null when suppressed."
    )
    suppressed = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True, help_text="0-100; null when suppressed.")
    trend = serializers.CharField(allow_null=True, help_text="up, down, flat or null.")
    delta = serializers.FloatField(allow_null=True)
    barrier = serializers.CharField(allow_null=True, help_text="ADKAR barrier element or null.")
    components = serializers.DictField(child=ReadinessComponentSerializer())
    signals = serializers.DictField(child=ReadinessSignalSerializer())


class TeamReadinessSerializer(_GroupReadinessFields):
    team = serializers.CharField(help_text="Team slug.")
    team_name = serializers.CharField()


class OrganizationReadinessSerializer(_GroupReadinessFields):
    organization = serializers.CharField(help_text="Organisation slug.")
    organization_name = serializers.CharField()


class OrgReadinessOutputSerializer(serializers.Serializer):
    organization = OrganizationReadinessSerializer()
    teams = TeamReadinessSerializer(many=True)
    period = ReadinessPeriodSerializer()
    min_group_size = serializers.IntegerField()


def _or_none(convert: Callable[[Any], Any], value: Any) -> Any:
    # DRF renders a None attribute as null without calling the field.
    return None if value is None else convert(value)


def _group_output(group: dict[str, Any], names: tuple[str, str]) -> dict[str, Any]:
    period = group["period"]
    output = {
        "period": {"start": _or_none(str, period["start"]), "end": _or_none(str, period["end"])},
        "respondents": _or_none(int, group["respondents"]),
        "suppressed": _or_none(bool, group["suppressed"]),
        "score": _or_none(float, group["score"]),
        "trend": _or_none(str, group["trend"]),
        "delta": _or_none(float, group["delta"]),
        "barrier": _or_none(str, group["barrier"]),
        "components": {
            str(name): {
                "value": _or_none(float, component["value"]),
                "normalised": _or_none(float, component["normalised"]),
                "weight": _or_none(float, component["weight"]),
                "respondents": _or_none(int, component["respondents"]),
            }
            for name, component in group["components"].items()
        },
        "signals": {
            str(kind): {
                "value": _or_none(float, signal["value"]),
                "respondents": _or_none(int, signal["respondents"]),
            }
            for kind, signal in group["signals"].items()
        },
    }
    for name in names:
        output[name] = _or_none(str, group[name])
    return output


def readiness_output(data: dict[str, Any]) -> dict[str, Any]:
    """``OrgReadinessOutputSerializer(data).data``, the documented response, built directly.

    Written by hand because it was measured to matter (issue 14): DRF's field-by-field rendering
    of 1,000 teams' 17,000 values was about 100 ms of a 250 ms request. The same conversions
    (floats, integers, text, null for a missing value) and the same key order;
    tests/transform/test_readiness_api.py compares the two outputs."""
    return {
        "organization": _group_output(data["organization"], ("organization", "organization_name")),
        "teams": [_group_output(team, ("team", "team_name")) for team in data["teams"]],
        "period": {
            "start": _or_none(str, data["period"]["start"]),
            "end": _or_none(str, data["period"]["end"]),
        },
        "min_group_size": _or_none(int, data["min_group_size"]),
    }


class ReadinessQuerySerializer(serializers.Serializer):
    # Parsed by hand (``period_param_parse``) so the 400 names the expected format.
    period = serializers.CharField(required=False, allow_blank=True, max_length=40)
    team = serializers.CharField(required=False, allow_blank=True, max_length=100)


def _period_and_team(
    request: Request, organization: Organization
) -> tuple[Period | None, str | None]:
    """The survey period (``?period=``; None: the one containing today) and the team slug
    (``?team=``) the caller asks for."""
    query = ReadinessQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    team = (query.validated_data.get("team") or "").strip() or None
    settings = checkin_settings_get(organization=organization)
    return period_param_parse(query.validated_data.get("period"), settings=settings), team


class OrgReadinessApi(APIView):
    """Readiness of the organisation and each team for one survey period."""

    @extend_schema(
        operation_id="orgs_readiness_retrieve",
        summary="Readiness of the organisation and its teams",
        parameters=[ORG_SLUG_PARAMETER, PERIOD_PARAMETER, TEAM_PARAMETER],
        responses={200: OrgReadinessOutputSerializer},
        tags=["readiness"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = readiness_access_get(user=request.user, org_slug=org_slug)
        organization = access.org.organization
        period, team = _period_and_team(request, organization)
        report = readiness_report_get(organization=organization, period=period, at=timezone.now())
        data = report.as_dict(team=team, team_slugs=access.team_slugs)
        if team is not None:
            access.team_read_check(team)
        return Response(readiness_output(data))


class ReadinessCommentSerializer(serializers.Serializer):
    instrument = serializers.CharField()
    question = serializers.CharField()
    text = serializers.CharField(help_text="The question as asked.")
    answers = serializers.ListField(child=serializers.CharField(), help_text="Sorted texts.")


class _GroupCommentsFields(serializers.Serializer):
    suppressed = serializers.BooleanField()
    comments = ReadinessCommentSerializer(
        many=True, required=False, help_text="Absent when suppressed."
    )


class TeamCommentsSerializer(_GroupCommentsFields):
    team = serializers.CharField()
    team_name = serializers.CharField()


class OrganizationCommentsSerializer(_GroupCommentsFields):
    organization = serializers.CharField()
    organization_name = serializers.CharField()


class OrgReadinessCommentsOutputSerializer(serializers.Serializer):
    organization = OrganizationCommentsSerializer()
    teams = TeamCommentsSerializer(many=True)
    period = ReadinessPeriodSerializer()
    min_free_text_group_size = serializers.IntegerField()


class OrgReadinessCommentsApi(APIView):
    """Free-text survey answers per group, without identity, above the free-text threshold."""

    @extend_schema(
        operation_id="orgs_readiness_comments_retrieve",
        summary="Free-text survey answers per group",
        parameters=[ORG_SLUG_PARAMETER, PERIOD_PARAMETER, TEAM_PARAMETER],
        responses={200: OrgReadinessCommentsOutputSerializer},
        tags=["readiness"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = readiness_access_get(user=request.user, org_slug=org_slug)
        organization = access.org.organization
        period, team = _period_and_team(request, organization)
        data = readiness_comments_get(organization=organization, period=period, at=timezone.now())
        if team is not None:
            rows = [row for row in data["teams"] if row["team"] == team]
            if not rows:
                message = f"No team with slug '{team}' in organisation '{org_slug}'."
                raise ApplicationError(message, extra={"fields": {"team": [message]}})
            access.team_read_check(team)
            data["teams"] = rows
        data["teams"] = [row for row in data["teams"] if access.may_read_team(row["team"])]
        return Response(data)


class ReadinessLineageSerializer(serializers.Serializer):
    successor = serializers.CharField(help_text="The team whose series this row belongs to.")
    kind = serializers.ChoiceField(choices=HANDOVER_KINDS)
    until = serializers.DateTimeField(help_text="When this team's work went to the successor.")


class ReadinessSnapshotOutputSerializer(serializers.ModelSerializer):
    team = serializers.SerializerMethodField(help_text="Team slug; null for the organisation.")
    team_name = serializers.SerializerMethodField()
    period = serializers.SerializerMethodField()
    respondents = serializers.SerializerMethodField(help_text="Null when suppressed.")
    trend = serializers.SerializerMethodField(help_text="up, down, flat or null.")
    barrier = serializers.SerializerMethodField(help_text="ADKAR barrier element or null.")
    lineage = serializers.SerializerMethodField(
        help_text="With ?team=, a predecessor's row (a team merged or split into that team, "
        "before it did): which team's series it belongs to and until when; null otherwise."
    )

    class Meta:
        model = ReadinessSnapshot
        fields = [
            "team",
            "team_name",
            "lineage",
            "period",
            "respondents",
            "suppressed",
            "score",
            "trend",
            "delta",
            "barrier",
            "computed_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_team(self, row: ReadinessSnapshot) -> str | None:
        return row.team.slug if row.team is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_team_name(self, row: ReadinessSnapshot) -> str | None:
        return row.team.name if row.team is not None else None

    @extend_schema_field(ReadinessPeriodSerializer)
    def get_period(self, row: ReadinessSnapshot) -> dict[str, str]:
        return {"start": row.period_start.isoformat(), "end": row.period_end.isoformat()}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_respondents(self, row: ReadinessSnapshot) -> int | None:
        return None if row.suppressed else row.respondents

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_trend(self, row: ReadinessSnapshot) -> str | None:
        return row.trend or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_barrier(self, row: ReadinessSnapshot) -> str | None:
        return row.barrier or None

    @extend_schema_field(ReadinessLineageSerializer(allow_null=True))
    def get_lineage(self, row: ReadinessSnapshot) -> dict[str, Any] | None:
        lineage: dict[int, dict[str, Any]] = self.context.get("lineage", {})
        return lineage.get(row.team_id) if row.team_id is not None else None


class OrgReadinessHistoryApi(APIView):
    """Stored nightly snapshots, newest period first: the leadership heat map's data."""

    # Declared so that the schema shows the paginated shape and the filters.
    pagination_class = ApiPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReadinessHistoryFilter
    queryset = ReadinessSnapshot.objects.none()

    @extend_schema(
        operation_id="orgs_readiness_history_list",
        summary="Stored readiness snapshots",
        parameters=[ORG_SLUG_PARAMETER],
        responses=ReadinessSnapshotOutputSerializer(many=True),
        tags=["readiness"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = readiness_access_get(user=request.user, org_slug=org_slug)
        organization = access.org.organization
        # A team's series includes its predecessors' rows: whoever may read the team reads them.
        team = readiness_history_team(
            organization=organization, slug=request.query_params.get("team")
        )
        predecessors = team_predecessors(team=team) if team is not None else []
        if team is not None:
            access.team_read_check(team.slug)
        rows = filtered(
            ReadinessHistoryFilter,
            request=request,
            queryset=readiness_history(
                organization=organization,
                team_slugs=access.team_slugs if team is None else None,
            ),
            organization=organization,
            series=(team, predecessors) if team is not None else None,
        )
        lineage = {
            predecessor.team.pk: {
                "successor": team.slug,
                "kind": predecessor.kind,
                "until": predecessor.until,
            }
            for predecessor in predecessors
            if team is not None
        }
        return paginated_response(
            request=request,
            view=self,
            queryset=rows,
            serializer_class=ReadinessSnapshotOutputSerializer,
            context={"lineage": lineage},
        )
