"""The authentication backends (``AUTHENTICATION_BACKENDS``, docs/sso.md): passwords, which can
be switched off, and single sign-on through mozilla-django-oidc.

Both come after django-axes' ``core.auth.LoginLockoutBackend``, which keeps guarding password
logins. The domain rules of single sign-on (verified e-mail, linking people, mapped roles) live
in ``teams.sso``; this module only speaks OpenID Connect.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from teams.sso import SsoRefused, sso_login
from transform.web.sso_config import ProviderUnavailable, oidc_endpoint, sso_enabled

logger = logging.getLogger(__name__)

# Set on the request when a sign-in is refused: the callback page shows it to the person.
REFUSAL_ATTRIBUTE = "sso_refusal"


def axes_skips_sso_callbacks(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
    """``AXES_WHITELIST_CALLABLE``: django-axes neither counts nor locks the single sign-on
    callback. No password is checked there (guessing happens at the provider, which guards
    itself), and a refused sign-in has no username: counted, it would lock everyone behind the
    same address out of single sign-on. Every password login is still counted."""
    return request.path == reverse("oidc_authentication_callback")


class PasswordBackend(ModelBackend):
    """Django's username and password check, unless ``TRANSFORM_PASSWORD_LOGIN`` is false: then
    no password logs anyone in, wherever it is posted (the login page, the admin, DRF's
    ``/api-auth/login/``, the token endpoint). Permissions and sessions work as in
    ``ModelBackend``."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not settings.TRANSFORM_PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SsoBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's authorization-code flow with our settings: endpoints discovered
    lazily from the issuer (``transform.web.sso_config``), the user from ``teams.sso``.

    It answers only the callback of a sign-in it started (a request with ``code`` and ``state``)
    and only while ``TRANSFORM_OIDC_ISSUER`` is set; password logins pass it by without a network
    call, so a provider that is down never blocks them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: it reads the endpoints, which would fetch the provider's
        # discovery document whenever Django loads the backends (every password login too).
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # the library's attribute names
        return oidc_endpoint("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return oidc_endpoint("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return oidc_endpoint("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not sso_enabled() or request is None:
            return None
        if not (request.GET.get("code") and request.GET.get("state")):
            return None
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except ProviderUnavailable as exc:
            setattr(request, REFUSAL_ATTRIBUTE, f"The sign-in provider cannot be reached: {exc}")
            return None
        except requests.RequestException as exc:
            # The token, userinfo or key request failed (a wrong secret, the provider down
            # mid-way): the details go to the log, the person gets a page rather than a 500.
            logger.warning("Single sign-on failed at the provider: %s", exc)
            setattr(
                request,
                REFUSAL_ATTRIBUTE,
                "The sign-in provider did not complete the sign-in; try again, or ask your "
                "administrator to look at Transform's log.",
            )
            return None
        return user

    def get_user(self, user_id: Any) -> User | None:
        # ModelBackend's, not the library's: a deactivated login's session ends at once.
        user: User | None = ModelBackend.get_user(self, user_id)
        return user

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        """The login for the verified ID token ``payload`` and the userinfo claims (which win
        where both name a claim; some providers put groups in the ID token only)."""
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core 5.3.2: a userinfo answer for another subject must not be used.
            raise SuspiciousOperation("The userinfo subject differs from the ID token's")
        try:
            signed_in = sso_login(
                claims={**payload, **userinfo},
                role_claim=settings.TRANSFORM_OIDC_ROLE_CLAIM,
                role_map=settings.TRANSFORM_OIDC_ROLE_MAP,
                verified_claim=settings.TRANSFORM_OIDC_EMAIL_VERIFIED_CLAIM,
            )
        except SsoRefused as exc:
            setattr(self.request, REFUSAL_ATTRIBUTE, exc.message)
            return None
        return signed_in.user
