"""API routes of the check-in rhythm, under /api/v1/ (docs/checkins.md)."""

from django.urls import path

from transform.checkins import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/checkin-settings/",
        apis.CheckinSettingsApi.as_view(),
        name="org-checkin-settings",
    ),
    path(
        "orgs/<slug:org_slug>/topology-verification/",
        apis.TeamVerificationListApi.as_view(),
        name="org-topology-verification",
    ),
]
