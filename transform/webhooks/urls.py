"""Routes of webhooks: the admin API under /api/v1/ (``urlpatterns``) and the receivers under
/hooks/ (``hook_urlpatterns``, outside the API's authentication)."""

from django.urls import path

from transform.webhooks import apis

urlpatterns = [
    path(
        "orgs/<slug:org_slug>/webhooks/",
        apis.WebhookEndpointListApi.as_view(),
        name="org-webhooks",
    ),
    path(
        "orgs/<slug:org_slug>/webhooks/<str:sender>/",
        apis.WebhookEndpointDetailApi.as_view(),
        name="org-webhook",
    ),
    path(
        "orgs/<slug:org_slug>/webhooks/<str:sender>/rotate/",
        apis.WebhookEndpointRotateApi.as_view(),
        name="org-webhook-rotate",
    ),
    path(
        "orgs/<slug:org_slug>/webhook-mappings/",
        apis.WebhookMappingListApi.as_view(),
        name="org-webhook-mappings",
    ),
    path(
        "orgs/<slug:org_slug>/webhook-mappings/<int:mapping_id>/",
        apis.WebhookMappingDetailApi.as_view(),
        name="org-webhook-mapping",
    ),
    path(
        "orgs/<slug:org_slug>/webhook-deliveries/",
        apis.WebhookDeliveryListApi.as_view(),
        name="org-webhook-deliveries",
    ),
    path(
        "orgs/<slug:org_slug>/webhook-deliveries/reprocess/",
        apis.WebhookDeliveryReprocessApi.as_view(),
        name="org-webhook-deliveries-reprocess",
    ),
    path(
        "orgs/<slug:org_slug>/webhook-deliveries/<int:delivery_id>/",
        apis.WebhookDeliveryDetailApi.as_view(),
        name="org-webhook-delivery",
    ),
]

hook_urlpatterns = [
    path("hooks/<str:org_slug>/<str:sender>/", apis.webhook_receive, name="webhook-receive"),
]
