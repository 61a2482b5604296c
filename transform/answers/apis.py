"""REST API of answering check-ins, under /api/v1/ (reference: docs/responses.md).

- ``/checkin-links/<token>/``: read (GET) and answer (POST) a check-in through its signed link,
  without login: the link is the credential, so these views take no session (and need no CSRF
  token) and never answer with a survey's answers.
- ``/me/checkins/`` and ``/checkins/<id>/response/``: the caller's open check-ins and answering
  one of them while logged in (only its recipient's user; anyone else gets 404).

Every error body is ``{"message", "extra"}`` (core/api.py). Link errors carry
``extra.state``: ``invalid`` (404), ``expired``, ``answered`` or ``closed`` (410; a closed
check-in's ``extra.reason`` says why: its milestone was marked done, when and by whom). A
milestone status check-in offers only the answers its milestone's workflow allows now
(``transform.answers.selectors.milestone_status_options``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import (
    ApiPagination,
    paginated_response,
)
from core.parsers import SafeJSONParser
from transform.access import (
    CheckinClosed,
    checkin_get_by_link,
    checkin_get_for_user,
    checkin_open_check,
    checkin_open_list_for_user,
)
from transform.answers import selectors, services
from transform.answers.throttles import CheckinLinkThrottle
from transform.instruments.format import MILESTONE_STATUS_QUESTION
from transform.models import (
    ANONYMOUS_CHECKIN_KINDS,
    CheckIn,
    CheckInKind,
)
from transform.rhythm import links
from transform.rhythm.selectors import checkin_settings_get

TOKEN_PARAMETER = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="The token of a check-in link."
)
CHECKIN_ID_PARAMETER = OpenApiParameter(
    "checkin_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Check-in id."
)


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
        "instruments": serializers.ListField(
            child=serializers.DictField(),
            help_text="The instruments asked; a milestone status question lists only the "
            "answers the milestone's workflow allows now.",
        ),
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


def _instrument_offered(
    instrument: dict[str, Any], *, offered: tuple[str, ...] | None
) -> dict[str, Any]:
    """The instrument as JSON with its milestone status question limited to the ``offered``
    answers (``milestone_status_options``), exactly as the form shows it."""
    if offered is None:
        return instrument
    for question in instrument.get("questions", []):
        if question.get("key") == MILESTONE_STATUS_QUESTION and "options" in question:
            question["options"] = [o for o in question["options"] if o.get("value") in offered]
    return instrument


class CheckinLinkApi(APIView):
    """A check-in through its signed link, without login: GET reads it (never consumes the link),
    POST answers it (consumes the link)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [SafeJSONParser]
    throttle_classes = [CheckinLinkThrottle]

    @extend_schema(
        operation_id="checkin_links_retrieve",
        summary="Read a check-in through its signed link",
        parameters=[TOKEN_PARAMETER],
        responses={200: CHECKIN_LINK_OUTPUT, 410: None},
        tags=["check-ins"],
        auth=[],
    )
    def get(self, request: Request, token: str) -> Response:
        at = timezone.now()
        checkin = checkin_get_by_link(token=token)
        if checkin.closed_at is not None and checkin.answered_at is None:
            # Nothing more is needed: say why rather than showing questions nobody should answer.
            raise CheckinClosed(checkin.closed_reason)
        settings = checkin_settings_get(organization=checkin.organization)
        offered = selectors.milestone_status_options(checkin)
        return Response(
            {
                "kind": checkin.kind,
                "organization": checkin.organization.name,
                "subject": selectors.checkin_subject_title(checkin),
                "event": selectors.checkin_event_label(checkin),
                "recipient": {"first_name": selectors.recipient_first_name(checkin)},
                "anonymous": checkin.kind in ANONYMOUS_CHECKIN_KINDS,
                "min_group_size": settings.min_group_size,
                "min_free_text_group_size": settings.min_free_text_group_size,
                "instruments": [
                    _instrument_offered(spec.model_dump(mode="json"), offered=offered)
                    for spec in selectors.checkin_instruments(checkin=checkin)
                ],
                "expires_at": checkin.expires_at,
                "answered": checkin.answered_at is not None,
                "expired": checkin.expires_at <= at,
            }
        )

    @extend_schema(
        operation_id="checkin_links_answer",
        summary="Answer a check-in through its signed link",
        parameters=[TOKEN_PARAMETER],
        request=AnswerInputSerializer,
        responses={201: ANSWERED_OUTPUT, 410: None},
        tags=["check-ins"],
        auth=[],
    )
    def post(self, request: Request, token: str) -> Response:
        at = timezone.now()
        checkin = checkin_get_by_link(token=token, at=at)
        answers = _answers_from(request)
        services.checkin_answer(checkin=checkin, answers=answers, at=at)
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
        return selectors.checkin_subject_title(checkin)

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
        summary="List your open check-ins",
        responses=MyCheckinOutputSerializer(many=True),
        tags=["check-ins"],
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request,
            view=self,
            queryset=checkin_open_list_for_user(user=request.user, at=timezone.now()),
            serializer_class=MyCheckinOutputSerializer,
        )


class CheckinResponseApi(APIView):
    """Answer one of your own check-ins while logged in (its recipient's user only)."""

    parser_classes = [SafeJSONParser]

    @extend_schema(
        operation_id="checkins_response_create",
        summary="Answer one of your check-ins",
        parameters=[CHECKIN_ID_PARAMETER],
        request=AnswerInputSerializer,
        responses={201: ANSWERED_OUTPUT, 410: None},
        tags=["check-ins"],
    )
    def post(self, request: Request, checkin_id: int) -> Response:
        at = timezone.now()
        checkin = checkin_get_for_user(user=request.user, checkin_id=checkin_id)
        checkin_open_check(checkin=checkin, at=at)
        answers = _answers_from(request)
        services.checkin_answer(
            checkin=checkin,
            answers=answers,
            at=at,
            user=request.user,  # type: ignore[arg-type]  # authenticated: a User, not Anonymous
        )
        return Response(_answered_output(checkin), status=status.HTTP_201_CREATED)
