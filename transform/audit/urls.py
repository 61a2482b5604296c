"""API routes of the audit trail, under /api/v1/ (docs/audit.md)."""

from django.urls import path

from transform.audit import apis

urlpatterns = [
    path("orgs/<slug:org_slug>/audit/", apis.OrgAuditListApi.as_view(), name="org-audit"),
    path("orgs/<slug:org_slug>/audit.csv", apis.OrgAuditCsvApi.as_view(), name="org-audit-csv"),
]
