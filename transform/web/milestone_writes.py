"""The milestone page's writes, shared by the pages that post to it (``plan_pages``: status and
owner; ``schedule_pages``: reschedule, and the timeline's and the board's JSON twins).

A page write runs a function that fetches the milestone through its access rule, validates and
calls a service; a broken rule (``ApplicationError``) comes back on the milestone page next to
its form, with the input kept and the status of the error; success redirects with a message. A
JSON write answers every domain error (not found, refused, a broken rule) in the API's shape,
``{"message", "extra"}``, with its status and in plain words.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from core.errors import ApplicationError, DomainError
from transform.access import (
    MilestoneAccess,
    OrgAccess,
    milestone_get_for_update,
    milestone_get_for_user,
)
from transform.models import MilestoneStatus
from transform.plans import selectors
from transform.plans.workflow import milestone_allowed_statuses
from transform.templatetags.words import plain
from transform.web.change_section import changes_section
from transform.web.context import page_context
from transform.web.criteria_words import criterion_rows
from transform.web.forms import TEXT_LIMIT, cleaned
from transform.web.people_words import events_name_people

# A milestone status's label, by its value (the one copy the web pages read).
STATUS_LABELS: dict[str, str] = dict(MilestoneStatus.choices)
EVENTS_PER_PAGE = 25


def milestone_url(access: OrgAccess, milestone_id: int) -> str:
    return reverse(
        "web:milestone", kwargs={"org_slug": access.organization.slug, "milestone_id": milestone_id}
    )


def milestone_page_render(
    request: HttpRequest,
    access: OrgAccess,
    found: MilestoneAccess,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
    changes_context: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """The milestone page: owner, dates, status, exit criteria, history, topology changes and
    the forms the reader may use, with ``errors`` next to them and ``values`` refilled."""
    milestone = found.milestone
    transformation_access = found.transformation_access
    organization = access.organization
    criteria = selectors.milestone_criteria_evaluate(
        organization=organization, milestones=[milestone]
    )[milestone.pk]
    events = Paginator(
        selectors.milestone_event_list(milestone=milestone), EVENTS_PER_PAGE
    ).get_page(request.GET.get("events"))
    events_name_people(events.object_list, organization=organization)
    allowed = [
        {"value": value, "label": STATUS_LABELS[value]}
        for value in milestone_allowed_statuses(milestone)
    ]
    can_status = found.can_update
    # Dependencies read by title, never by key (docs/web-plan.md, "Plain words").
    titles = {dependency.key: dependency.title for dependency in milestone.depends_on.all()}
    override = selectors.milestone_override_get(milestone=milestone)
    if override is not None:
        by = milestone.overridden_by
        override["by"] = (by.get_full_name() or by.get_username()) if by is not None else None
        override["dependencies"] = [titles.get(key, key) for key in override["dependencies"]]
    can_override = transformation_access.can_override and MilestoneStatus.DONE in (
        item["value"] for item in allowed
    )
    return render(
        request,
        "web/plan/milestone.html",
        page_context(
            access,
            current="web:plans",
            milestone=milestone,
            transformation=transformation_access.transformation,
            status_label=STATUS_LABELS.get(milestone.status, milestone.status),
            criteria=criterion_rows(criteria, organization=organization),
            events=events,
            # The "Topology changes" section (web/plan/_changes.html, transform.web.change_pages).
            **(changes_context or changes_section(found=found)),
            override=override,
            started_before_dependencies=[
                titles.get(key, key)
                for key in selectors.milestone_started_before_dependencies(milestone=milestone)
            ],
            allowed=allowed,
            can_status=can_status and bool(allowed),
            can_override=can_override,
            can_edit_plan=transformation_access.can_edit_plan,
            errors=errors or {},
            values=values or {},
        ),
        status=status,
    )


def milestone_form_cleaned(
    request: HttpRequest, access: OrgAccess, milestone_id: int, form: Form, *, action: str
) -> dict[str, Any]:
    """``form``'s values (``cleaned``); when it is not valid, whoever may not ``action`` (the
    API's ``milestone_get_for_update``) hears that first, whatever they typed. A valid form
    costs no query: the write's own access rule runs next."""
    if not form.is_valid():
        milestone_get_for_update(
            user=request.user,
            milestone_id=milestone_id,
            action=action,
            organization=access.organization,
        )
    return cleaned(form)


def milestone_write_page(
    request: HttpRequest,
    access: OrgAccess,
    milestone_id: int,
    *,
    write: Callable[[], str],
    errors: Callable[[ApplicationError], Mapping[str, str]],
) -> HttpResponse:
    """Run ``write`` (which fetches the milestone through its access rule, validates and calls
    a service, returning a success message) and redirect to the milestone page with that
    message; a broken rule shows the page again with ``errors(exc)`` and the input kept.
    Refusals and unknown milestones go on to ``org_page``'s 403 and 404 pages."""
    try:
        done = write()
    except ApplicationError as exc:
        found = milestone_get_for_user(
            user=request.user, milestone_id=milestone_id, organization=access.organization
        )
        return milestone_page_render(
            request,
            access,
            found,
            errors=errors(exc),
            values={name: str(value)[:TEXT_LIMIT] for name, value in request.POST.items()},
            status=exc.status_code,
        )
    messages.success(request, done)
    return redirect(milestone_url(access, milestone_id))


def milestone_write_json(write: Callable[[], dict[str, Any]]) -> JsonResponse:
    """Run ``write``; every domain error (not found, refused, a broken rule) as the API's error
    shape ``{"message", "extra"}`` with its status, in plain words."""
    try:
        return JsonResponse(write())
    except DomainError as exc:
        return JsonResponse(
            {"message": str(plain(exc.message)), "extra": exc.extra}, status=exc.status_code
        )


def json_answers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Outside ``org_page``: its own refusals (no such organisation for the caller: 404; 403)
    in the API's error shape too, so the script reads every refusal the same way."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:
            return JsonResponse({"message": str(exc) or "Not found.", "extra": {}}, status=404)
        except PermissionDenied as exc:
            message = str(exc) or "You may not do this."
            return JsonResponse({"message": message, "extra": {}}, status=403)

    return wrapped
