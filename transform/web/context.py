"""What every page's template gets: the organisation, the caller's roles, the navigation and the
zone its times are shown in; and the query strings of the pages' links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from teams.models import Role
from transform.access import OrgAccess, may_see_oversight, may_use_my_team

# (url name, label, who sees it; None = every role). The rules are transform.access's.
NAVIGATION: tuple[tuple[str, str, Callable[[OrgAccess], bool] | None], ...] = (
    ("web:graph", "Organisation graph", None),
    ("web:findings", "Findings", None),
    ("web:scorecard", "Scorecard", None),
    ("web:scenario", "Scenario", None),
    ("web:plans", "Plans", None),
    ("web:my-team", "My team", may_use_my_team),
    ("web:my-checkins", "My check-ins", None),
    ("web:leadership", "Leadership", may_see_oversight),
    ("web:audit", "Audit trail", may_see_oversight),
    ("web:access", "People & access", lambda access: access.can_manage),
)


def page_context(access: OrgAccess, *, current: str, **extra: Any) -> dict[str, Any]:
    """The base template's context plus ``extra``; ``current`` is the url name of this page."""
    slug = access.organization.slug
    nav = [
        {
            "url": reverse(name, kwargs={"org_slug": slug}),
            "label": label,
            "current": name == current,
        }
        for name, label, visible in NAVIGATION
        if visible is None or visible(access)
    ]
    return {
        "access": access,
        "org": access.organization,
        "roles": sorted(access.roles),
        # The header names roles as people say them ("engineering manager", not the code).
        "role_labels": [Role(role).label.lower() for role in sorted(access.roles)],
        "can_manage": access.can_manage,
        "nav": nav,
        # The zone org_page activated: the base template says "Times in <zone>" (docs/time-zones.md).
        "time_zone_name": timezone.get_current_timezone_name(),
        "time_zones_url": reverse("web:time-zones", kwargs={"org_slug": slug}),
        **extra,
    }


def query_string(**params: Any) -> str:
    """A query string of the non-empty ``params`` (with its leading ``?``), or ''."""
    kept = {key: value for key, value in params.items() if value not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""
