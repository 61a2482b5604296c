"""URL map of the web interface (namespace ``web``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from transform.web import graph_pages, home_pages, leadership_pages, plan_pages

app_name = "web"

urlpatterns = [
    path("", home_pages.home, name="home"),
    path("o/<slug:org_slug>/", home_pages.org_home, name="org-home"),
    *graph_pages.urlpatterns,
    *plan_pages.urlpatterns,
    *leadership_pages.urlpatterns,
]

auth_urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
