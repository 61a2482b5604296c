"""The JSON shapes of milestones and the plan report, shared by the API, the ``plan_report``
command and the plan pages (docs/transformations.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from teams.apis import PersonBriefSerializer
from transform.models import (
    Milestone,
)
from transform.plans.selectors import (
    PlanReport,
    milestone_override_get,
    milestone_started_before_dependencies,
)


class OverrideSerializer(serializers.Serializer):
    reason = serializers.CharField()
    by = serializers.CharField(allow_null=True, help_text="Username of the leader or admin.")
    at = serializers.DateTimeField(allow_null=True)
    dependencies = serializers.ListField(
        child=serializers.CharField(),
        help_text="Keys of the dependencies that were not done when it was marked done.",
    )


class MilestoneOutputSerializer(serializers.ModelSerializer):
    transformation = serializers.IntegerField(source="transformation_id", read_only=True)
    playbook = serializers.CharField(source="playbook.key", read_only=True)
    playbook_version = serializers.IntegerField(source="playbook.version", read_only=True)
    owner = PersonBriefSerializer(read_only=True)
    depends_on = serializers.SerializerMethodField()
    started_before_dependencies = serializers.SerializerMethodField(
        help_text="Keys of the dependencies that were not done when the milestone started: a "
        "warning (empty when it has not started, or started after them all)."
    )
    override = serializers.SerializerMethodField()

    class Meta:
        model = Milestone
        fields = [
            "id",
            "transformation",
            "key",
            "source_key",
            "playbook",
            "playbook_version",
            "phase_key",
            "phase_title",
            "title",
            "why",
            "how",
            "duration_days",
            "owner_role",
            "owner",
            "checkin_every_days",
            "exit_criteria",
            "depends_on",
            "started_before_dependencies",
            "status",
            "status_reason",
            "started_on",
            "done_on",
            "reported_due",
            "planned_start",
            "planned_due",
            "forecast_start",
            "forecast_due",
            "slack_days",
            "critical",
            "override",
            "created_at",
            "updated_at",
        ]

    def get_depends_on(self, milestone: Milestone) -> list[str]:
        return [dependency.key for dependency in milestone.depends_on.all()]

    def get_started_before_dependencies(self, milestone: Milestone) -> list[str]:
        return milestone_started_before_dependencies(milestone=milestone)

    @extend_schema_field(OverrideSerializer(allow_null=True))
    def get_override(self, milestone: Milestone) -> dict[str, Any] | None:
        return milestone_override_get(milestone=milestone)


class CriterionResultSerializer(serializers.Serializer):
    criterion = serializers.DictField(help_text="The exit criterion as the playbook states it.")
    status = serializers.ChoiceField(choices=["pass", "fail", "unknown"])
    message = serializers.CharField()
    evidence = serializers.DictField(help_text="What the check saw (counts, teams, readings).")


class PlanMilestoneSerializer(MilestoneOutputSerializer):
    """A milestone in the plan report: its schedule and its exit criteria evaluated now (the
    report's context carries the results by milestone id)."""

    phase = serializers.CharField(source="phase_key", read_only=True)
    exit_criteria = serializers.SerializerMethodField()

    class Meta(MilestoneOutputSerializer.Meta):
        fields = [
            "id",
            "key",
            "title",
            "playbook",
            "phase",
            "phase_title",
            "owner_role",
            "owner",
            "status",
            "status_reason",
            "duration_days",
            "planned_start",
            "planned_due",
            "forecast_start",
            "forecast_due",
            "started_on",
            "done_on",
            "depends_on",
            "started_before_dependencies",
            "slack_days",
            "critical",
            "exit_criteria",
            "override",
        ]

    @extend_schema_field(CriterionResultSerializer(many=True))
    def get_exit_criteria(self, milestone: Milestone) -> list[dict[str, Any]]:
        return [result.as_dict() for result in self.context["criteria"][milestone.pk]]


class PlaybookBriefSerializer(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()


class PlanReportSerializer(serializers.Serializer):
    """The plan report of ``transform.plans.selectors.transformation_plan_get``."""

    id = serializers.IntegerField(source="transformation.pk")
    organization = serializers.CharField(source="transformation.organization.slug")
    title = serializers.CharField(source="transformation.title")
    start_date = serializers.DateField(source="transformation.start_date")
    planned_end = serializers.DateField(source="transformation.planned_end", allow_null=True)
    forecast_end = serializers.DateField(source="transformation.forecast_end", allow_null=True)
    critical_path = serializers.ListField(
        source="transformation.critical_path",
        child=serializers.CharField(),
        help_text="Milestone keys of the critical path, first to last.",
    )
    lead_change_agent = PersonBriefSerializer(source="transformation.lead_change_agent")
    sponsor = PersonBriefSerializer(source="transformation.sponsor", allow_null=True)
    playbooks = PlaybookBriefSerializer(many=True)
    milestones = serializers.SerializerMethodField()

    @extend_schema_field(PlanMilestoneSerializer(many=True))
    def get_milestones(self, report: PlanReport) -> list[dict[str, Any]]:
        return list(
            PlanMilestoneSerializer(
                report.milestones, many=True, context={"criteria": report.criteria}
            ).data
        )


def plan_report_data(report: PlanReport) -> dict[str, Any]:
    """The plan report as JSON-ready values (the API's, the command's and the pages' shape)."""
    return dict(PlanReportSerializer(report).data)
