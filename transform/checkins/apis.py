"""REST API of the check-in rhythm, under /api/v1/ (docs/checkins.md).

- ``GET /api/v1/orgs/<slug>/topology-verification/``: every team with its latest topology
  verification, whether its record is stale and whether a verification check-in is open. Any
  role in the organisation may read it (404 otherwise, as everywhere).
- ``/orgs/<slug>/checkin-settings/``: the organisation's rhythm (read: admins, change agents,
  leaders; change: admins).

Same shape as transform/plans/apis.py: error bodies are ``{"message", "extra"}``, lists are
paginated.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.validators import URLValidator
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, ApiPagination, paginated_response
from core.parsers import SafeJSONParser
from teams.apis import PersonBriefSerializer
from teams.models import Team
from transform.access import org_access_get, org_get_for_admin, org_get_for_oversight
from transform.checkins import services
from transform.checkins.selectors import team_verification_list
from transform.models.rhythm import MAX_LEAD_TIME_MIN_CHANGE_MINUTES, Channel, CheckinSettings
from transform.rhythm.selectors import checkin_settings_get

STALE_PARAMETER = OpenApiParameter(
    "stale",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="true: only the stale teams; false: only the teams confirmed recently.",
)


class TeamVerificationBriefSerializer(serializers.Serializer):
    verified_at = serializers.DateTimeField()
    confirmed = serializers.BooleanField(
        help_text="true: the manager confirmed the record; false: they described corrections."
    )
    corrections = serializers.CharField(allow_blank=True)
    verified_by = PersonBriefSerializer()


class TeamVerificationOutputSerializer(serializers.Serializer):
    team = serializers.SerializerMethodField()
    manager = PersonBriefSerializer(allow_null=True, read_only=True)
    last_verification = serializers.SerializerMethodField(
        help_text="The latest verification of the team's topology; null when never verified."
    )
    last_confirmed_at = serializers.DateTimeField(
        allow_null=True, read_only=True, help_text="When the record was last confirmed."
    )
    stale = serializers.BooleanField(
        read_only=True,
        help_text="No confirmation within the organisation's topology_verify_every_days.",
    )
    pending_checkin = serializers.BooleanField(
        read_only=True, help_text="A verification check-in has been sent and is still open."
    )

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "slug": {"type": "string"},
                "name": {"type": "string"},
                "type": {"type": "string"},
            },
        }
    )
    def get_team(self, team: Team) -> dict[str, Any]:
        return {"id": team.pk, "slug": team.slug, "name": team.name, "type": team.type}

    @extend_schema_field(TeamVerificationBriefSerializer(allow_null=True))
    def get_last_verification(self, team: Any) -> dict[str, Any] | None:
        if team.last_verified_at is None:
            return None
        return {
            "verified_at": team.last_verified_at.isoformat(),
            "confirmed": team.last_confirmed,
            "corrections": team.last_corrections,
            "verified_by": {
                "id": team.last_verified_by_id,
                "email": team.last_verified_by_email,
                "name": team.last_verified_by_name,
            },
        }


class TeamVerificationFilterSerializer(serializers.Serializer):
    stale = serializers.BooleanField(required=False, allow_null=True, default=None)


class TeamVerificationListApi(APIView):
    """GET: the organisation's teams and how current their recorded topology is."""

    # Declared so that the schema shows the paginated shape.
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="orgs_topology_verification_list",
        summary="How current each team's topology is",
        parameters=[ORG_SLUG_PARAMETER, STALE_PARAMETER],
        responses=TeamVerificationOutputSerializer(many=True),
        tags=["check-ins"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        filters = TeamVerificationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        teams = team_verification_list(
            organization=access.organization,
            at=timezone.now(),
            stale=filters.validated_data.get("stale"),
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=teams,
            serializer_class=TeamVerificationOutputSerializer,
        )


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError("Expected a finite number.")


# What a stored secret setting (the Slack bot token) reads as.
SECRET_MASK = "********"


class CheckinSettingsInputSerializer(serializers.Serializer):
    """Every field optional (PATCH); unknown fields are refused."""

    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    webhook_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Slack-compatible incoming webhook URL; required when channel is webhook.",
    )
    slack_bot_token = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        write_only=True,
        help_text=(
            "Slack bot token (xoxb-...); required when channel is slack. Write-only: reads show "
            "it masked."
        ),
    )
    slack_alert_channel = serializers.RegexField(
        r"^[A-Z0-9]*$",
        required=False,
        allow_blank=True,
        max_length=80,
        help_text="Slack channel id (C0123ABCD) for alerts and digests; never check-in links.",
    )
    msteams_webhook_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        validators=[URLValidator(schemes=["https", "http"])],
        help_text="Microsoft Teams incoming webhook URL; required when channel is msteams.",
    )
    survey_every_days = serializers.IntegerField(required=False, min_value=1, max_value=366)
    pulse_instruments = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        min_length=1,
        max_length=20,
        help_text="Survey instrument keys asked in every pulse survey (latest version each).",
    )
    event_surveys = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        max_length=50,
        help_text='[{"event": "first_deploy", "instrument": "platform-satisfaction"}, ...]',
    )
    topology_verify_every_days = serializers.IntegerField(
        required=False, min_value=1, max_value=3650
    )
    link_valid_days = serializers.IntegerField(required=False, min_value=1, max_value=90)
    reminder_after_days = serializers.IntegerField(required=False, min_value=1, max_value=90)
    max_reminders = serializers.IntegerField(required=False, min_value=0, max_value=10)
    escalate_blocked_after_days = serializers.IntegerField(
        required=False, min_value=1, max_value=365
    )
    readiness_drop_alert = serializers.FloatField(
        required=False, min_value=0, max_value=100, validators=[_finite]
    )
    digest_weekday = serializers.IntegerField(
        required=False, min_value=0, max_value=6, help_text="0 = Monday ... 6 = Sunday."
    )
    min_group_size = serializers.IntegerField(required=False, min_value=3, max_value=1000)
    min_free_text_group_size = serializers.IntegerField(
        required=False, min_value=3, max_value=10000
    )
    lead_time_min_change_minutes = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_LEAD_TIME_MIN_CHANGE_MINUTES,
        help_text=(
            "Lead time for changes leaves out changes that took fewer minutes from commit to "
            "deploy: 0 counts every change (dora.dev, the default), 1 leaves out those under a "
            "minute (Four Keys)."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [f"Unknown setting; expected one of {', '.join(self.fields)}."]
                    for name in unknown
                }
            )
        return attrs


class CheckinSettingsOutputSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug", read_only=True)
    stored = serializers.SerializerMethodField(
        help_text="False while the organisation runs on the defaults (no row yet)."
    )
    webhook_url = serializers.SerializerMethodField(
        help_text="Shown in full to admins only; others see its scheme and host."
    )
    slack_bot_token = serializers.SerializerMethodField(
        help_text="Never shown back: a mask when a token is stored, empty otherwise."
    )
    msteams_webhook_url = serializers.SerializerMethodField(
        help_text="Shown in full to admins only; others see its scheme and host."
    )
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null while the organisation runs on defaults."
    )

    class Meta:
        model = CheckinSettings
        fields = ["organization", "stored", *services.SETTINGS_FIELDS, "updated_at"]

    def get_stored(self, row: CheckinSettings) -> bool:
        return row.pk is not None

    def get_webhook_url(self, row: CheckinSettings) -> str:
        # The URL is a credential: whoever has it can post to the channel.
        return self._url_for_reader(row.webhook_url)

    def get_msteams_webhook_url(self, row: CheckinSettings) -> str:
        return self._url_for_reader(row.msteams_webhook_url)

    def get_slack_bot_token(self, row: CheckinSettings) -> str:
        # Not even admins read it back: whoever has it can read the workspace's members.
        return SECRET_MASK if row.slack_bot_token else ""

    def _url_for_reader(self, url: str) -> str:
        if not url or self.context.get("is_admin"):
            return url
        scheme, _sep, rest = url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…"


class CheckinSettingsApi(APIView):
    """The organisation's check-in rhythm: cadences, channel, reminders, thresholds."""

    parser_classes = [SafeJSONParser]

    @extend_schema(
        operation_id="orgs_checkin_settings_retrieve",
        summary="Get the check-in rhythm",
        parameters=[ORG_SLUG_PARAMETER],
        responses=CheckinSettingsOutputSerializer,
        tags=["check-ins"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_oversight(
            user=request.user, org_slug=org_slug, action="read its check-in settings"
        )
        row = checkin_settings_get(organization=access.organization)
        return Response(
            CheckinSettingsOutputSerializer(row, context={"is_admin": access.is_admin}).data
        )

    @extend_schema(
        operation_id="orgs_checkin_settings_partial_update",
        summary="Change the check-in rhythm",
        parameters=[ORG_SLUG_PARAMETER],
        request=CheckinSettingsInputSerializer,
        responses=CheckinSettingsOutputSerializer,
        tags=["check-ins"],
    )
    def patch(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_admin(
            user=request.user, org_slug=org_slug, action="change the check-in settings"
        )
        payload = CheckinSettingsInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row = services.checkin_settings_update(
            organization=access.organization, changes=dict(payload.validated_data)
        )
        return Response(CheckinSettingsOutputSerializer(row, context={"is_admin": True}).data)
