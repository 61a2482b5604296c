"""What every page's template gets: the organisation, the caller's roles and the navigation."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from teams.models import Role
from teams.selectors import OrgAccess

# (url name, label, roles that see it; None = every role)
NAVIGATION: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("web:graph", "Organisation graph", None),
    ("web:findings", "Findings", None),
    ("web:scenario", "Scenario", None),
    ("web:plans", "Plans", None),
    ("web:my-team", "My team", frozenset({Role.ENGINEERING_MANAGER, Role.ADMIN})),
    ("web:leadership", "Leadership", frozenset({Role.LEADER, Role.ADMIN, Role.CHANGE_AGENT})),
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
        for name, label, roles in NAVIGATION
        if roles is None or access.roles & roles
    ]
    return {
        "access": access,
        "org": access.organization,
        "roles": sorted(access.roles),
        "can_manage": access.can_manage,
        "nav": nav,
        **extra,
    }
