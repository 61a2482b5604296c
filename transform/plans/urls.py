"""API routes of transformations and milestones, under /api/v1/ (docs/transformations.md)."""

from django.urls import path

from transform.plans import apis, export_apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/transformations/",
        apis.OrgTransformationListApi.as_view(),
        name="org-transformations",
    ),
    path(
        "transformations/<int:transformation_id>/",
        apis.TransformationDetailApi.as_view(),
        name="transformation-detail",
    ),
    path(
        "transformations/<int:transformation_id>/plan/",
        apis.TransformationPlanApi.as_view(),
        name="transformation-plan",
    ),
    path(
        "transformations/<int:transformation_id>/plan.csv",
        export_apis.TransformationPlanCsvApi.as_view(),
        name="transformation-plan-csv",
    ),
    path(
        "transformations/<int:transformation_id>/plan.xlsx",
        export_apis.TransformationPlanXlsxApi.as_view(),
        name="transformation-plan-xlsx",
    ),
    path(
        "transformations/<int:transformation_id>/milestones/",
        apis.TransformationMilestoneListApi.as_view(),
        name="transformation-milestones",
    ),
    path(
        "milestones/<int:milestone_id>/", apis.MilestoneDetailApi.as_view(), name="milestone-detail"
    ),
    path(
        "milestones/<int:milestone_id>/transition/",
        apis.MilestoneTransitionApi.as_view(),
        name="milestone-transition",
    ),
    path(
        "milestones/<int:milestone_id>/reassign/",
        apis.MilestoneReassignApi.as_view(),
        name="milestone-reassign",
    ),
    path(
        "milestones/<int:milestone_id>/reschedule/",
        apis.MilestoneRescheduleApi.as_view(),
        name="milestone-reschedule",
    ),
    path(
        "milestones/<int:milestone_id>/events/",
        apis.MilestoneEventListApi.as_view(),
        name="milestone-events",
    ),
    path(
        "transformations/<int:transformation_id>/scenario/preview/",
        apis.TransformationScenarioPreviewApi.as_view(),
        name="transformation-scenario-preview",
    ),
    path(
        "milestones/<int:milestone_id>/changes/",
        apis.MilestoneChangeListApi.as_view(),
        name="milestone-changes",
    ),
    path(
        "milestones/<int:milestone_id>/enact/",
        apis.MilestoneEnactApi.as_view(),
        name="milestone-enact",
    ),
    path(
        "milestone-changes/<int:change_id>/",
        apis.MilestoneChangeDetailApi.as_view(),
        name="milestone-change-detail",
    ),
]
