"""Accepting or rejecting the topology changes a verification proposes, in one click from the
graph's team panel or "My team" (docs/web-graph.md#topology-verification)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from transform.access import OrgAccess
from transform.checkins.verifications import (
    verification_get_for_decision,
    verification_proposal_accept,
    verification_proposal_reject,
)
from transform.web.access import org_page


def _back(access: OrgAccess, request: HttpRequest, team_slug: str) -> HttpResponse:
    slug = access.organization.slug
    if request.POST.get("back") == "graph":
        return redirect(reverse("web:graph", kwargs={"org_slug": slug}) + f"?team={team_slug}")
    return redirect(reverse("web:my-team", kwargs={"org_slug": slug}) + f"#team-{team_slug}")


def _decide(
    request: HttpRequest,
    access: OrgAccess,
    verification_id: int,
    *,
    decision: Callable[..., object],
    done: str,
) -> HttpResponse:
    verification = verification_get_for_decision(access=access, verification_id=verification_id)
    try:
        decision(verification=verification, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The proposed changes to {verification.team.name} are {done}.")
    return _back(access, request, verification.team.slug)


@require_POST
@org_page
def verification_accept(
    request: HttpRequest, access: OrgAccess, verification_id: int
) -> HttpResponse:
    """Apply a verification's proposed changes (admins, change agents, the team's manager)."""
    return _decide(
        request, access, verification_id, decision=verification_proposal_accept, done="applied"
    )


@require_POST
@org_page
def verification_reject(
    request: HttpRequest, access: OrgAccess, verification_id: int
) -> HttpResponse:
    """Reject a verification's proposed changes; nothing is applied."""
    return _decide(
        request, access, verification_id, decision=verification_proposal_reject, done="rejected"
    )
