"""API routes of the outbox, under /api/v1/ (docs/delivery.md#the-deliveries-api)."""

from django.urls import path

from transform.outbox import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/deliveries/",
        apis.OrgDeliveryListApi.as_view(),
        name="org-deliveries",
    ),
]
