"""REST API of the planning side of the rhythm, under /api/v1/ (docs/checkins.md#planning).

``GET /api/v1/orgs/<slug>/topology-verification/``: every team with its latest topology
verification, whether its record is stale and whether a verification check-in is open. Any role
in the organisation may read it (404 otherwise, as everywhere). Same shape as transform/apis.py:
error bodies are ``{"message", "extra"}``, lists are paginated.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from teams.apis import ORG_SLUG_PARAMETER, ApiPagination, paginated_response
from teams.models import Team
from teams.selectors import org_access_get
from transform.apis import PersonBriefSerializer
from transform.checkins import team_verification_list

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


# Included by the project's URL map under /api/v1/ (or copied into transform/checkin_apis.py).
urlpatterns = [
    path(
        "orgs/<slug:org_slug>/topology-verification/",
        TeamVerificationListApi.as_view(),
        name="org-topology-verification",
    ),
]
