"""REST API of survey instruments, under /api/v1/orgs/{slug}/instruments/ (docs/instruments.md):
the built-in ones and the organisation's own; admins and change agents upload."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import (
    MAX_UPLOAD_BYTES,
    ORG_SLUG_PARAMETER,
    ApiPagination,
    paginated_response,
    uploaded_text,
)
from core.parsers import SafeJSONParser
from transform.access import (
    org_access_get,
    org_get_for_management,
)
from transform.instruments.selectors import instrument_list
from transform.instruments.services import instrument_upload
from transform.models import (
    Instrument,
)

JSON_SOURCE_NAME = "source"


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


class OrgInstrumentListApi(APIView):
    """The built-in instruments and the organisation's own (GET); upload one (POST)."""

    parser_classes = [SafeJSONParser, MultiPartParser]
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="orgs_instruments_list",
        summary="List instruments",
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
        summary="Upload an instrument",
        description=(
            "Upload an instrument (multipart field `file` or JSON `source`); admins and change "
            "agents. 201 when stored, 200 when the same definition was already stored, 400 "
            "naming file, line and field when invalid, 409 when key@version is taken."
        ),
        parameters=[ORG_SLUG_PARAMETER],
        # Each body has its one field: a file in multipart, the text in JSON.
        request={
            "multipart/form-data": inline_serializer(
                "InstrumentFileUpload",
                fields={"file": serializers.FileField(help_text="The instrument YAML file.")},
            ),
            "application/json": inline_serializer(
                "InstrumentSourceUpload",
                fields={
                    "source": serializers.CharField(
                        trim_whitespace=False, help_text="The instrument YAML as text."
                    )
                },
            ),
        },
        responses={201: InstrumentDetailOutputSerializer, 200: InstrumentDetailOutputSerializer},
        tags=["check-ins"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_management(
            user=request.user, org_slug=org_slug, action="add instruments"
        )
        payload = InstrumentUploadInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if "file" in payload.validated_data:
            name, text = uploaded_text(payload.validated_data["file"])
        else:
            name, text = JSON_SOURCE_NAME, payload.validated_data["source"]
        row, created = instrument_upload(organization=access.organization, path=name, text=text)
        return Response(
            InstrumentDetailOutputSerializer(row).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
