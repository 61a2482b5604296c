"""API routes of instruments, under /api/v1/ (docs/instruments.md)."""

from django.urls import path

from transform.instruments import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/instruments/",
        apis.OrgInstrumentListApi.as_view(),
        name="org-instruments",
    ),
]
