"""API routes of answering check-ins, under /api/v1/ (docs/responses.md). The form page behind a
link is routed in ``transform.urls``."""

from django.urls import path

from transform.answers import apis

urlpatterns = [
    path("checkin-links/<str:token>/", apis.CheckinLinkApi.as_view(), name="checkin-link"),
    path("me/checkins/", apis.MyCheckinListApi.as_view(), name="me-checkins"),
    path(
        "checkins/<int:checkin_id>/response/",
        apis.CheckinResponseApi.as_view(),
        name="checkin-response",
    ),
]
