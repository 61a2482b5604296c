"""REST API of the playbook library, under /api/v1/orgs/{slug}/playbooks/ (docs/playbook-format.md).

Any role in the organisation reads its own playbooks and the built-ins; admins and change agents
upload. Another organisation's playbooks, like an organisation the caller has no role in, are 404.
Errors have the project's shape ``{"message", "extra"}``; an invalid file's ``extra`` names
``file``, ``line`` and ``path`` (the field) of the first problem and lists all under ``errors``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, ApiPagination, paginated_response, uploaded_text
from core.parsers import SafeJSONParser
from playbooks import selectors, services
from playbooks.models import Playbook
from teams.access import org_access_get, org_manage_access_check

# The file name used in error messages when the YAML comes in a JSON body.
JSON_SOURCE_NAME = "source"

KEY_PARAMETER = OpenApiParameter(
    "key", OpenApiTypes.STR, OpenApiParameter.PATH, description="Playbook key."
)
VERSION_PARAMETER = OpenApiParameter(
    "version",
    {"type": "integer", "minimum": 1},
    OpenApiParameter.QUERY,
    required=False,
    description="A version of the playbook (default: the latest).",
)


class PlaybookOutputSerializer(serializers.ModelSerializer):
    builtin = serializers.SerializerMethodField()
    phase_count = serializers.SerializerMethodField()
    milestone_count = serializers.SerializerMethodField()

    class Meta:
        model = Playbook
        fields = [
            "key",
            "version",
            "title",
            "summary",
            "builtin",
            "phase_count",
            "milestone_count",
            "created_at",
        ]

    def get_builtin(self, playbook: Playbook) -> bool:
        return playbook.is_builtin

    def get_phase_count(self, playbook: Playbook) -> int:
        return len(playbook.definition.get("phases", []))

    def get_milestone_count(self, playbook: Playbook) -> int:
        return _milestone_count(playbook)


class PlaybookDetailOutputSerializer(PlaybookOutputSerializer):
    versions = serializers.SerializerMethodField()
    definition = serializers.JSONField()

    class Meta(PlaybookOutputSerializer.Meta):
        fields = [*PlaybookOutputSerializer.Meta.fields, "versions", "definition", "source"]

    def get_versions(self, playbook: Playbook) -> list[int]:
        return list(self.context["versions"])


class PlaybookUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The playbook YAML file (multipart).")
    # The contract names the JSON field "source", which shadows Field.source in the stubs; DRF's
    # serializer metaclass moves declared fields out of the class, so nothing is shadowed at runtime.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, trim_whitespace=False, help_text="The playbook YAML as text (JSON body)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("source" in attrs):
            raise serializers.ValidationError(
                "Send the playbook either as a multipart file field 'file' or as 'source' text."
            )
        return attrs


def _milestone_count(playbook: Playbook) -> int:
    return sum(len(phase.get("milestones", [])) for phase in playbook.definition.get("phases", []))


class PlaybookListCreateApi(APIView):
    """The organisation's playbooks and the built-ins (GET); upload a playbook (POST)."""

    parser_classes = [SafeJSONParser, MultiPartParser]
    # Declared so that the schema shows the paginated shape the list returns.
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="orgs_playbooks_list",
        summary="List playbooks",
        description="Every version of the organisation's own playbooks and of the built-ins.",
        parameters=[ORG_SLUG_PARAMETER],
        responses={200: PlaybookOutputSerializer(many=True)},
        tags=["playbooks"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.playbook_list(organization=access.organization),
            serializer_class=PlaybookOutputSerializer,
        )

    @extend_schema(
        operation_id="orgs_playbooks_create",
        summary="Upload a playbook",
        description=(
            "Upload a playbook (multipart field `file` or JSON `source`); admins and change "
            "agents. 201 when stored, 200 when the same content was already stored, 400 naming "
            "file, line and path when invalid."
        ),
        parameters=[ORG_SLUG_PARAMETER],
        # Each body has its one field: a file in multipart, the text in JSON.
        request={
            "multipart/form-data": inline_serializer(
                "PlaybookFileUpload",
                fields={"file": serializers.FileField(help_text="The playbook YAML file.")},
            ),
            "application/json": inline_serializer(
                "PlaybookSourceUpload",
                fields={
                    "source": serializers.CharField(
                        trim_whitespace=False, help_text="The playbook YAML as text."
                    )
                },
            ),
        },
        responses={201: PlaybookDetailOutputSerializer, 200: PlaybookDetailOutputSerializer},
        tags=["playbooks"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        org_manage_access_check(access=access, action="upload playbooks")
        payload = PlaybookUploadInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if "file" in payload.validated_data:
            name, text = uploaded_text(payload.validated_data["file"])
        else:
            name, text = JSON_SOURCE_NAME, payload.validated_data["source"]
        playbook, created = services.playbook_load_or_get(
            organization=access.organization, path=name, text=text
        )
        versions = selectors.playbook_versions(
            organization=access.organization, key=playbook.key
        ).values_list("version", flat=True)
        data = PlaybookDetailOutputSerializer(playbook, context={"versions": versions}).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PlaybookVersionQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)


class PlaybookDetailApi(APIView):
    """One playbook (the latest version, or ``?version=N``) with its definition and versions."""

    @extend_schema(
        operation_id="orgs_playbooks_retrieve",
        summary="Get a playbook",
        parameters=[ORG_SLUG_PARAMETER, KEY_PARAMETER, VERSION_PARAMETER],
        responses={200: PlaybookDetailOutputSerializer},
        tags=["playbooks"],
    )
    def get(self, request: Request, org_slug: str, key: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        query = PlaybookVersionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        playbook = selectors.playbook_get_for_user(
            access=access, key=key, version=query.validated_data.get("version")
        )
        versions = selectors.playbook_versions(
            organization=access.organization, key=key
        ).values_list("version", flat=True)
        data = PlaybookDetailOutputSerializer(playbook, context={"versions": versions}).data
        return Response(data)
