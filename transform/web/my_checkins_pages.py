"""The "My check-ins" page (docs/web.md): the check-ins waiting for the caller's answer in this
organisation, each with its answer link, soonest to expire first. In every role's navigation;
"My team" shows the same list (``open_checkin_items``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from transform.access import OrgAccess, checkin_open_list_for_user
from transform.rhythm.links import checkin_token
from transform.web.access import org_page
from transform.web.context import page_context

CHECKINS_SHOWN = 50


def open_checkin_items(
    request: HttpRequest, access: OrgAccess, *, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """The caller's open check-ins in this organisation (at most ``limit``), each with the path of
    its answer form, and whether more are waiting."""
    open_checkins = checkin_open_list_for_user(user=request.user, at=timezone.now()).filter(
        organization=access.organization
    )
    shown = list(open_checkins[: limit + 1])
    items = [
        {
            "checkin": checkin,
            "path": reverse("checkin-respond", kwargs={"token": checkin_token(checkin)}),
        }
        for checkin in shown[:limit]
    ]
    return items, len(shown) > limit


@org_page
def my_checkins(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The check-ins waiting for the caller's answer, with their links."""
    checkins, more = open_checkin_items(request, access, limit=CHECKINS_SHOWN)
    return render(
        request,
        "web/plan/my_checkins.html",
        page_context(access, current="web:my-checkins", checkins=checkins, more_checkins=more),
    )
