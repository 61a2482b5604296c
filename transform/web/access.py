"""The web pages' edge of the access rules: ``org_page`` gives a view the caller's standing in
the organisation of its URL and turns the domain errors of ``transform.access`` into pages.

A view wrapped in ``org_page`` takes ``(request, access, ...)``: it requires a login (redirect to
the login page), resolves the caller's roles in the organisation of the URL (404 when they hold
none, exactly as the API answers), and turns ``NotFoundError`` into Django's 404 page and
``PermissionDeniedError`` into its 403 page, wherever in the view they are raised.

``person_get_for_departure`` and ``team_get_for_retirement`` are the graph panel's two writes'
rules, one call each (the organisation graph's own rules are ``teams.access``'s).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from core.errors import NotFoundError, PermissionDeniedError
from teams.access import team_get_for_user
from teams.models import Person, Team
from transform.access import OrgAccess, org_access_get, org_manage_access_check
from transform.plans.selectors import person_get_by_email

P = ParamSpec("P")

OrgView = Callable[Concatenate[HttpRequest, OrgAccess, P], HttpResponse]


def org_page(view: OrgView[P]) -> Callable[..., HttpResponse]:
    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            access = org_access_get(user=request.user, org_slug=org_slug)
            return view(request, access, *args, **kwargs)
        except NotFoundError as exc:
            raise Http404(exc.message) from exc
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from exc

    return wrapped


def person_get_for_departure(*, access: OrgAccess, email: str) -> Person:
    """The person ``email`` of the caller's organisation, for an admin or change agent to mark
    as a leaver: ``PermissionDeniedError`` (403) for other roles, ``ApplicationError`` (400, on
    the field ``email``) when the organisation has no such person."""
    org_manage_access_check(access=access, action="mark people as leavers")
    return person_get_by_email(organization=access.organization, email=email, field="email")


def team_get_for_retirement(*, access: OrgAccess, slug: str) -> Team:
    """The live team ``slug`` of the caller's organisation, for an admin or change agent to
    retire: ``PermissionDeniedError`` (403) for other roles, ``NotFoundError`` (404) when there
    is no such live team."""
    org_manage_access_check(access=access, action="retire teams")
    return team_get_for_user(access=access, slug=slug)
