"""Rate limits, on DRF's throttles (docs/api.md#authentication): who a client is (its address),
and throttles whose rates are read from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` when a
request comes, not when the class is imported, so a settings override takes effect. Counts live
in the default cache (Redis in production, so all processes share them). A rate of ``None``
("off" in the environment) lets everything through. No domain rules live here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


def client_ip(request: HttpRequest | Request) -> str:
    """The client's address, as DRF's throttles see it (``NUM_PROXIES``, which settings set from
    ``TRUSTED_PROXY_COUNT``): ``REMOTE_ADDR``, or behind N trusted proxies the N-th address from
    the right of ``X-Forwarded-For``, the one the outermost trusted proxy saw. Addresses further
    left are the client's own claim and never trusted. django-axes uses it too
    (``AXES_CLIENT_IP_CALLABLE``), so lockouts and throttles key on the same address."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if proxies and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return remote


class _RateFromSettings(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}")
        return rates[self.scope]


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Every API request of a logged-in user (scope ``user``), a generous rate that stops a
    runaway script; anonymous requests count per address."""


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Every API request without a login (scope ``anon``), per address."""


class AddressThrottle(_RateFromSettings):
    """Every request of one address in a scope, logged in or not. Subclasses name the scope. It
    also works on plain Django views: ``allow_request(request, None)``, then ``wait()``."""

    def allow_request(self, request: Any, view: Any) -> bool:
        # Widened from DRF's (Request, APIView): the key needs only the request's META.
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class FailureThrottle(AddressThrottle):
    """Counts failures of one address instead of requests: ``blocked(request)`` before trying,
    ``failed(request)`` after a failure. While blocked, the caller refuses every try, right or
    wrong, so the answer tells a guesser nothing; ``wait()`` then says for how long."""

    # Set by SimpleRateThrottle.__init__ from the rate (the type stubs leave them out).
    num_requests: int
    duration: int

    def _load(self, request: Any) -> bool:
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return True

    def blocked(self, request: Any) -> bool:
        return self._load(request) and len(self.history) >= self.num_requests

    def failed(self, request: Any) -> None:
        if self._load(request):
            self.throttle_success()  # records "now" in the history, as a counted request
