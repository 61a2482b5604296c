"""REST API of check-ins, under /api/v1/ (reference: docs/responses.md).

- ``/checkin-links/<token>/``: read (GET) and answer (POST) a check-in through its signed link,
  without login: the link is the credential, so these views take no session (and need no CSRF
  token) and never answer with a survey's answers.
- ``/me/checkins/`` and ``/checkins/<id>/response/``: the caller's open check-ins and answering
  one of them while logged in (only its recipient's user; anyone else gets 404).
- ``/orgs/<slug>/checkin-settings/``: the organisation's rhythm (read: admins, change agents,
  leaders; change: admins).
- ``/orgs/<slug>/instruments/``: the built-in and the organisation's own instruments; upload one.

Every error body is ``{"message", "extra"}`` (transform/errors.py). Link errors carry
``extra.state``: ``invalid`` (404), ``expired`` or ``answered`` (410).
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from teams.apis import ORG_SLUG_PARAMETER, ApiPagination, paginated_response
from teams.models import Role
from teams.selectors import (
    OrgAccess,
    org_access_get,
    org_admin_access_check,
    org_manage_access_check,
)
from transform import links, responses
from transform.errors import ApplicationError
from transform.instrument_store import instrument_list, instrument_upload
from transform.models import (
    ANONYMOUS_CHECKIN_KINDS,
    Channel,
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Instrument,
)
from transform.parsers import SafeJSONParser
from transform.rhythm import checkin_settings_get

TOKEN_PARAMETER = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="The token of a check-in link."
)
CHECKIN_ID_PARAMETER = OpenApiParameter(
    "checkin_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Check-in id."
)
SETTINGS_READER_ROLES = frozenset({Role.ADMIN, Role.CHANGE_AGENT, Role.LEADER})
MAX_UPLOAD_BYTES = 1_000_000
JSON_SOURCE_NAME = "source"


# --- answering ----------------------------------------------------------------------------------


class AnswerInputSerializer(serializers.Serializer):
    answers = serializers.DictField(
        help_text='{"<instrument key>": {"<question key>": value}} for every instrument asked.'
    )


ANSWERED_OUTPUT = inline_serializer(
    "CheckinAnsweredOutput",
    fields={
        "status": serializers.CharField(help_text='Always "answered".'),
        "milestone": inline_serializer(
            "CheckinAnsweredMilestone",
            fields={
                "id": serializers.IntegerField(),
                "key": serializers.CharField(),
                "status": serializers.CharField(),
            },
            required=False,
            help_text="For milestone status check-ins: the milestone after the answer.",
        ),
    },
)

CHECKIN_LINK_OUTPUT = inline_serializer(
    "CheckinLinkOutput",
    fields={
        "kind": serializers.CharField(),
        "organization": serializers.CharField(),
        "subject": serializers.CharField(help_text="The milestone title or the team name."),
        "event": serializers.CharField(allow_null=True),
        "recipient": inline_serializer(
            "CheckinLinkRecipient", fields={"first_name": serializers.CharField()}
        ),
        "anonymous": serializers.BooleanField(),
        "min_group_size": serializers.IntegerField(),
        "min_free_text_group_size": serializers.IntegerField(),
        "instruments": serializers.ListField(child=serializers.DictField()),
        "expires_at": serializers.DateTimeField(),
        "answered": serializers.BooleanField(),
        "expired": serializers.BooleanField(),
    },
)


def _answers_from(request: Request) -> Any:
    try:
        data = request.data
    except RequestDataTooBig:
        # Answers are small; say so in the API's error shape rather than Django's HTML page.
        raise ParseError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        ) from None
    payload = AnswerInputSerializer(data=data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data["answers"]


def _answered_output(checkin: CheckIn) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "answered"}
    if checkin.kind == CheckInKind.MILESTONE_STATUS and checkin.milestone is not None:
        milestone = checkin.milestone
        out["milestone"] = {"id": milestone.pk, "key": milestone.key, "status": milestone.status}
    return out


class CheckinLinkApi(APIView):
    """A check-in through its signed link, without login: GET reads it (never consumes the link),
    POST answers it (consumes the link)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [SafeJSONParser]

    @extend_schema(
        operation_id="checkin_links_retrieve",
        parameters=[TOKEN_PARAMETER],
        responses={200: CHECKIN_LINK_OUTPUT},
        tags=["check-ins"],
        auth=[],
    )
    def get(self, request: Request, token: str) -> Response:
        at = timezone.now()
        checkin = responses.checkin_from_token(token=token)
        settings = checkin_settings_get(organization=checkin.organization)
        return Response(
            {
                "kind": checkin.kind,
                "organization": checkin.organization.name,
                "subject": responses.checkin_subject_title(checkin),
                "event": responses.checkin_event_label(checkin),
                "recipient": {"first_name": responses.recipient_first_name(checkin)},
                "anonymous": checkin.kind in ANONYMOUS_CHECKIN_KINDS,
                "min_group_size": settings.min_group_size,
                "min_free_text_group_size": settings.min_free_text_group_size,
                "instruments": [
                    spec.model_dump(mode="json")
                    for spec in responses.checkin_instruments(checkin=checkin)
                ],
                "expires_at": checkin.expires_at,
                "answered": checkin.answered_at is not None,
                "expired": checkin.expires_at <= at,
            }
        )

    @extend_schema(
        operation_id="checkin_links_answer",
        parameters=[TOKEN_PARAMETER],
        request=AnswerInputSerializer,
        responses={201: ANSWERED_OUTPUT},
        tags=["check-ins"],
        auth=[],
    )
    def post(self, request: Request, token: str) -> Response:
        at = timezone.now()
        checkin = responses.checkin_by_token(token=token, at=at)
        answers = _answers_from(request)
        responses.checkin_answer(checkin=checkin, answers=answers, at=at)
        return Response(_answered_output(checkin), status=status.HTTP_201_CREATED)


class MyCheckinOutputSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug", read_only=True)
    subject = serializers.SerializerMethodField(help_text="The milestone title or the team name.")
    milestone = serializers.IntegerField(source="milestone_id", read_only=True, allow_null=True)
    team = serializers.SerializerMethodField(help_text="The team's slug, if any.")
    url = serializers.SerializerMethodField(help_text="The response form (signed link).")
    token = serializers.SerializerMethodField(help_text="For /api/v1/checkin-links/<token>/.")

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "kind",
            "organization",
            "subject",
            "milestone",
            "team",
            "period",
            "period_start",
            "instruments",
            "created_at",
            "expires_at",
            "url",
            "token",
        ]

    def get_subject(self, checkin: CheckIn) -> str:
        return responses.checkin_subject_title(checkin)

    def get_team(self, checkin: CheckIn) -> str | None:
        return checkin.team.slug if checkin.team is not None else None

    def get_url(self, checkin: CheckIn) -> str:
        return links.checkin_url(checkin)

    def get_token(self, checkin: CheckIn) -> str:
        return links.checkin_token(checkin)


class MyCheckinListApi(APIView):
    """The caller's open check-ins (they are the recipient; not answered, not expired)."""

    pagination_class = ApiPagination

    @extend_schema(
        operation_id="me_checkins_list",
        responses=MyCheckinOutputSerializer(many=True),
        tags=["check-ins"],
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request,
            view=self,
            queryset=responses.checkin_open_list_for_user(user=request.user, at=timezone.now()),
            serializer_class=MyCheckinOutputSerializer,
        )


class CheckinResponseApi(APIView):
    """Answer one of your own check-ins while logged in (its recipient's user only)."""

    parser_classes = [SafeJSONParser]

    @extend_schema(
        operation_id="checkins_response_create",
        parameters=[CHECKIN_ID_PARAMETER],
        request=AnswerInputSerializer,
        responses={201: ANSWERED_OUTPUT},
        tags=["check-ins"],
    )
    def post(self, request: Request, checkin_id: str) -> Response:
        at = timezone.now()
        checkin = responses.checkin_get_for_user(user=request.user, checkin_id=checkin_id)
        responses.checkin_open_check(checkin=checkin, at=at)
        answers = _answers_from(request)
        responses.checkin_answer(
            checkin=checkin,
            answers=answers,
            at=at,
            user=request.user,  # type: ignore[arg-type]  # authenticated: a User, not Anonymous
        )
        return Response(_answered_output(checkin), status=status.HTTP_201_CREATED)


# --- settings ------------------------------------------------------------------------------------


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError("Expected a finite number.")


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

    class Meta:
        model = CheckinSettings
        fields = ["organization", "stored", *responses.SETTINGS_FIELDS, "updated_at"]

    def get_stored(self, row: CheckinSettings) -> bool:
        return row.pk is not None

    def get_webhook_url(self, row: CheckinSettings) -> str:
        # The URL is a credential: whoever has it can post to the channel.
        if not row.webhook_url or self.context.get("is_admin"):
            return row.webhook_url
        scheme, _sep, rest = row.webhook_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…"


def _settings_read_check(access: OrgAccess) -> None:
    if not access.roles & SETTINGS_READER_ROLES:
        raise PermissionDenied(
            f"Only admins, change agents and leaders of '{access.organization.slug}' may read "
            "its check-in settings."
        )


class CheckinSettingsApi(APIView):
    """The organisation's check-in rhythm: cadences, channel, reminders, thresholds."""

    parser_classes = [SafeJSONParser]

    @extend_schema(
        operation_id="orgs_checkin_settings_retrieve",
        parameters=[ORG_SLUG_PARAMETER],
        responses=CheckinSettingsOutputSerializer,
        tags=["check-ins"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        _settings_read_check(access)
        row = checkin_settings_get(organization=access.organization)
        return Response(
            CheckinSettingsOutputSerializer(row, context={"is_admin": access.is_admin}).data
        )

    @extend_schema(
        operation_id="orgs_checkin_settings_partial_update",
        parameters=[ORG_SLUG_PARAMETER],
        request=CheckinSettingsInputSerializer,
        responses=CheckinSettingsOutputSerializer,
        tags=["check-ins"],
    )
    def patch(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        org_admin_access_check(access=access, action="change the check-in settings")
        payload = CheckinSettingsInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row = responses.checkin_settings_update(
            organization=access.organization, changes=dict(payload.validated_data)
        )
        return Response(CheckinSettingsOutputSerializer(row, context={"is_admin": True}).data)


# --- instruments ---------------------------------------------------------------------------------


class InstrumentOutputSerializer(serializers.ModelSerializer):
    builtin = serializers.SerializerMethodField()

    class Meta:
        model = Instrument
        fields = ["key", "version", "title", "kind", "builtin", "created_at"]

    def get_builtin(self, row: Instrument) -> bool:
        return row.organization_id is None


class InstrumentDetailOutputSerializer(InstrumentOutputSerializer):
    class Meta(InstrumentOutputSerializer.Meta):
        fields = [*InstrumentOutputSerializer.Meta.fields, "source"]


class InstrumentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The instrument YAML file (multipart).")
    # The contract names the JSON field "source", which shadows Field.source in the stubs; DRF's
    # serializer metaclass moves declared fields out of the class, so nothing is shadowed at runtime.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False,
        trim_whitespace=False,
        max_length=MAX_UPLOAD_BYTES,
        help_text="The instrument YAML as text (JSON body).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("source" in attrs):
            raise serializers.ValidationError(
                "Send the instrument either as a multipart file field 'file' or as 'source' text."
            )
        return attrs


def _uploaded_text(upload: UploadedFile) -> tuple[str, str]:
    name = upload.name or "upload"
    if (upload.size or 0) > MAX_UPLOAD_BYTES:
        message = f"{name}: the file is larger than {MAX_UPLOAD_BYTES} bytes."
        raise ApplicationError(message, extra={"fields": {"file": [message]}})
    try:
        return name, upload.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})."
        raise ApplicationError(message, extra={"fields": {"file": [message]}}) from None


class OrgInstrumentListApi(APIView):
    """The built-in instruments and the organisation's own (GET); upload one (POST)."""

    parser_classes = [SafeJSONParser, MultiPartParser]
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="orgs_instruments_list",
        parameters=[ORG_SLUG_PARAMETER],
        responses=InstrumentOutputSerializer(many=True),
        tags=["check-ins"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        return paginated_response(
            request=request,
            view=self,
            queryset=instrument_list(organization=access.organization),
            serializer_class=InstrumentOutputSerializer,
        )

    @extend_schema(
        operation_id="orgs_instruments_create",
        description=(
            "Upload an instrument (multipart field `file` or JSON `source`); admins and change "
            "agents. 201 when stored, 200 when the same definition was already stored, 400 "
            "naming file, line and field when invalid, 409 when key@version is taken."
        ),
        parameters=[ORG_SLUG_PARAMETER],
        request={
            "multipart/form-data": InstrumentUploadInputSerializer,
            "application/json": InstrumentUploadInputSerializer,
        },
        responses={201: InstrumentDetailOutputSerializer, 200: InstrumentDetailOutputSerializer},
        tags=["check-ins"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        org_manage_access_check(access=access, action="add instruments")
        payload = InstrumentUploadInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if "file" in payload.validated_data:
            name, text = _uploaded_text(payload.validated_data["file"])
        else:
            name, text = JSON_SOURCE_NAME, payload.validated_data["source"]
        row, created = instrument_upload(organization=access.organization, path=name, text=text)
        return Response(
            InstrumentDetailOutputSerializer(row).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


urlpatterns = [
    path("checkin-links/<str:token>/", CheckinLinkApi.as_view(), name="checkin-link"),
    path("me/checkins/", MyCheckinListApi.as_view(), name="me-checkins"),
    path(
        "checkins/<str:checkin_id>/response/",
        CheckinResponseApi.as_view(),
        name="checkin-response",
    ),
    path(
        "orgs/<slug:org_slug>/checkin-settings/",
        CheckinSettingsApi.as_view(),
        name="org-checkin-settings",
    ),
    path(
        "orgs/<slug:org_slug>/instruments/",
        OrgInstrumentListApi.as_view(),
        name="org-instruments",
    ),
]
