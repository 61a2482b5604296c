"""API routes of ingested signal events, under /api/v1/ (docs/signal-events-format.md)."""

from django.urls import path

from transform.evidence import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/signal-events/",
        apis.SignalEventListApi.as_view(),
        name="org-signal-events",
    ),
    path("orgs/<slug:org_slug>/dora/", apis.OrgDoraApi.as_view(), name="org-dora"),
]
