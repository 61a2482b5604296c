"""The audit trail: who changed what in an organisation, when, from what to what (docs/audit.md).

Read-only: it merges the rows that django-simple-history and the event logs already keep
(``selectors``), for one organisation at a time, and shows them through the API (``apis``), a
CSV export (``export``) and a web page (``transform.web.audit_pages``)."""
