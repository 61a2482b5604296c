"""URL map: the web pages, the REST API under /api/v1/ (one route module per capability), its
OpenAPI schema and docs, the check-in form behind a signed link, and the admin."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from transform.answers import pages as answer_pages
from transform.web import urls as web_urls

urlpatterns = [
    path("", include("transform.web.urls")),
    *web_urls.auth_urlpatterns,
    path("admin/", admin.site.urls),
    path("api/v1/", include("teams.urls")),
    path("api/v1/", include("playbooks.urls")),
    path("api/v1/", include("transform.plans.urls")),
    path("api/v1/", include("transform.answers.urls")),
    path("api/v1/", include("transform.checkins.urls")),
    path("api/v1/", include("transform.instruments.urls")),
    path("api/v1/", include("transform.outbox.urls")),
    path("api/v1/", include("transform.evidence.urls")),
    path("api/v1/", include("transform.readiness.urls")),
    path("api/v1/", include("transform.audit.urls")),
    # The check-in response form: reached from a signed link, no login.
    path("c/<str:token>/", answer_pages.checkin_respond, name="checkin-respond"),
    # The schema and its docs need a login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]): the schema
    # answers 401 without a session or token, the docs page sends a browser to the login page.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api-auth/", include("rest_framework.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL that matches no route: under /api/ the API's error shape (ids are ``<int:>`` in
    routes, so ``/api/v1/milestones/abc/`` ends here), elsewhere Django's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    return page_not_found(request, exception)


handler404: Any = not_found
