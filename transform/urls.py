"""URL map: the REST API under /api/v1/, its OpenAPI schema and docs, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from transform import views
from transform.web import urls as web_urls

urlpatterns = [
    path("", include("transform.web.urls")),
    *web_urls.auth_urlpatterns,
    path("admin/", admin.site.urls),
    path("api/v1/", include("teams.urls")),
    path("api/v1/", include("playbooks.urls")),
    path("api/v1/", include("transform.api_urls")),
    path("api/v1/", include("transform.checkin_apis")),
    path("api/v1/", include("transform.checkin_plan_apis")),
    path("api/v1/", include("transform.delivery_apis")),
    path("api/v1/", include("transform.signal_apis")),
    path("api/v1/", include("transform.readiness_apis")),
    # The check-in response form: reached from a signed link, no login.
    path("c/<str:token>/", views.checkin_respond, name="checkin-respond"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
]
