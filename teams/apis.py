"""REST API of the organisation graph, under /api/v1/ (reference: docs/api.md).

Every error body has the shape ``{"message": str, "extra": {...}}`` (core/errors.py); field
errors are under ``extra.fields``. Views are thin: resolve the caller's access to the organisation
in the URL (``teams.access.org_access_get``: 404 when they hold no role there), check what they
may change (the ``*_access_check`` rules: 403), validate the payload with the view's input
serializer (related rows are looked up inside the organisation only, so another organisation's id
is an ordinary "does not exist" field error), call one service, and render the output serializer.

The CRUD resources are small viewsets rather than one APIView per operation: they share the same
five operations and the same org-scoping, and a viewset keeps the router, pagination, filtering
and schema generation uniform. The business rules stay in selectors and services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import django_filters
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import (
    ORG_SLUG_PARAMETER,
    ApiPagination,
    OrgScopedPrimaryKeyRelatedField,
    OrgScopedSlugRelatedField,
)
from core.errors import ApplicationError, PermissionDeniedError
from core.moments import moment_parse
from core.zones import time_zone_validate
from teams import exporters, lifecycle, selectors, services
from teams.access import (
    OrgAccess,
    interaction_get_for_user,
    invitation_role_access_check,
    membership_get_for_user,
    org_access_get,
    org_admin_access_check,
    org_manage_access_check,
    org_unit_get_for_user,
    organization_list_for_user,
    organization_role_get_for_user,
    person_get_for_user,
    serves_link_get_for_user,
    team_get_for_user,
    team_topology_access_check,
    topology_write_access_check,
)
from teams.analysis import InvalidThresholdsError
from teams.filters import (
    InteractionFilter,
    MembershipFilter,
    OrganizationRoleFilter,
    PersonFilter,
    ServesLinkFilter,
    TeamFilter,
)
from teams.invitations import (
    INVITATION_STATUSES,
    MAX_TOKEN_LENGTH,
    invitation_accept,
    invitation_create,
    invitation_create_for_email,
    invitation_get_for_organization,
    invitation_list,
    invitation_revoke,
    invitation_status,
    invitations_in_status,
    organization_role_grantee_get,
    organization_user_list,
    person_login_resolve,
)
from teams.models import (
    HANDOVER_KINDS,
    Interaction,
    InteractionMode,
    Invitation,
    Membership,
    MembershipRole,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    Role,
    ServesLink,
    Severity,
    Specialty,
    Team,
    TeamLineageEvent,
    TeamType,
)

AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "The topology as it was at this moment: a date (YYYY-MM-DD, meaning the end of that day) "
        "or an ISO 8601 date-time. Default: now."
    ),
)

# File name extension per export format (formats and content types: teams.exporters).
EXPORT_EXTENSIONS: dict[str, str] = {
    "json": "json",
    "graphml": "graphml",
    "mermaid": "mmd",
    "dot": "dot",
    "backstage": "yaml",
}


class AsOfField(serializers.Field):
    """A date (end of that day, UTC) or an ISO 8601 date-time (UTC without an offset)."""

    default_error_messages = {
        "invalid": "Expected a date (YYYY-MM-DD) or an ISO 8601 date-time, got '{value}'."
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        text = str(data).strip()
        try:
            return moment_parse(text, naive="utc", day_end=True)
        except ValueError:
            self.fail("invalid", value=text)
            raise  # fail() always raises; this keeps type checkers sure of it

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


def _user(request: Request) -> Any:
    """The request's login for history and lineage rows (None for an anonymous request)."""
    user = request.user
    return user if getattr(user, "is_authenticated", False) else None


class OrgScopedViewSet(viewsets.GenericViewSet):
    """Shared shape of the resources nested under /api/v1/orgs/{org_slug}/.

    ``initial`` resolves the caller's access once per request (404 when they hold no role in the
    organisation); subclasses provide the list selector (``get_queryset``), the access-checked
    fetch (``get_object``) and the write operations.
    """

    pagination_class = ApiPagination
    filter_backends = [DjangoFilterBackend]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    access: OrgAccess

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access = org_access_get(user=request.user, org_slug=kwargs["org_slug"])

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if hasattr(self, "access"):
            context["organization"] = self.access.organization
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def validated_input(
        self, serializer_class: type[serializers.Serializer], *, partial: bool = False
    ) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def output(self, instance: Model, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(instance).data, status=status_code)


class RowOutputSerializer(serializers.BaseSerializer):
    """Base of the serializers that render a list endpoint's rows (dicts from a ``*_list_rows``
    selector) as the endpoint's documented serializer renders model instances, byte for byte.

    Written by hand because it was measured to matter (issue 14): DRF's field-by-field
    ``to_representation`` of model instances was most of a 1,000-row page. Moments and days still
    go through DRF's own fields (``DATETIME_FORMAT``, ``DATE_FORMAT`` and the timezone apply as
    everywhere), with the timezone resolved once per page rather than once per value. The views
    document the model serializer; tests/teams/test_list_speed.py compares the two outputs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.moment = serializers.DateTimeField(
            default_timezone=serializers.DateTimeField().default_timezone()
        )
        self.day = serializers.DateField()


class OrganizationOutputSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(
        source="caller_roles",
        child=serializers.ChoiceField(choices=Role.choices),
        read_only=True,
        help_text="The roles the caller holds in this organisation.",
    )

    class Meta:
        model = Organization
        fields = [
            "slug",
            "name",
            "roles",
            "analysis_thresholds",
            "time_zone",
            "created_at",
            "updated_at",
        ]


class OrganizationCreateInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=100, help_text="The organisation's short name in URLs.")
    name = serializers.CharField(max_length=200)
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[time_zone_validate],
        help_text="IANA time zone of the organisation's days, schedules and messages, e.g. "
        "Europe/Berlin; default: the installation's TIME_ZONE (docs/time-zones.md).",
    )


class OrganizationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    analysis_thresholds = serializers.JSONField(
        required=False,
        help_text="Overrides of the analysis thresholds (keys and defaults: docs/analysis.md).",
    )
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[time_zone_validate],
        help_text="IANA time zone of the organisation's days, schedules and messages, e.g. "
        "Europe/Berlin (docs/time-zones.md).",
    )


@extend_schema(tags=["organisations"])
@extend_schema_view(
    list=extend_schema(summary="List your organisations"),
    create=extend_schema(
        summary="Create an organisation",
        request=OrganizationCreateInputSerializer,
        responses={201: OrganizationOutputSerializer},
        description=(
            "Instance administrators (``is_superuser``) only; everyone else gets 403. The new "
            "organisation is empty and the caller is its first admin. A slug that is taken or "
            "not a slug is a 400 naming the field ``slug``."
        ),
    ),
    retrieve=extend_schema(summary="Get an organisation"),
    partial_update=extend_schema(
        summary="Change an organisation's name, thresholds or time zone (admins)"
    ),
)
class OrganizationViewSet(viewsets.GenericViewSet):
    """Organisations in which the caller holds a role."""

    pagination_class = ApiPagination
    serializer_class = OrganizationOutputSerializer
    queryset = Organization.objects.none()
    lookup_field = "slug"
    lookup_url_kwarg = "org_slug"

    def list(self, request: Request) -> Response:
        organizations = self.paginate_queryset(organization_list_for_user(user=request.user))
        for organization in organizations or []:
            organization.caller_roles = [row.role for row in organization.user_roles]  # type: ignore[attr-defined]
        return self.get_paginated_response(self.get_serializer(organizations, many=True).data)

    def create(self, request: Request) -> Response:
        if not getattr(request.user, "is_superuser", False):
            raise PermissionDeniedError("Only instance administrators may create organisations.")
        payload = OrganizationCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        organization = services.organization_create(
            slug=payload.validated_data["slug"],
            name=payload.validated_data["name"],
            creator=request.user,  # type: ignore[arg-type]
            time_zone=payload.validated_data.get("time_zone", ""),
        )
        organization.caller_roles = [Role.ADMIN]  # type: ignore[attr-defined]
        return Response(self.get_serializer(organization).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        organization = access.organization
        organization.caller_roles = sorted(access.roles)  # type: ignore[attr-defined]
        return Response(self.get_serializer(organization).data)

    @extend_schema(request=OrganizationInputSerializer)
    def partial_update(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        org_admin_access_check(access=access, action="change the organisation")
        payload = OrganizationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        organization = services.organization_update(
            organization=access.organization, data=payload.validated_data
        )
        organization.caller_roles = sorted(access.roles)  # type: ignore[attr-defined]
        return Response(self.get_serializer(organization).data)


class OrgUnitOutputSerializer(serializers.ModelSerializer):
    # "parent" and "source" shadow attributes of DRF's Field in the type stubs only.
    parent: serializers.SlugRelatedField[OrgUnit] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True, allow_null=True, help_text="Parent unit slug, or null."
    )

    class Meta:
        model = OrgUnit
        fields = ["slug", "name", "kind", "parent", "created_at", "updated_at"]


class OrgUnitInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    kind = serializers.CharField(max_length=50, required=False)
    parent = OrgScopedSlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", queryset=OrgUnit.objects.all(), required=False, allow_null=True
    )


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["units"])
@extend_schema_view(
    list=extend_schema(summary="List units"),
    retrieve=extend_schema(summary="Get a unit"),
    create=extend_schema(summary="Create a unit", request=OrgUnitInputSerializer),
    partial_update=extend_schema(summary="Change a unit", request=OrgUnitInputSerializer),
    destroy=extend_schema(summary="Delete a unit"),
)
class OrgUnitViewSet(OrgScopedViewSet):
    """Organisational units (departments, divisions, ...) that hold teams."""

    serializer_class = OrgUnitOutputSerializer
    queryset = OrgUnit.objects.none()
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[OrgUnit]:
        return selectors.org_unit_list(organization=self.access.organization)

    def get_object(self) -> OrgUnit:
        return org_unit_get_for_user(access=self.access, slug=self.kwargs["slug"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org_manage_access_check(access=self.access, action="create units")
        data = self.validated_input(OrgUnitInputSerializer)
        unit = services.org_unit_create(organization=self.access.organization, **data)
        return self.output(unit, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        unit = self.get_object()
        org_manage_access_check(access=self.access, action="change units")
        data = self.validated_input(OrgUnitInputSerializer, partial=True)
        return self.output(services.org_unit_update(unit=unit, data=data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        unit = self.get_object()
        org_manage_access_check(access=self.access, action="delete units")
        services.org_unit_delete(unit=unit)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamOutputSerializer(serializers.ModelSerializer):
    unit: serializers.SlugRelatedField[OrgUnit] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Unit slug, or null."
    )
    manager: serializers.PrimaryKeyRelatedField[Person] = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="Id of the person who is the team's engineering manager, or null.",
    )

    class Meta:
        model = Team
        fields = [
            "slug",
            "name",
            "type",
            "specialty",
            "description",
            "unit",
            "manager",
            "retired_at",
            "created_at",
            "updated_at",
        ]


class TeamRowOutputSerializer(RowOutputSerializer):
    """``TeamOutputSerializer``'s JSON for a row of ``selectors.team_list_rows``."""

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        moment = self.moment.to_representation
        return {
            "slug": instance["slug"],
            "name": instance["name"],
            "type": instance["type"],
            "specialty": instance["specialty"],
            "description": instance["description"],
            "unit": instance["unit__slug"],
            "manager": instance["manager_id"],
            "retired_at": moment(instance["retired_at"]),
            "created_at": moment(instance["created_at"]),
            "updated_at": moment(instance["updated_at"]),
        }


class TeamLineageEventSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The team the event is about."
    )
    successor: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The team that took over (merged) or was carved out (split); null otherwise.",
    )
    recorded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = TeamLineageEvent
        fields = [
            "id",
            "kind",
            "team",
            "successor",
            "occurred_at",
            "old_slug",
            "new_slug",
            "reason",
            "source",
            "reference",
            "recorded_by",
        ]


class TeamPredecessorSerializer(serializers.Serializer):
    team = serializers.CharField(source="team.slug", read_only=True, help_text="Its slug.")
    kind = serializers.ChoiceField(choices=HANDOVER_KINDS, read_only=True)
    until = serializers.DateTimeField(
        read_only=True, help_text="When its work went into this team (or its successor)."
    )


class TeamLineageSerializer(serializers.Serializer):
    team = serializers.CharField(read_only=True, help_text="The team's slug.")
    retired_at = serializers.DateTimeField(read_only=True, allow_null=True)
    predecessors = TeamPredecessorSerializer(many=True, read_only=True)
    events = TeamLineageEventSerializer(many=True, read_only=True)


class TeamRetireInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Why the team is retired."
    )


class TeamRemovalSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["retired"],
        help_text="The team held evidence or history, so it was retired, not deleted.",
    )
    team = TeamOutputSerializer()
    held_by = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='What the team holds, e.g. {"survey responses": 12}.',
    )


class TeamInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=TeamType.choices)
    specialty = serializers.ChoiceField(
        choices=Specialty.choices, required=False, allow_blank=True, help_text="ops_silo only."
    )
    description = serializers.CharField(required=False, allow_blank=True)
    unit = OrgScopedSlugRelatedField(
        slug_field="slug",
        queryset=OrgUnit.objects.all(),
        required=False,
        allow_null=True,
        help_text="Unit slug.",
    )
    manager = OrgScopedPrimaryKeyRelatedField(
        queryset=Person.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the person who is the team's engineering manager.",
    )


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["teams"])
@extend_schema_view(
    list=extend_schema(summary="List teams"),
    retrieve=extend_schema(summary="Get a team"),
    create=extend_schema(summary="Create a team", request=TeamInputSerializer),
    partial_update=extend_schema(summary="Change a team", request=TeamInputSerializer),
)
class TeamViewSet(OrgScopedViewSet):
    """Teams; admins and change agents create and delete them, the team's EM may change it."""

    serializer_class = TeamOutputSerializer
    filterset_class = TeamFilter
    queryset = Team.objects.none()
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Team]:
        # What DRF and the schema introspect; the list itself reads rows (``list``).
        return selectors.team_list(organization=self.access.organization, include_retired=True)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Rows, not instances (issue 14: measured); filtered and paginated as every list is, and
        # documented as TeamOutputSerializer, whose JSON TeamRowOutputSerializer gives.
        rows = selectors.team_list_rows(organization=self.access.organization)
        page = self.paginate_queryset(self.filter_queryset(rows))
        return self.get_paginated_response(TeamRowOutputSerializer(page, many=True).data)

    def get_object(self) -> Team:
        return team_get_for_user(access=self.access, slug=self.kwargs["slug"], include_retired=True)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org_manage_access_check(access=self.access, action="create teams")
        data = self.validated_input(TeamInputSerializer)
        team = services.team_create(organization=self.access.organization, **data)
        return self.output(team, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        team_topology_access_check(access=self.access, team=team)
        data = self.validated_input(TeamInputSerializer, partial=True)
        return self.output(
            services.team_update(team=team, data=data, source="api", actor=_user(request))
        )

    @extend_schema(
        summary="Delete or retire a team",
        responses={200: TeamRemovalSerializer, 204: None},
        description=(
            "Delete a team created by mistake (no evidence, no history beyond its creation): 204. "
            "A team holding evidence (survey answers, signal events, readiness, check-ins, "
            "verifications) or recorded changes since its creation (edits, lineage) is retired "
            "instead: 200 with what held it. An already retired team is a 409."
        ),
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        org_manage_access_check(access=self.access, action="delete teams")
        removal = lifecycle.team_delete(team=team, source="api", actor=_user(request))
        if removal.outcome == "deleted":
            return Response(status=status.HTTP_204_NO_CONTENT)
        body = {
            "outcome": removal.outcome,
            "team": TeamOutputSerializer(removal.team).data,
            "held_by": removal.held_by,
        }
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(
        summary="Retire a team",
        request=TeamRetireInputSerializer,
        responses={200: TeamOutputSerializer},
    )
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Take the team out of the live graph, keeping its history and evidence (409 if it is
        already retired). Its memberships, serves links and interactions end."""
        team = self.get_object()
        org_manage_access_check(access=self.access, action="retire teams")
        data = self.validated_input(TeamRetireInputSerializer)
        retired = lifecycle.team_retire(
            team=team, source="api", actor=_user(request), reason=data.get("reason", "")
        )
        return self.output(retired)

    @extend_schema(summary="A team's lineage", responses={200: TeamLineageSerializer})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def lineage(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The team's lineage: the teams whose work went into it (merged or split into it,
        chains followed) and the events, oldest first: its own (formed, renamed, merged into,
        split into, retired) and those of the teams that merged or split into it."""
        team = self.get_object()
        body = {
            "team": team.slug,
            "retired_at": team.retired_at,
            "predecessors": selectors.team_predecessors(team=team),
            "events": selectors.team_lineage(team=team),
        }
        return Response(TeamLineageSerializer(body).data)


class PersonBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "email", "name"]


class PersonOutputSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of the linked login, or null.",
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "email",
            "name",
            "user",
            "left_on",
            "time_zone",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "time_zone": {
                "read_only": True,
                "help_text": "The IANA zone the person reads web pages in; blank: the "
                "organisation's (docs/time-zones.md).",
            }
        }


class PersonRowOutputSerializer(RowOutputSerializer):
    """``PersonOutputSerializer``'s JSON for a row of ``selectors.person_list_rows``."""

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        moment = self.moment.to_representation
        return {
            "id": instance["id"],
            "email": instance["email"],
            "name": instance["name"],
            "user": instance["user__username"],
            "left_on": self.day.to_representation(instance["left_on"]),
            "time_zone": instance["time_zone"],
            "created_at": moment(instance["created_at"]),
            "updated_at": moment(instance["updated_at"]),
        }


class PersonLeaveInputSerializer(serializers.Serializer):
    left_on = serializers.DateField(
        required=False, help_text="The day they left (YYYY-MM-DD); default today."
    )


class PersonRemovalSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["left"], help_text="The person held evidence, so they were marked as a leaver."
    )
    person = PersonOutputSerializer()
    held_by = serializers.DictField(child=serializers.IntegerField())


def _with_login(data: dict[str, Any], request: Request) -> dict[str, Any]:
    """``data`` with its ``user`` username replaced by the login (``person_login_resolve``:
    instance administrators only, one answer for any username otherwise)."""
    if "user" in data:
        data["user"] = person_login_resolve(actor=request.user, username=data["user"])
    return data


class InvitationOutputSerializer(serializers.ModelSerializer):
    """An invitation as its creator sees it: never the token, which only the e-mail carries."""

    person = serializers.IntegerField(
        source="person_id",
        read_only=True,
        allow_null=True,
        help_text="Id of the person accepting links to the login; null: a login and a role only.",
    )
    status = serializers.SerializerMethodField(help_text="Its state now.")
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    accepted_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    accepted_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "person",
            "email",
            "name",
            "role",
            "status",
            "created_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "accepted_by",
            "revoked_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=INVITATION_STATUSES))
    def get_status(self, invitation: Invitation) -> str:
        return invitation_status(invitation, at=self.context.get("now") or timezone.now())


class InvitationPersonInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Role.choices,
        default=Role.MEMBER,
        help_text="The role accepting grants (default member; admin only by admins).",
    )


class InvitationInputSerializer(InvitationPersonInputSerializer):
    email = serializers.EmailField(max_length=254, help_text="The address to send the link to.")
    name = serializers.CharField(
        max_length=200, required=False, default="", help_text="Whom the e-mail greets."
    )


class InvitationAcceptOutputSerializer(serializers.Serializer):
    organization = serializers.SlugField(help_text="The organisation joined.")
    role = serializers.ChoiceField(choices=Role.choices, help_text="The invitation's role.")
    role_granted = serializers.BooleanField(
        help_text="False when the login held this role (or any role, for member) already."
    )
    person = PersonOutputSerializer(
        allow_null=True, help_text="The person now linked to the caller's login, if any."
    )


class InvitationAcceptInputSerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=MAX_TOKEN_LENGTH, help_text="The token from the invitation e-mail's link."
    )


class PersonInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="Stored in lower case.")
    name = serializers.CharField(max_length=200)
    user = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        help_text="Username of the login that acts as this person: instance administrators only "
        "(everyone else invites the person: POST .../people/{id}/invite/); null unlinks.",
    )


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["people"])
@extend_schema_view(
    list=extend_schema(summary="List people"),
    retrieve=extend_schema(summary="Get a person"),
    create=extend_schema(summary="Create a person", request=PersonInputSerializer),
    partial_update=extend_schema(summary="Change a person", request=PersonInputSerializer),
)
class PersonViewSet(OrgScopedViewSet):
    """People; admins and change agents create, change and delete them."""

    serializer_class = PersonOutputSerializer
    filterset_class = PersonFilter
    queryset = Person.objects.none()

    def get_queryset(self) -> QuerySet[Person]:
        return selectors.person_list(organization=self.access.organization)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # As TeamViewSet.list: rows rendered by PersonRowOutputSerializer (issue 14: measured).
        rows = selectors.person_list_rows(organization=self.access.organization)
        page = self.paginate_queryset(self.filter_queryset(rows))
        return self.get_paginated_response(PersonRowOutputSerializer(page, many=True).data)

    def get_object(self) -> Person:
        return person_get_for_user(access=self.access, person_id=self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org_manage_access_check(access=self.access, action="add people")
        data = _with_login(self.validated_input(PersonInputSerializer), request)
        person = services.person_create(organization=self.access.organization, **data)
        return self.output(person, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        org_manage_access_check(access=self.access, action="change people")
        data = _with_login(self.validated_input(PersonInputSerializer, partial=True), request)
        return self.output(services.person_update(person=person, data=data))

    @extend_schema(
        summary="Delete a person or mark them as a leaver",
        responses={200: PersonRemovalSerializer, 204: None},
        description=(
            "Delete a person added by mistake: 204. A person with history or evidence (check-ins, "
            "deliveries, verifications) is marked as a leaver instead: 200. While they own open "
            "milestones or lead a transformation: 409, listing what to reassign first."
        ),
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        org_manage_access_check(access=self.access, action="delete people")
        removal = lifecycle.person_delete(person=person, source="api", actor=_user(request))
        if removal.outcome == "deleted":
            return Response(status=status.HTTP_204_NO_CONTENT)
        body = {
            "outcome": removal.outcome,
            "person": PersonOutputSerializer(removal.person).data,
            "held_by": removal.held_by,
        }
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(
        summary="Invite a person to link their login",
        request=InvitationPersonInputSerializer,
        responses={201: InvitationOutputSerializer},
        description=(
            "Admins and change agents: e-mail the person a link to accept with their own login "
            "(valid 7 days, once; a new invitation ends the open ones), granting ``role`` "
            "(default member; only admins invite admins). The token is only in the e-mail. 409 "
            "for a person already linked or a leaver; 503 when the mail cannot be sent (the "
            "invitation is withdrawn)."
        ),
    )
    @action(detail=True, methods=["post"])
    def invite(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        org_manage_access_check(access=self.access, action="invite people")
        data = self.validated_input(InvitationPersonInputSerializer)
        invitation_role_access_check(access=self.access, role=data["role"])
        sent = invitation_create(person=person, actor=_user(request), role=data["role"])
        return Response(
            InvitationOutputSerializer(sent.invitation).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Mark a person as a leaver",
        request=PersonLeaveInputSerializer,
        responses={200: PersonOutputSerializer},
    )
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Mark the person as a leaver: memberships and serves links end, no more check-ins,
        history kept. 409 while they own open milestones or lead a transformation."""
        person = self.get_object()
        org_manage_access_check(access=self.access, action="mark leavers")
        data = self.validated_input(PersonLeaveInputSerializer)
        left = lifecycle.person_leave(
            person=person, on=data.get("left_on"), source="api", actor=_user(request)
        )
        return self.output(left)


@extend_schema(
    tags=["people"],
    summary="Accept an invitation",
    request=InvitationAcceptInputSerializer,
    # 404: the token names no valid invitation (core/schema.py gives it the error shape).
    responses={200: InvitationAcceptOutputSerializer, 404: None},
    description=(
        "The logged-in caller accepts, once: they get the invitation's role in the organisation "
        "(roles are only added: a login holding it, or any role for member, keeps its roles) and, "
        "when the invitation is a person's, that person is linked to their login. 404 for a "
        "wrong token, 410 for one accepted already, expired or revoked, 409 when the person or "
        "the caller's login is linked already."
    ),
)
class InvitationAcceptApi(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        data = InvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        accepted = invitation_accept(token=data.validated_data["token"], user=request.user)
        body = {
            "organization": accepted.invitation.organization.slug,
            "role": accepted.invitation.role,
            "role_granted": accepted.role_granted is not None,
            "person": accepted.person,
        }
        return Response(InvitationAcceptOutputSerializer(body).data)


class InvitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(name, name) for name in INVITATION_STATUSES],
        method="filter_status",
        help_text="Only invitations in this state now.",
    )

    class Meta:
        model = Invitation
        fields = ["status"]

    def filter_status(
        self, queryset: QuerySet[Invitation], name: str, value: str
    ) -> QuerySet[Invitation]:
        return invitations_in_status(queryset, status=value, at=timezone.now())


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["invitations"])
@extend_schema_view(
    list=extend_schema(summary="List invitations"),
    retrieve=extend_schema(summary="Get an invitation"),
    create=extend_schema(
        summary="Invite an e-mail address with a role",
        request=InvitationInputSerializer,
        responses={201: InvitationOutputSerializer},
        description=(
            "Admins and change agents (only admins invite admins): e-mail a link, valid 7 days "
            "and once, that grants ``role`` to whoever accepts with a login (an existing one or "
            "one created on the invitation page). When a person of the organisation has this "
            "address, accepting also links them. A new invitation to the same address ends the "
            "open ones. 409 for an address whose person is linked already or has left; 503 when "
            "the mail cannot be sent (the invitation is withdrawn)."
        ),
    ),
    destroy=extend_schema(
        summary="Revoke an invitation",
        description="Withdraws a pending invitation (its link stops working); it stays listed "
        "as revoked, with its history. 409 for one that is not pending.",
    ),
)
class InvitationViewSet(OrgScopedViewSet):
    """The organisation's invitations; admins and change agents list, create and revoke them."""

    serializer_class = InvitationOutputSerializer
    filterset_class = InvitationFilter
    queryset = Invitation.objects.none()
    http_method_names = ["get", "post", "delete", "head", "options"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        org_manage_access_check(access=self.access, action="manage invitations")

    def get_queryset(self) -> QuerySet[Invitation]:
        return invitation_list(organization=self.access.organization)

    def get_object(self) -> Invitation:
        return invitation_get_for_organization(
            organization=self.access.organization, invitation_id=self.kwargs["pk"]
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated_input(InvitationInputSerializer)
        invitation_role_access_check(access=self.access, role=data["role"])
        sent = invitation_create_for_email(
            organization=self.access.organization,
            email=data["email"],
            role=data["role"],
            name=data.get("name", ""),
            actor=_user(request),
        )
        return self.output(sent.invitation, status_code=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invitation_revoke(invitation=self.get_object(), actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationUserPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OrganizationUserOutputSerializer(serializers.Serializer):
    """A login with a role in the organisation (``organization_user_list``'s rows)."""

    username = serializers.CharField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)
    email = serializers.CharField(read_only=True, help_text="The login's address (may be empty).")
    roles = serializers.SerializerMethodField(help_text="Its roles in the organisation.")
    person = serializers.SerializerMethodField(
        help_text="The person of the organisation linked to this login, if any."
    )

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Role.choices)))
    def get_roles(self, user: User) -> list[str]:
        return [grant.role for grant in user.org_roles]  # type: ignore[attr-defined]

    @extend_schema_field(OrganizationUserPersonSerializer(allow_null=True))
    def get_person(self, user: User) -> dict[str, Any] | None:
        people = user.org_people  # type: ignore[attr-defined]
        return {"id": people[0].pk, "name": people[0].name} if people else None


@extend_schema(
    parameters=[ORG_SLUG_PARAMETER],
    tags=["roles"],
    summary="List the organisation's users",
    description="Every login holding a role in the organisation, by username, with its roles and "
    "linked person: admins and change agents.",
)
class OrganizationUserListApi(generics.ListAPIView):
    serializer_class = OrganizationUserOutputSerializer
    pagination_class = ApiPagination
    queryset = User.objects.none()

    def get_queryset(self) -> QuerySet[User]:
        access = org_access_get(user=self.request.user, org_slug=self.kwargs["org_slug"])
        org_manage_access_check(access=access, action="list the organisation's users")
        return organization_user_list(organization=access.organization)


class MembershipOutputSerializer(serializers.ModelSerializer):
    person: serializers.PrimaryKeyRelatedField[Person] = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="Person id."
    )
    person_email = serializers.EmailField(source="person.email", read_only=True)
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="Team slug."
    )

    class Meta:
        model = Membership
        fields = [
            "id",
            "person",
            "person_email",
            "team",
            "role",
            "allocation_percent",
            "created_at",
            "updated_at",
        ]


class MembershipInputSerializer(serializers.Serializer):
    person = OrgScopedPrimaryKeyRelatedField(queryset=Person.objects.all(), help_text="Person id.")
    team = OrgScopedSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Team slug."
    )
    role = serializers.ChoiceField(choices=MembershipRole.choices, required=False)
    allocation_percent = serializers.IntegerField(
        required=False, help_text="Share of the person's time, 1 to 100."
    )


class TeamTopologyViewSet(OrgScopedViewSet):
    """Rows that belong to one team's topology: writes need the right to change that team.

    ``team_fields`` names the input fields holding the team whose topology the row is part of
    (the team of a membership, the source of an interaction).
    """

    team_field: ClassVar[str] = "team"

    def check_team_change(self, instance: Model | None, data: dict[str, Any]) -> None:
        """Both the team the row is part of now and the one it moves to must be changeable."""
        teams: list[Team] = []
        if instance is not None:
            teams.append(getattr(instance, self.team_field))
        new_team = data.get(self.team_field)
        if new_team is not None and all(team.pk != new_team.pk for team in teams):
            teams.append(new_team)
        for team in teams:
            team_topology_access_check(access=self.access, team=team)


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["memberships"])
@extend_schema_view(
    list=extend_schema(summary="List memberships"),
    retrieve=extend_schema(summary="Get a membership"),
    create=extend_schema(summary="Create a membership", request=MembershipInputSerializer),
    partial_update=extend_schema(summary="Change a membership", request=MembershipInputSerializer),
    destroy=extend_schema(summary="Delete a membership"),
)
class MembershipViewSet(TeamTopologyViewSet):
    """A person's membership of a team, with a role and an allocation."""

    serializer_class = MembershipOutputSerializer
    filterset_class = MembershipFilter
    queryset = Membership.objects.none()

    def get_queryset(self) -> QuerySet[Membership]:
        return selectors.membership_list(organization=self.access.organization)

    def get_object(self) -> Membership:
        return membership_get_for_user(access=self.access, membership_id=self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        topology_write_access_check(access=self.access)
        data = self.validated_input(MembershipInputSerializer)
        self.check_team_change(None, data)
        membership = services.membership_create(organization=self.access.organization, **data)
        return self.output(membership, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        self.check_team_change(membership, {})
        data = self.validated_input(MembershipInputSerializer, partial=True)
        self.check_team_change(membership, data)
        return self.output(services.membership_update(membership=membership, data=data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        self.check_team_change(membership, {})
        services.membership_delete(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServesLinkOutputSerializer(serializers.ModelSerializer):
    person: serializers.PrimaryKeyRelatedField[Person] = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="Person id."
    )
    person_email = serializers.EmailField(source="person.email", read_only=True)
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="Team slug."
    )

    class Meta:
        model = ServesLink
        fields = ["id", "person", "person_email", "team", "note", "created_at", "updated_at"]


class ServesLinkInputSerializer(serializers.Serializer):
    person = OrgScopedPrimaryKeyRelatedField(queryset=Person.objects.all(), help_text="Person id.")
    team = OrgScopedSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Team slug."
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["serves links"])
@extend_schema_view(
    list=extend_schema(summary="List serves links"),
    retrieve=extend_schema(summary="Get a serves link"),
    create=extend_schema(summary="Create a serves link", request=ServesLinkInputSerializer),
    partial_update=extend_schema(summary="Change a serves link", request=ServesLinkInputSerializer),
    destroy=extend_schema(summary="Delete a serves link"),
)
class ServesLinkViewSet(TeamTopologyViewSet):
    """A person who serves a team without being its member."""

    serializer_class = ServesLinkOutputSerializer
    filterset_class = ServesLinkFilter
    queryset = ServesLink.objects.none()

    def get_queryset(self) -> QuerySet[ServesLink]:
        return selectors.serves_link_list(organization=self.access.organization)

    def get_object(self) -> ServesLink:
        return serves_link_get_for_user(access=self.access, serves_link_id=self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        topology_write_access_check(access=self.access)
        data = self.validated_input(ServesLinkInputSerializer)
        self.check_team_change(None, data)
        link = services.serves_link_create(organization=self.access.organization, **data)
        return self.output(link, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        link = self.get_object()
        self.check_team_change(link, {})
        data = self.validated_input(ServesLinkInputSerializer, partial=True)
        self.check_team_change(link, data)
        return self.output(services.serves_link_update(serves_link=link, data=data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        link = self.get_object()
        self.check_team_change(link, {})
        services.serves_link_delete(serves_link=link)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InteractionOutputSerializer(serializers.ModelSerializer):
    source: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True
    )
    target: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "source",
            "target",
            "mode",
            "since",
            "expected_end",
            "severity",
            "note",
            "created_at",
            "updated_at",
        ]


class InteractionInputSerializer(serializers.Serializer):
    source = OrgScopedSlugRelatedField(  # type: ignore[assignment]
        slug_field="slug",
        queryset=Team.objects.all(),
        help_text="Slug of the team whose work depends on, or works with, the target.",
    )
    target = OrgScopedSlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Target team slug."
    )
    mode = serializers.ChoiceField(choices=InteractionMode.choices)
    since = serializers.DateField(required=False, allow_null=True)
    expected_end = serializers.DateField(required=False, allow_null=True)
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        required=False,
        allow_blank=True,
        help_text="ticket_dependency only.",
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["interactions"])
@extend_schema_view(
    list=extend_schema(summary="List interactions"),
    retrieve=extend_schema(summary="Get an interaction"),
    create=extend_schema(summary="Create an interaction", request=InteractionInputSerializer),
    partial_update=extend_schema(
        summary="Change an interaction", request=InteractionInputSerializer
    ),
    destroy=extend_schema(summary="Delete an interaction"),
)
class InteractionViewSet(TeamTopologyViewSet):
    """How one team works with another; it is part of the source team's topology."""

    serializer_class = InteractionOutputSerializer
    filterset_class = InteractionFilter
    queryset = Interaction.objects.none()
    team_field = "source"

    def get_queryset(self) -> QuerySet[Interaction]:
        return selectors.interaction_list(organization=self.access.organization)

    def get_object(self) -> Interaction:
        return interaction_get_for_user(access=self.access, interaction_id=self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        topology_write_access_check(access=self.access)
        data = self.validated_input(InteractionInputSerializer)
        self.check_team_change(None, data)
        interaction = services.interaction_create(organization=self.access.organization, **data)
        return self.output(interaction, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        interaction = self.get_object()
        self.check_team_change(interaction, {})
        data = self.validated_input(InteractionInputSerializer, partial=True)
        self.check_team_change(interaction, data)
        return self.output(services.interaction_update(interaction=interaction, data=data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        interaction = self.get_object()
        self.check_team_change(interaction, {})
        services.interaction_delete(interaction=interaction)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationRoleOutputSerializer(serializers.ModelSerializer):
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = OrganizationRole
        fields = ["id", "user", "role", "created_at"]


class OrganizationRoleInputSerializer(serializers.Serializer):
    user = serializers.CharField(
        max_length=150,
        help_text="Username of a login that holds a role in the organisation already (anyone "
        "else is invited: POST .../invitations/; instance administrators may name any login).",
    )
    role = serializers.ChoiceField(choices=Role.choices)


@extend_schema(parameters=[ORG_SLUG_PARAMETER], tags=["roles"])
@extend_schema_view(
    list=extend_schema(summary="List role grants"),
    retrieve=extend_schema(summary="Get a role grant"),
    create=extend_schema(summary="Grant a role", request=OrganizationRoleInputSerializer),
    destroy=extend_schema(summary="Revoke a role"),
)
class OrganizationRoleViewSet(OrgScopedViewSet):
    """Who holds which role in the organisation; admins grant (POST) and revoke (DELETE)."""

    serializer_class = OrganizationRoleOutputSerializer
    filterset_class = OrganizationRoleFilter
    queryset = OrganizationRole.objects.none()
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[OrganizationRole]:
        return selectors.organization_role_list(organization=self.access.organization)

    def get_object(self) -> OrganizationRole:
        return organization_role_get_for_user(access=self.access, role_id=self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org_admin_access_check(access=self.access, action="grant roles")
        data = self.validated_input(OrganizationRoleInputSerializer)
        data["user"] = organization_role_grantee_get(
            organization=self.access.organization, username=data["user"], actor=request.user
        )
        grant = services.organization_role_create(organization=self.access.organization, **data)
        return self.output(grant, status_code=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        grant = self.get_object()
        org_admin_access_check(access=self.access, action="revoke roles")
        services.organization_role_delete(organization_role=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnalysisQuerySerializer(serializers.Serializer):
    as_of = AsOfField(required=False)


class OrgAnalysisApi(APIView):
    """What the organisation's graph says is wrong: metrics and findings (docs/analysis.md)."""

    @extend_schema(
        operation_id="orgs_analysis_retrieve",
        summary="Analyse the organisation's graph",
        parameters=[ORG_SLUG_PARAMETER, AS_OF_PARAMETER],
        responses={200: OpenApiTypes.OBJECT},
        tags=["analysis"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        query = AnalysisQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            report = selectors.org_analysis_get(
                organization=access.organization, as_of=query.validated_data.get("as_of")
            )
        except InvalidThresholdsError as exc:
            # The organisation's stored settings are wrong, not the request; say which key.
            raise ApplicationError(
                f"The organisation's analysis_thresholds are invalid: {exc}",
                extra={"fields": {"analysis_thresholds": {exc.key: [str(exc)]}}},
            ) from exc
        return Response(report)


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(exporters.EXPORT_FORMATS), default="json")
    as_of = AsOfField(required=False)


class _NoFormatOverrideSettings:
    """DRF's settings as content negotiation reads them, minus the ``?format=`` override."""

    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name: str) -> Any:
        return getattr(api_settings, name)


class ExportContentNegotiation(DefaultContentNegotiation):
    """On the export endpoint ``?format=`` names the export format, not a DRF renderer."""

    settings = _NoFormatOverrideSettings()  # type: ignore[assignment]


class OrgExportApi(APIView):
    """The organisation's graph as a file: node-link JSON, GraphML, Mermaid, DOT or Backstage."""

    content_negotiation_class = ExportContentNegotiation

    @extend_schema(
        operation_id="orgs_export_retrieve",
        summary="Export the organisation's graph",
        parameters=[
            ORG_SLUG_PARAMETER,
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                enum=list(exporters.EXPORT_FORMATS),
                description="Export format (default json).",
            ),
            AS_OF_PARAMETER,
        ],
        # node-link JSON is an object; the other formats are text (teams.exporters).
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/graphml+xml"): OpenApiTypes.STR,
            (200, "text/plain"): OpenApiTypes.STR,
            (200, "text/vnd.graphviz"): OpenApiTypes.STR,
            (200, "application/yaml"): OpenApiTypes.STR,
        },
        tags=["export"],
    )
    def get(self, request: Request, org_slug: str) -> HttpResponse:
        access = org_access_get(user=request.user, org_slug=org_slug)
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        snapshot = selectors.org_snapshot_get(
            organization=access.organization, as_of=query.validated_data.get("as_of")
        )
        response = HttpResponse(
            exporters.export_snapshot(snapshot, fmt),
            content_type=exporters.EXPORT_CONTENT_TYPES[fmt],
        )
        filename = f"{access.organization.slug}.{EXPORT_EXTENSIONS[fmt]}"
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response
