"""API routes of transformations and milestones, under /api/v1/ (docs/transformations.md)."""

from django.urls import path

from transform import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/transformations/",
        apis.OrgTransformationListApi.as_view(),
        name="org-transformations",
    ),
    path(
        "transformations/<str:transformation_id>/",
        apis.TransformationDetailApi.as_view(),
        name="transformation-detail",
    ),
    path(
        "transformations/<str:transformation_id>/plan/",
        apis.TransformationPlanApi.as_view(),
        name="transformation-plan",
    ),
    path(
        "transformations/<str:transformation_id>/milestones/",
        apis.TransformationMilestoneListApi.as_view(),
        name="transformation-milestones",
    ),
    path(
        "milestones/<str:milestone_id>/", apis.MilestoneDetailApi.as_view(), name="milestone-detail"
    ),
    path(
        "milestones/<str:milestone_id>/transition/",
        apis.MilestoneTransitionApi.as_view(),
        name="milestone-transition",
    ),
    path(
        "milestones/<str:milestone_id>/reassign/",
        apis.MilestoneReassignApi.as_view(),
        name="milestone-reassign",
    ),
    path(
        "milestones/<str:milestone_id>/reschedule/",
        apis.MilestoneRescheduleApi.as_view(),
        name="milestone-reschedule",
    ),
    path(
        "milestones/<str:milestone_id>/events/",
        apis.MilestoneEventListApi.as_view(),
        name="milestone-events",
    ),
    path(
        "transformations/<str:transformation_id>/scenario/preview/",
        apis.TransformationScenarioPreviewApi.as_view(),
        name="transformation-scenario-preview",
    ),
    path(
        "milestones/<str:milestone_id>/changes/",
        apis.MilestoneChangeListApi.as_view(),
        name="milestone-changes",
    ),
    path(
        "milestones/<str:milestone_id>/enact/",
        apis.MilestoneEnactApi.as_view(),
        name="milestone-enact",
    ),
    path(
        "milestone-changes/<str:change_id>/",
        apis.MilestoneChangeDetailApi.as_view(),
        name="milestone-change-detail",
    ),
]
