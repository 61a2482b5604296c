"""API routes of the playbook library, under /api/v1/ (docs/playbook-format.md)."""

from django.urls import path

from playbooks import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/playbooks/",
        apis.PlaybookListCreateApi.as_view(),
        name="playbook-list",
    ),
    path(
        "orgs/<slug:org_slug>/playbooks/<slug:key>/",
        apis.PlaybookDetailApi.as_view(),
        name="playbook-detail",
    ),
]
