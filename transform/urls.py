"""URL map: the web pages, the REST API under /api/v1/ (one route module per capability), its
OpenAPI schema and docs, the check-in form behind a signed link, and the admin."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from transform import health, metrics
from transform.answers import pages as answer_pages
from transform.web import calendar_pages, error_pages
from transform.web import urls as web_urls
from transform.web.api_root import ApiRootApi
from transform.webhooks import urls as webhook_urls

urlpatterns = [
    path("", include("transform.web.urls")),
    *web_urls.auth_urlpatterns,
    path("admin/", admin.site.urls),
    # The API's index: its sections and docs (docs/api.md, "API root").
    path("api/v1/", ApiRootApi.as_view(), name="api-root"),
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
    path("api/v1/", include("transform.webhooks.urls")),
    # Webhooks of GitHub, GitLab, Jira and PagerDuty: signed by the sender, no login.
    *webhook_urls.hook_urlpatterns,
    # The check-in response form: reached from a signed link, no login.
    path("c/<str:token>/", answer_pages.checkin_respond, name="checkin-respond"),
    # Calendar feeds: a secret URL, no login (docs/integrations.md, "Calendars").
    path("cal/<str:token>.ics", calendar_pages.calendar_feed, name="calendar-feed"),
    # The schema and its docs need a login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]): the schema
    # answers 401 without a session or token, the docs page sends a browser to the login page.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api-auth/", include("rest_framework.urls")),
    # Probes and metrics for operators (docs/deployment.md): no login; /metrics needs its token.
    path("health/live/", health.liveness_view(), name="health-live"),
    path("health/ready/", health.readiness_view(), name="health-ready"),
    path("health/workers/", health.workers_view(), name="health-workers"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon.
    path("favicon.ico", error_pages.favicon, name="favicon"),
]


# The site's 403 and 404 pages (docs/web.md, "Errors"); under /api/ the API's error shape (ids are
# ``<int:>`` in routes, so ``/api/v1/milestones/abc/`` ends in the 404 handler).
handler403: Any = error_pages.permission_denied
handler404: Any = error_pages.page_not_found
