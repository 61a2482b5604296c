"""The sign-in pages (docs/sso.md): the login page with its single sign-on button, the start and
callback of an OpenID Connect sign-in (mozilla-django-oidc's views), and the password reset by
e-mail (Django's views), which exists only while password login is on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from transform.web.sso_backends import REFUSAL_ATTRIBUTE
from transform.web.sso_config import (
    ProviderUnavailable,
    oidc_endpoint,
    provider_logout_url,
    sso_enabled,
)

PASSWORD_LOGIN_OFF = (
    "Password login is switched off on this installation: sign in with {provider} instead."
)


def sign_in_context() -> dict[str, Any]:
    """What the login and failure pages show: which ways to sign in exist."""
    return {
        "sso_enabled": sso_enabled(),
        "sso_provider": settings.TRANSFORM_OIDC_PROVIDER_NAME,
        "password_login": settings.TRANSFORM_PASSWORD_LOGIN,
    }


def _failure(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(
        request,
        "registration/sso_failed.html",
        {**sign_in_context(), "message": message},
        status=status,
    )


class LoginPage(auth_views.LoginView):
    """Django's login page, with "Sign in with <provider>" when single sign-on is on. With
    password login off the form is not shown and a posted password is refused (403) before any
    password check; ``PasswordBackend`` refuses it on every other path too."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **sign_in_context()}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.TRANSFORM_PASSWORD_LOGIN:
            message = PASSWORD_LOGIN_OFF.format(provider=settings.TRANSFORM_OIDC_PROVIDER_NAME)
            return _failure(request, message, status=403)
        response: HttpResponse = super().post(request, *args, **kwargs)
        return response


class LogoutPage(auth_views.LogoutView):
    """Django's logout (POST), then, for a person who signed in through the provider, the
    provider's own logout, which comes back to the login page: else *Sign in with …* would let
    them, or the next person at the same computer, straight back in without a password."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = str(request.session.get("oidc_id_token") or "")
        response = super().post(request, *args, **kwargs)
        after = request.build_absolute_uri(reverse("login"))
        provider = provider_logout_url(id_token=id_token, after=after)
        return HttpResponseRedirect(provider) if provider else response


class SsoStartView(OIDCAuthenticationRequestView):
    """``/oidc/authenticate/``: sends the browser to the provider. The authorization endpoint is
    looked up here, on use, never when the URLs load."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Skips the library's __init__, which reads the endpoint from settings eagerly.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as exc:
            return _failure(request, f"The sign-in provider cannot be reached: {exc}", status=503)
        response: HttpResponseBase = super().get(request)
        return response


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """``/oidc/callback/``: where the provider sends the browser back. A refused sign-in shows
    why (an unverified e-mail, for one) instead of the library's silent redirect."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        response: HttpResponseBase = super().get(request)
        return response

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, REFUSAL_ATTRIBUTE, None)
        if reason:
            return _failure(self.request, reason, status=403)
        if self.request.GET.get("error"):
            detail = self.request.GET.get("error_description") or self.request.GET["error"]
            return _failure(self.request, f"The sign-in provider said: {detail}", status=403)
        return _failure(
            self.request,
            "The sign-in did not complete (it may have expired or been used already). "
            "Start again from the login page.",
            status=400,
        )


# --- password reset by e-mail -------------------------------------------------------------------


class _PasswordLoginOnly:
    """The reset pages exist only while password login is on."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.TRANSFORM_PASSWORD_LOGIN:
            raise Http404("Password login is switched off.")
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


class PasswordResetPage(_PasswordLoginOnly, auth_views.PasswordResetView):
    """Asks for an e-mail and mails a one-time link to each active login with that address and a
    usable password (Django's rule: logins that only sign in through the provider get nothing).
    The answer is the same whether or not the address is known."""

    template_name = "registration/reset_password_form.html"
    email_template_name = "registration/reset_password_email.txt"
    subject_template_name = "registration/reset_password_subject.txt"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDonePage(_PasswordLoginOnly, auth_views.PasswordResetDoneView):
    template_name = "registration/reset_password_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
        return {**super().get_context_data(**kwargs), "timeout_days": days}


class PasswordResetConfirmPage(_PasswordLoginOnly, auth_views.PasswordResetConfirmView):
    template_name = "registration/reset_password_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompletePage(_PasswordLoginOnly, auth_views.PasswordResetCompleteView):
    template_name = "registration/reset_password_complete.html"
