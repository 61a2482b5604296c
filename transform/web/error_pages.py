"""The site's 403 and 404 pages (``handler403``/``handler404`` in ``transform.urls``).

They keep the site's header and say, in plain words, why the page is refused or missing and what
to do next. Under ``/api/`` they answer the API's error shape (``{"message", "extra"}``) instead:
DRF renders its own errors, these cover the URLs no API view handled.
"""

from __future__ import annotations

from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.templatetags.static import static

from core.errors import DomainError
from transform.access import OrgAccess, org_access_get
from transform.web.context import page_context

# The pages whose refusal people meet most, by url name: what the page is for and the role to ask
# for. Other refusals show the reason the access rule gave.
REFUSALS: dict[str, tuple[str, str]] = {
    "leadership": ("The leadership page is for leaders, change agents and admins.", "leader"),
    "leadership-report": (
        "The leadership report is for leaders, change agents and admins.",
        "leader",
    ),
    "leadership-heat-map-csv": (
        "The readiness heat map is for leaders, change agents and admins.",
        "leader",
    ),
    "audit": ("The audit trail is for leaders, change agents and admins.", "leader"),
    "access": ("People & access is for admins and change agents.", "change agent"),
}


def _org_access(request: HttpRequest) -> OrgAccess | None:
    """The caller's standing in the organisation of the URL, when they hold a role in it."""
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("org_slug") if match is not None else None
    if not slug or not request.user.is_authenticated:
        return None
    try:
        return org_access_get(user=request.user, org_slug=slug)
    except DomainError:
        return None


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    access = _org_access(request)
    if access is None:
        return {"org": None, **extra}
    return page_context(access, current="", **extra)


def _reason(exception: Exception | None) -> str:
    return str(exception.args[0]) if exception is not None and exception.args else ""


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: the page is refused. Says why (the access rule's reason, the organisation by name)
    and what to do (whom to ask for which role)."""
    reason = _reason(exception)
    if request.path.startswith("/api/"):
        return JsonResponse({"message": reason or "You may not do this.", "extra": {}}, status=403)
    context = _context(request)
    org = context.get("org")
    match = getattr(request, "resolver_match", None)
    page, role = REFUSALS.get(match.url_name if match is not None else "", ("", ""))
    if org is not None:
        # The rules name the organisation by slug ('demo-corp'); people know it by name.
        reason = reason.replace(f"'{org.slug}'", org.name)
    admin_of = org.name if org is not None else "your organisation"
    if role:
        advice = f"Ask an admin of {admin_of} for the {role} role."
    else:
        advice = f"If you need it, ask an admin of {admin_of} for a role that allows it."
    context.update(reason=page or reason, detail=reason if page else "", advice=advice)
    return render(request, "403.html", context, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: nothing here, or nothing the caller may know of (another organisation's objects look
    missing on purpose). Under /api/ the API's error shape: ids are ``<int:>`` in routes, so
    ``/api/v1/milestones/abc/`` ends here."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    context = _context(request, request_path=request.path)
    return render(request, "404.html", context, status=404)


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for whatever the page links: the SVG icon. Resolved per
    request, since the static file's name carries its hash once collected."""
    return HttpResponsePermanentRedirect(static("web/favicon.svg"))
