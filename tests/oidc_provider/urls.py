"""The provider's routes: django-oauth-toolkit under /o/ (so the issuer is ``<base>/o``) and a
login page."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
]
