"""API routes of readiness, under /api/v1/ (docs/readiness.md)."""

from django.urls import path

from transform.readiness import apis

urlpatterns = [
    path("orgs/<slug:org_slug>/readiness/", apis.OrgReadinessApi.as_view(), name="org-readiness"),
    path(
        "orgs/<slug:org_slug>/readiness/comments/",
        apis.OrgReadinessCommentsApi.as_view(),
        name="org-readiness-comments",
    ),
    path(
        "orgs/<slug:org_slug>/readiness/history/",
        apis.OrgReadinessHistoryApi.as_view(),
        name="org-readiness-history",
    ),
]
