"""Calendar feeds on the web (docs/integrations.md, "Calendars"): the feed itself at its secret
URL, read without a login, and the two buttons that make or reset a URL.

- ``GET /cal/<token>.ics``: the feed ``token`` opens (``transform.plans.calendars``), or 404.
- ``POST /o/<org>/calendar/``: the caller makes or resets the URL of their own person's feed
  (their milestones and open check-ins in the organisation), from the Plans or My team page.
- ``POST /o/<org>/plans/<id>/calendar/``: an admin or change agent makes or resets the URL of the
  transformation's feed (every milestone), from the plan page.

The new URL is shown once, in the page's message: only its hash is stored.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.http import require_POST, require_safe

from core.errors import NotFoundError
from teams.selectors import person_of_user
from transform.access import OrgAccess, org_manage_access_check, transformation_get_for_user
from transform.plans.calendars import (
    calendar_feed_get_by_token,
    calendar_feed_ics,
    calendar_feed_reset_for_person,
    calendar_feed_reset_for_transformation,
)
from transform.web.access import org_page

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"
_SHOWN_ONCE = (
    "Copy it now into your calendar application (“subscribe to a calendar by URL”): it is shown "
    "only this once; resetting it again stops this one."
)


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar file of the feed ``token`` opens; 404 for any other token."""
    try:
        feed = calendar_feed_get_by_token(token=token)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    body = calendar_feed_ics(feed=feed)
    # An unchanged feed is the same bytes (stable UIDs and stamps): a calendar application that
    # sends back the ETag gets a 304 and nothing to parse.
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        body, content_type=CALENDAR_CONTENT_TYPE
    )
    response["ETag"] = etag
    response["Content-Disposition"] = 'inline; filename="transform.ics"'
    # The URL is a secret: no shared cache keeps the file, no search engine lists it.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _back(request: HttpRequest, default: str) -> str:
    # Only this site's own pages (the form says which one it was posted from).
    back = request.POST.get("next", "")
    return back if back.startswith("/o/") and "//" not in back else default


@org_page
@require_POST
def my_calendar_reset(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Make or reset the caller's own feed URL (their milestones and open check-ins here)."""
    plans_url = reverse("web:plans", kwargs={"org_slug": access.organization.slug})
    person = person_of_user(organization=access.organization, user_id=access.user_id)
    if person is None:
        messages.error(
            request,
            f"Your login is not linked to a person of {access.organization.name}, so you own no "
            "milestones or check-ins here: there is no calendar to subscribe to.",
        )
        return redirect(_back(request, plans_url))
    made = calendar_feed_reset_for_person(person=person, by=request.user)
    messages.success(request, f"Your calendar URL: {made.url} — {_SHOWN_ONCE}")
    return redirect(_back(request, plans_url) + "#calendar")


@org_page
@require_POST
def plan_calendar_reset(
    request: HttpRequest, access: OrgAccess, transformation_id: int
) -> HttpResponse:
    """Make or reset the transformation's feed URL (admins and change agents)."""
    org_manage_access_check(access=access, action="make or reset a plan's calendar URL")
    found = transformation_get_for_user(
        user=request.user, transformation_id=transformation_id, organization=access.organization
    )
    made = calendar_feed_reset_for_transformation(
        transformation=found.transformation, by=request.user
    )
    messages.success(
        request,
        f"The calendar URL of this plan: {made.url} — anyone who has it reads every milestone's "
        f"title, dates, status and owner. {_SHOWN_ONCE}",
    )
    plan_url = reverse(
        "web:plan",
        kwargs={"org_slug": access.organization.slug, "transformation_id": transformation_id},
    )
    return redirect(plan_url + "#calendar")
