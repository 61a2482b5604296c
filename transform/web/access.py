"""Who may see which page: the same selectors and rules as the API, turned into page responses.

``org_page`` wraps a view taking ``(request, access, ...)``: it requires a login (redirect to the
login page), resolves the caller's roles in the organisation of the URL (404 when they hold none,
exactly as the API answers), and turns the API's permission errors into Django's 403 page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions as drf_exceptions

from teams.selectors import OrgAccess, org_access_get

P = ParamSpec("P")

OrgView = Callable[Concatenate[HttpRequest, OrgAccess, P], HttpResponse]


def org_page(view: OrgView[P]) -> Callable[..., HttpResponse]:
    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            access = org_access_get(user=request.user, org_slug=org_slug)
            return view(request, access, *args, **kwargs)
        except drf_exceptions.NotFound as exc:
            raise Http404(str(exc.detail)) from exc
        except drf_exceptions.PermissionDenied as exc:
            raise PermissionDenied(str(exc.detail)) from exc

    return wrapped
