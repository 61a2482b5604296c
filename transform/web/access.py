"""The web pages' edge of the access rules: ``org_page`` gives a view the caller's standing in
the organisation of its URL and turns the domain errors of ``transform.access`` into pages.

A view wrapped in ``org_page`` takes ``(request, access, ...)``: it requires a login (redirect to
the login page), resolves the caller's roles in the organisation of the URL (404 when they hold
none, exactly as the API answers), and turns ``NotFoundError`` into Django's 404 page and
``PermissionDeniedError`` into its 403 page, wherever in the view they are raised. While the
view runs, Django's current time zone is the caller's display zone (their own, else the
organisation's: docs/time-zones.md), so every time the page shows is in it.

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
from django.utils import timezone

from core.errors import NotFoundError, PermissionDeniedError
from core.zones import zone_get
from teams.access import team_get_for_user
from teams.models import Person, Team
from teams.zones import person_time_zones_for_user
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
            # Every time the page shows is in the caller's display zone (docs/time-zones.md);
            # the response is rendered inside the view, so the zone can end with it.
            timezone.activate(zone_get(display_zone_name_get(request, access)))
            try:
                return view(request, access, *args, **kwargs)
            finally:
                timezone.deactivate()
        except NotFoundError as exc:
            raise Http404(exc.message) from exc
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from exc

    return wrapped


# The session holds, per organisation id, the display zone the person chose there, so that pages
# never read it: it is filled at sign-in (``display_zones_on_login``, connected in
# transform/apps.py) and changed by the "Time zones" page. A change made in another browser or
# through the admin shows from the next sign-in (docs/time-zones.md).
DISPLAY_ZONES_SESSION_KEY = "transform_display_zones"


def display_zone_name_get(request: HttpRequest, access: OrgAccess) -> str:
    """The zone ``request``'s caller reads times in in ``access``'s organisation: their own
    (from the session) or else the organisation's. No query."""
    zones = request.session.get(DISPLAY_ZONES_SESSION_KEY) or {}
    return str(zones.get(str(access.organization.pk)) or access.organization.time_zone)


def display_zone_remember(request: HttpRequest, access: OrgAccess, time_zone: str) -> None:
    """Make ``time_zone`` ("" for the organisation's) the caller's display zone in this session."""
    zones: dict[str, str] = dict(request.session.get(DISPLAY_ZONES_SESSION_KEY) or {})
    zones[str(access.organization.pk)] = time_zone
    request.session[DISPLAY_ZONES_SESSION_KEY] = zones


def display_zones_on_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """``user_logged_in`` receiver: the display zones the login's people chose, into the new
    session (one query)."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[DISPLAY_ZONES_SESSION_KEY] = person_time_zones_for_user(user_id=user.pk)


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
