"""The milestone page's topology-change writes (docs/web-plan.md): attach a change with the form
of its kind, delete a pending one, enact the milestone's changes.

Each goes through the service the API uses (``transform.plans.changes``) behind the API's access
rule: attaching and deleting for admins and change agents, enacting also for the milestone's
owner. A refused write shows the milestone page again (400 or 409) with the problem next to the
field it is about; a write that succeeds redirects to the page's "Topology changes" section.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from transform.access import (
    MilestoneAccess,
    OrgAccess,
    milestone_change_get_for_plan_edit,
    milestone_get_for_plan_edit,
    milestone_get_for_update,
    milestone_get_for_user,
)
from transform.plans import changes, selectors
from transform.plans.change_words import change_sentence
from transform.web.access import org_page
from transform.web.change_forms import JSON_KIND, ChangeForm, named
from transform.web.change_section import (
    change_form_bind,
    change_names_for_errors,
    change_refusal_words,
    changes_section,
    names_get,
    pickers_get,
)
from transform.web.forms import TEXT_LIMIT, cleaned
from transform.web.milestone_writes import milestone_page_render, milestone_url


def _section_url(access: OrgAccess, milestone_id: int) -> str:
    return f"{milestone_url(access, milestone_id)}#changes"


def _refused(
    request: HttpRequest,
    access: OrgAccess,
    found: MilestoneAccess,
    *,
    status: int,
    **section: Any,
) -> HttpResponse:
    """The milestone page again, its "Topology changes" section showing what was refused."""
    return milestone_page_render(
        request,
        access,
        found,
        status=status,
        changes_context=changes_section(found=found, **section),
    )


def _sentence(found: MilestoneAccess, change: Any) -> str:
    names = names_get(
        organization=found.transformation_access.org.organization, changes=[change]
    ).names
    return change_sentence(change, names)


@require_POST
@org_page
def milestone_change(request: HttpRequest, access: OrgAccess, milestone_id: int) -> HttpResponse:
    """Attach a topology change (``milestone_change_add``) described by the form of its kind
    (``kind`` and its fields) or as JSON (``change_json``)."""
    found = milestone_get_for_plan_edit(
        user=request.user,
        milestone_id=milestone_id,
        action="attach topology changes",
        organization=access.organization,
    )
    organization = access.organization
    try:
        kind, form = change_form_bind(
            request.POST, organization=organization, milestone=found.milestone
        )
    except ApplicationError as exc:
        return _refused(request, access, found, status=exc.status_code, error=exc.message)
    if isinstance(form, ChangeForm):
        if not form.is_valid():
            return _refused(
                request, access, found, status=400, forms_shown={kind: form}, open_kind=kind
            )
        change: Any = form.change()
    else:
        try:
            change = cleaned(form)["change"]
        except ApplicationError as exc:
            return _json_refused(request, access, found, exc)
    try:
        row = changes.milestone_change_add(
            milestone=found.milestone,
            change=change,
            actor=request.user,  # type: ignore[arg-type]
        )
    except ApplicationError as exc:
        if not isinstance(form, ChangeForm):
            return _json_refused(request, access, found, exc)
        words = change_refusal_words(
            organization=organization,
            milestone=found.milestone,
            pickers=form.pickers,
            change=change,
            exc=exc,
        )
        form.service_errors_apply(exc, names=words.names, other_change=words.other_change)
        return _refused(
            request,
            access,
            found,
            status=exc.status_code,
            forms_shown={kind: form},
            open_kind=kind,
        )
    messages.success(
        request,
        f"Attached: {_sentence(found, row.change)}. It is pending until the milestone's changes "
        "are enacted.",
    )
    return redirect(_section_url(access, milestone_id))


def _json_refused(
    request: HttpRequest, access: OrgAccess, found: MilestoneAccess, exc: ApplicationError
) -> HttpResponse:
    pickers = pickers_get(organization=access.organization, milestone=found.milestone)
    names = change_names_for_errors(organization=access.organization, pickers=pickers, changes=())
    return _refused(
        request,
        access,
        found,
        status=exc.status_code,
        open_kind=JSON_KIND,
        json_error=named(exc.message, names),
        json_values={"change_json": str(request.POST.get("change_json", ""))[:TEXT_LIMIT]},
    )


@require_POST
@org_page
def milestone_change_delete(
    request: HttpRequest, access: OrgAccess, milestone_id: int, change_id: int
) -> HttpResponse:
    """Remove a pending change (``milestone_change_delete``; admins and change agents)."""
    # Found in the address's organisation and milestone first (404), then the permission (403):
    # someone with a role elsewhere learns nothing about another organisation's changes.
    if (
        selectors.milestone_change_in_organization(
            organization=access.organization, milestone_id=milestone_id, change_id=change_id
        )
        is None
    ):
        raise Http404("No such change on this milestone.")
    found_change = milestone_change_get_for_plan_edit(
        user=request.user, change_id=change_id, action="delete topology changes"
    )
    change = found_change.change
    sentence = _sentence(found_change.milestone_access, change.change)
    try:
        changes.milestone_change_delete(change=change)
    except ApplicationError as exc:
        found = milestone_get_for_user(
            user=request.user, milestone_id=milestone_id, organization=access.organization
        )
        names = names_get(organization=access.organization, changes=[change.change]).names
        return _refused(
            request, access, found, status=exc.status_code, error=named(exc.message, names)
        )
    messages.success(request, f"Deleted the pending change: {sentence}.")
    return redirect(_section_url(access, milestone_id))


@require_POST
@org_page
def milestone_changes_enact(
    request: HttpRequest, access: OrgAccess, milestone_id: int
) -> HttpResponse:
    """Apply the milestone's pending changes to the live graph, all or nothing
    (``milestone_changes_enact``; the milestone's owner, admins and change agents)."""
    found = milestone_get_for_update(
        user=request.user,
        milestone_id=milestone_id,
        action="enact its changes",
        organization=access.organization,
    )
    try:
        result = changes.milestone_changes_enact(
            milestone=found.milestone,
            actor=request.user,  # type: ignore[arg-type]
        )
    except ApplicationError as exc:
        names = names_get(
            organization=access.organization,
            changes=[
                row.change for row in selectors.milestone_change_list(milestone=found.milestone)
            ],
        ).names
        return _refused(
            request, access, found, status=exc.status_code, error=named(exc.message, names)
        )
    if not result.changes:
        messages.info(request, "Nothing to enact: this milestone has no pending change.")
    else:
        names = names_get(
            organization=access.organization, changes=[row.change for row in result.changes]
        ).names
        done = "; ".join(change_sentence(row.change, names) for row in result.changes)
        count = len(result.changes)
        messages.success(
            request,
            f"Enacted {count} change{'s' if count != 1 else ''} on the organisation graph: {done}.",
        )
    return redirect(_section_url(access, milestone_id))
