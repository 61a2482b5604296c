"""REST API of transformations and milestones, under /api/v1/ (reference: docs/transformations.md).

Same shape as teams/apis.py: every error body is ``{"message", "extra"}`` (core/api.py),
field errors under ``extra.fields``. Each view is thin: fetch through one access rule of
``transform.access`` (404 when the caller holds no role in the organisation, 403 when they may not
do this), validate the payload with the view's input serializer, call one service, render the
output.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import (
    ORG_SLUG_PARAMETER,
    ApiPagination,
    BoundedDateField,
    paginated_response,
    validated,
)
from teams.apis import PersonBriefSerializer
from transform.access import (
    milestone_change_get_for_plan_edit,
    milestone_change_get_for_user,
    milestone_get_for_plan_edit,
    milestone_get_for_status_change,
    milestone_get_for_update,
    milestone_get_for_user,
    org_access_get,
    org_get_for_management,
    transformation_get_for_user,
)
from transform.models import (
    MilestoneChange,
    MilestoneEvent,
    MilestoneStatus,
    Transformation,
)
from transform.plans import changes, selectors, services
from transform.plans.serializers import (
    MilestoneOutputSerializer,
    PlanReportSerializer,
    plan_report_data,
)

TRANSFORMATION_ID_PARAMETER = OpenApiParameter(
    "transformation_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Transformation id."
)
MILESTONE_ID_PARAMETER = OpenApiParameter(
    "milestone_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Milestone id."
)


class TransformationOutputSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug", read_only=True)
    sponsor = PersonBriefSerializer(read_only=True, allow_null=True)
    lead_change_agent = PersonBriefSerializer(read_only=True)
    change_agents = PersonBriefSerializer(many=True, read_only=True)
    playbooks = serializers.SerializerMethodField()
    milestone_count = serializers.IntegerField(read_only=True)
    critical_path = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Transformation
        fields = [
            "id",
            "organization",
            "title",
            "start_date",
            "planned_end",
            "forecast_end",
            "critical_path",
            "sponsor",
            "lead_change_agent",
            "change_agents",
            "playbooks",
            "milestone_count",
            "created_at",
            "updated_at",
        ]

    def get_playbooks(self, transformation: Transformation) -> list[dict[str, Any]]:
        return [
            {"key": playbook.key, "version": playbook.version, "title": playbook.title}
            for playbook in transformation.playbooks.all()
        ]


class TransformationStartInputSerializer(serializers.Serializer):
    playbooks = serializers.ListField(
        child=serializers.CharField(max_length=120),
        min_length=1,
        help_text='Playbook references, "key" (latest version) or "key@version".',
    )
    start_date = BoundedDateField(
        help_text="YYYY-MM-DD: when milestones without dependencies start (1900-01-01 to "
        "8999-12-31)."
    )
    owner = serializers.EmailField(help_text="E-mail of the lead change agent.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sponsor = serializers.EmailField(
        required=False, allow_null=True, default=None, help_text="E-mail of the sponsor."
    )
    owners = serializers.DictField(
        child=serializers.EmailField(),
        required=False,
        default=dict,
        help_text="Optional: milestone key of the new plan -> e-mail of its owner, overriding the "
        "owner chosen from the milestone's owner_role (docs/transformations.md). Milestones not "
        "named keep the role rules.",
    )


class MilestoneEventOutputSerializer(serializers.ModelSerializer):
    milestone = serializers.IntegerField(source="milestone_id", read_only=True)
    actor = serializers.SerializerMethodField(
        help_text="Username of who made the change; null from the command line."
    )

    class Meta:
        model = MilestoneEvent
        fields = [
            "id",
            "milestone",
            "at",
            "actor",
            "kind",
            "from_status",
            "to_status",
            "reason",
            "data",
        ]

    def get_actor(self, event: MilestoneEvent) -> str | None:
        return event.actor.get_username() if event.actor is not None else None


class MilestoneTransitionInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=MilestoneStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Leaders and admins: mark done although exit criteria do not pass (needs a reason).",
    )


class MilestoneReassignInputSerializer(serializers.Serializer):
    owner = serializers.CharField(
        max_length=254, help_text="Id or e-mail of a person of the organisation."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class MilestoneRescheduleInputSerializer(serializers.Serializer):
    forecast_due = BoundedDateField(
        help_text="The new expected due date, YYYY-MM-DD (1900-01-01 to 8999-12-31)."
    )
    reason = serializers.CharField(help_text="Why the forecast changes.")


def _transformation_out(transformation_id: int) -> dict[str, Any]:
    transformation = selectors.transformation_detail_get(transformation_id=transformation_id)
    return dict(TransformationOutputSerializer(transformation).data)


def _milestone_out(milestone_id: int) -> dict[str, Any]:
    milestone = selectors.milestone_detail_get(milestone_id=milestone_id)
    return dict(MilestoneOutputSerializer(milestone).data)


class OrgTransformationListApi(APIView):
    """GET: the organisation's transformations; POST: start one (admins and change agents)."""

    # Declared so that the schema shows the paginated shape.
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="orgs_transformations_list",
        summary="List transformations",
        parameters=[ORG_SLUG_PARAMETER],
        responses=TransformationOutputSerializer(many=True),
        tags=["transformations"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_access_get(user=request.user, org_slug=org_slug)
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.transformation_list(organization=access.organization),
            serializer_class=TransformationOutputSerializer,
        )

    @extend_schema(
        operation_id="orgs_transformations_create",
        summary="Start a transformation",
        parameters=[ORG_SLUG_PARAMETER],
        request=TransformationStartInputSerializer,
        responses={201: TransformationOutputSerializer},
        tags=["transformations"],
    )
    def post(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_management(
            user=request.user, org_slug=org_slug, action="start transformations"
        )
        data = validated(TransformationStartInputSerializer, request.data)
        transformation = services.transformation_start(
            organization=access.organization,
            playbooks=data["playbooks"],
            start_date=data["start_date"],
            owner_email=data["owner"],
            title=data["title"],
            sponsor_email=data["sponsor"],
            created_by=request.user,  # type: ignore[arg-type]
            owners=data["owners"],
        )
        return Response(_transformation_out(transformation.pk), status=status.HTTP_201_CREATED)


class TransformationDetailApi(APIView):
    """One transformation: its dates, lead change agent, sponsor, playbooks and critical path
    (anyone with a role in its organisation)."""

    @extend_schema(
        operation_id="transformations_retrieve",
        summary="Get a transformation",
        parameters=[TRANSFORMATION_ID_PARAMETER],
        responses=TransformationOutputSerializer,
        tags=["transformations"],
    )
    def get(self, request: Request, transformation_id: int) -> Response:
        access = transformation_get_for_user(user=request.user, transformation_id=transformation_id)
        return Response(_transformation_out(access.transformation.pk))


class TransformationPlanApi(APIView):
    """The plan report: every milestone's dates, owner, status and exit-criteria results."""

    @extend_schema(
        operation_id="transformations_plan_retrieve",
        summary="A transformation's plan report",
        parameters=[TRANSFORMATION_ID_PARAMETER],
        responses={200: PlanReportSerializer},
        tags=["transformations"],
    )
    def get(self, request: Request, transformation_id: int) -> Response:
        access = transformation_get_for_user(user=request.user, transformation_id=transformation_id)
        report = selectors.transformation_plan_get(transformation=access.transformation)
        return Response(plan_report_data(report))


class TransformationMilestoneListApi(APIView):
    """The transformation's milestones in plan order, with owner, status and dates."""

    # Declared so that the schema shows the paginated shape.
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="transformations_milestones_list",
        summary="List a transformation's milestones",
        parameters=[TRANSFORMATION_ID_PARAMETER],
        responses=MilestoneOutputSerializer(many=True),
        tags=["milestones"],
    )
    def get(self, request: Request, transformation_id: int) -> Response:
        access = transformation_get_for_user(user=request.user, transformation_id=transformation_id)
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.milestone_list(transformation=access.transformation),
            serializer_class=MilestoneOutputSerializer,
        )


class MilestoneDetailApi(APIView):
    """One milestone: owner, status, planned and forecast dates, exit criteria."""

    @extend_schema(
        operation_id="milestones_retrieve",
        summary="Get a milestone",
        parameters=[MILESTONE_ID_PARAMETER],
        responses=MilestoneOutputSerializer,
        tags=["milestones"],
    )
    def get(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_user(user=request.user, milestone_id=milestone_id)
        return Response(MilestoneOutputSerializer(access.milestone).data)


class MilestoneEventListApi(APIView):
    """The milestone's recorded events (transitions, reassignments, reschedules), oldest
    first."""

    # Declared so that the schema shows the paginated shape.
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="milestones_events_list",
        summary="A milestone's history",
        parameters=[MILESTONE_ID_PARAMETER],
        responses=MilestoneEventOutputSerializer(many=True),
        tags=["milestones"],
    )
    def get(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_user(user=request.user, milestone_id=milestone_id)
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.milestone_event_list(milestone=access.milestone),
            serializer_class=MilestoneEventOutputSerializer,
        )


class MilestoneTransitionApi(APIView):
    """Move a milestone along the workflow (owner, admins, change agents; override: leaders and
    admins)."""

    @extend_schema(
        operation_id="milestones_transition",
        summary="Move a milestone along the workflow",
        parameters=[MILESTONE_ID_PARAMETER],
        request=MilestoneTransitionInputSerializer,
        responses=MilestoneOutputSerializer,
        tags=["milestones"],
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        data = validated(MilestoneTransitionInputSerializer, request.data)
        access = milestone_get_for_status_change(
            user=request.user,
            milestone_id=milestone_id,
            to_status=data["to"],
            override=data["override"],
        )
        services.milestone_transition(
            milestone=access.milestone,
            to_status=data["to"],
            reason=data["reason"],
            override=data["override"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(_milestone_out(access.milestone.pk))


class MilestoneReassignApi(APIView):
    """Give a milestone to another person of the organisation (admins and change agents)."""

    @extend_schema(
        operation_id="milestones_reassign",
        summary="Give a milestone to another owner",
        parameters=[MILESTONE_ID_PARAMETER],
        request=MilestoneReassignInputSerializer,
        responses=MilestoneOutputSerializer,
        tags=["milestones"],
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_plan_edit(
            user=request.user, milestone_id=milestone_id, action="reassign milestones"
        )
        data = validated(MilestoneReassignInputSerializer, request.data)
        owner = selectors.person_get_by_reference(
            organization=access.transformation_access.org.organization,
            reference=data["owner"],
            field="owner",
        )
        services.milestone_reassign(
            milestone=access.milestone,
            owner=owner,
            reason=data["reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(_milestone_out(access.milestone.pk))


class MilestoneRescheduleApi(APIView):
    """Report a new forecast due date (owner, admins, change agents)."""

    @extend_schema(
        operation_id="milestones_reschedule",
        summary="Report a milestone's new forecast date",
        parameters=[MILESTONE_ID_PARAMETER],
        request=MilestoneRescheduleInputSerializer,
        responses=MilestoneOutputSerializer,
        tags=["milestones"],
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_update(
            user=request.user, milestone_id=milestone_id, action="reschedule it"
        )
        data = validated(MilestoneRescheduleInputSerializer, request.data)
        services.milestone_reschedule(
            milestone=access.milestone,
            forecast_due=data["forecast_due"],
            reason=data["reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(_milestone_out(access.milestone.pk))


# --- Scenarios: topology changes attached to milestones (docs/scenarios.md) --------------------

CHANGE_ID_PARAMETER = OpenApiParameter(
    "change_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Milestone change id."
)


class MilestoneChangeOutputSerializer(serializers.ModelSerializer):
    milestone = serializers.IntegerField(source="milestone_id", read_only=True)
    created_by = serializers.SerializerMethodField()
    enacted_by = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(help_text='"pending" or "enacted".')

    class Meta:
        model = MilestoneChange
        fields = [
            "id",
            "milestone",
            "position",
            "change",
            "status",
            "created_by",
            "created_at",
            "enacted_at",
            "enacted_by",
        ]

    def get_created_by(self, row: MilestoneChange) -> str | None:
        return row.created_by.get_username() if row.created_by is not None else None

    def get_enacted_by(self, row: MilestoneChange) -> str | None:
        return row.enacted_by.get_username() if row.enacted_by is not None else None

    def get_status(self, row: MilestoneChange) -> str:
        return "enacted" if row.enacted_at is not None else "pending"


class MilestoneChangeListApi(APIView):
    """GET: the milestone's topology changes (everyone with a role); POST: attach one (admins
    and change agents). The POST body is the change itself, e.g. ``{"kind": "merge_teams", ...}``."""

    # Declared so that the schema shows the paginated shape.
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="milestones_changes_list",
        summary="List a milestone's topology changes",
        parameters=[MILESTONE_ID_PARAMETER],
        responses=MilestoneChangeOutputSerializer(many=True),
        tags=["scenarios"],
    )
    def get(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_user(user=request.user, milestone_id=milestone_id)
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.milestone_change_list(milestone=access.milestone),
            serializer_class=MilestoneChangeOutputSerializer,
        )

    @extend_schema(
        operation_id="milestones_changes_create",
        summary="Attach a topology change to a milestone",
        parameters=[MILESTONE_ID_PARAMETER],
        request=OpenApiTypes.OBJECT,
        responses={201: MilestoneChangeOutputSerializer},
        tags=["scenarios"],
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_plan_edit(
            user=request.user, milestone_id=milestone_id, action="attach topology changes"
        )
        row = changes.milestone_change_add(
            milestone=access.milestone,
            change=request.data,
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(MilestoneChangeOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class MilestoneChangeDetailApi(APIView):
    """GET one attached change; DELETE it while it is pending (admins and change agents)."""

    @extend_schema(
        operation_id="milestone_changes_retrieve",
        summary="Get an attached topology change",
        parameters=[CHANGE_ID_PARAMETER],
        responses=MilestoneChangeOutputSerializer,
        tags=["scenarios"],
    )
    def get(self, request: Request, change_id: int) -> Response:
        access = milestone_change_get_for_user(user=request.user, change_id=change_id)
        return Response(MilestoneChangeOutputSerializer(access.change).data)

    @extend_schema(
        operation_id="milestone_changes_destroy",
        summary="Remove a pending topology change",
        parameters=[CHANGE_ID_PARAMETER],
        responses={204: None},
        tags=["scenarios"],
    )
    def delete(self, request: Request, change_id: int) -> Response:
        access = milestone_change_get_for_plan_edit(
            user=request.user, change_id=change_id, action="delete topology changes"
        )
        changes.milestone_change_delete(change=access.change)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MilestoneEnactOutputSerializer(serializers.Serializer):
    milestone = serializers.IntegerField()
    enacted = MilestoneChangeOutputSerializer(many=True)
    topology = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="The rows created, updated and deleted in the organisation graph.",
    )


class MilestoneEnactApi(APIView):
    """Apply the milestone's pending topology changes to the live graph, all or nothing
    (the milestone's owner, admins and change agents). A second call enacts nothing."""

    @extend_schema(
        operation_id="milestones_enact",
        summary="Apply a milestone's topology changes",
        parameters=[MILESTONE_ID_PARAMETER],
        request=None,
        responses=MilestoneEnactOutputSerializer,
        tags=["scenarios"],
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        access = milestone_get_for_update(
            user=request.user, milestone_id=milestone_id, action="enact its changes"
        )
        result = changes.milestone_changes_enact(
            milestone=access.milestone,
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(
            {
                "milestone": access.milestone.pk,
                "enacted": MilestoneChangeOutputSerializer(result.changes, many=True).data,
                "topology": result.topology,
            }
        )


class TransformationScenarioPreviewApi(APIView):
    """The analysis before and after the transformation's pending topology changes."""

    @extend_schema(
        operation_id="transformations_scenario_preview",
        summary="Preview the analysis after the planned changes",
        parameters=[
            TRANSFORMATION_ID_PARAMETER,
            OpenApiParameter(
                "milestone",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                required=False,
                description="Only the pending changes of milestones up to this one (plan order).",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
        tags=["scenarios"],
    )
    def get(self, request: Request, transformation_id: int) -> Response:
        access = transformation_get_for_user(user=request.user, transformation_id=transformation_id)
        reference = request.query_params.get("milestone")
        up_to = (
            selectors.plan_milestone_get(transformation=access.transformation, reference=reference)
            if reference
            else None
        )
        return Response(
            selectors.scenario_preview_get(transformation=access.transformation, up_to=up_to)
        )
