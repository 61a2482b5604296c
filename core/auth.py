"""Logins and API tokens (docs/api.md#authentication): the lockout of repeated failed logins
(django-axes), API tokens that expire, a throttle on invalid tokens, and the token endpoint that
issues and revokes them. No domain rules live here.

- Lockout: ``LoginLockoutBackend`` refuses a locked username+address before any password check;
  ``lockout_response`` answers 429 with ``Retry-After``, a page for the login pages and the API's
  error shape under ``/api/``. Settings: ``AXES_*`` in ``transform.settings``.
- Tokens: ``ExpiringTokenAuthentication`` refuses a token older than ``TRANSFORM_TOKEN_TTL`` (401)
  and, after too many invalid tokens from one address, every token from it for a while (429).
  ``token_issue`` and ``token_revoke`` serve the token endpoint (``core.auth_apis``). Admins
  revoke anyone's token in the Django admin (Auth Token > Tokens).

REST_FRAMEWORK's settings import this module, so it must not import DRF's views.
"""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from core.throttles import FailureThrottle, client_ip

# --- login lockout ------------------------------------------------------------------------------


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' backend, first in ``AUTHENTICATION_BACKENDS``: a locked-out username+address
    is refused before any backend checks the password.

    A call without a request is let through to the next backend: every login over HTTP passes its
    request (Django's login and admin views, DRF's ``/api-auth/login/`` and token serializer), and
    a call without one (the test client's ``login()``, a shell) has no remote client to lock out.
    Axes itself raises there instead."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None


def lockout_seconds_left(request: HttpRequest | Request, credentials: dict[str, Any] | None) -> int:
    """Whole seconds until the lockout of this username from this address ends: the cool-off
    counts from the last failure recorded before the lock (refused tries do not extend it)."""
    cool_off = get_cool_off(request) or settings.AXES_COOLOFF_TIME
    last = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials), ip_address=client_ip(request)
    ).aggregate(last=Max("attempt_time"))["last"]
    ends = (last or timezone.now()) + cool_off
    return max(1, math.ceil((ends - timezone.now()).total_seconds()))


def lockout_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return (
        "Too many failed logins for this username from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: what a locked-out login gets, 429 with ``Retry-After``. Under
    ``/api/`` the API's error shape, elsewhere a page that says when to try again."""
    seconds = lockout_seconds_left(request, credentials)
    message = lockout_message(seconds)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"message": message, "extra": {"retry_after": seconds}},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"message": message, "seconds": seconds},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    response["Retry-After"] = str(seconds)
    return response


class LoginLockedOut(exceptions.Throttled):
    """The token endpoint's lockout: 429 with ``Retry-After``, in the API's error shape."""

    def __init__(self, seconds: int) -> None:
        super().__init__(wait=seconds)
        # DRF would append "Expected available in N seconds." to a detail; the message says it.
        self.detail = exceptions.ErrorDetail(lockout_message(seconds), code=self.default_code)


# --- tokens -------------------------------------------------------------------------------------


class InvalidTokenThrottle(FailureThrottle):
    """Invalid or expired tokens per address (scope ``invalid_token``)."""

    scope = "invalid_token"


def token_expires_at(token: Token) -> Any:
    return token.created + settings.TRANSFORM_TOKEN_TTL


def token_is_expired(token: Token) -> bool:
    return token_expires_at(token) <= timezone.now()


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, with a lifetime and a guard against guessing.

    A token issued ``TRANSFORM_TOKEN_TTL`` ago or earlier is refused (401, like an unknown one).
    Once an address has sent ``THROTTLE_RATES["invalid_token"]`` invalid tokens, every token it
    sends, valid or not, is refused with 429 and ``Retry-After`` until the oldest failure leaves
    the window: a guesser learns nothing from the answers while blocked."""

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        throttle = InvalidTokenThrottle()
        if throttle.blocked(request):
            raise exceptions.Throttled(wait=throttle.wait())
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.failed(request)
            raise

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            raise exceptions.AuthenticationFailed(
                "The token has expired: ask for a new one at /api/v1/auth/token/."
            )
        return user, token


@transaction.atomic
def token_issue(*, user: Any) -> Token:
    """The user's token: the existing one while it is valid, else a new one (an expired token is
    replaced, so logging in again is how a client renews)."""
    token, created = Token.objects.select_for_update().get_or_create(user=user)
    if not created and token_is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


def token_revoke(*, user: Any) -> int:
    """Deletes the user's token; the number of tokens deleted (0 or 1)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
