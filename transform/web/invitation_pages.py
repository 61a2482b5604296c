"""The page behind an invitation e-mail's link (docs/web.md, "Invitations"): it says which
organisation and person the invitation is for and what accepting means; a logged-in user
accepts with a button (a Django form, CSRF-protected). Accepting goes through
``teams.invitations.invitation_accept``; a wrong token is the same 404 as any other, an expired
or used one a 410 page saying so."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from core.errors import DomainError
from teams.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_get_by_token,
    invitation_open_check,
)


class InvitationAcceptForm(forms.Form):
    """Nothing to type: the button confirms, the CSRF token proves the page was shown."""

    confirm = forms.BooleanField(initial=True, widget=forms.HiddenInput)


@never_cache
@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the invitation is and a button; POST: accept it and go to the organisation."""
    try:
        found = invitation_get_by_token(token=token)
    except InvitationInvalid:
        raise Http404("This invitation link is not valid.") from None
    context = {"invitation": found, "form": InvitationAcceptForm(), "error": ""}
    try:
        invitation_open_check(invitation=found, at=timezone.now())
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "web/invitations/accept.html", context, status=exc.status_code)
    if request.method == "POST":
        form = InvitationAcceptForm(request.POST)
        try:
            if not form.is_valid():
                raise DomainError("Use the button to accept the invitation.")
            person = invitation_accept(token=token, user=request.user)
        except DomainError as exc:
            context.update(form=form, error=exc.message)
            return render(request, "web/invitations/accept.html", context, status=exc.status_code)
        messages.success(request, f"Your login is now {person.name} in {found.organization.name}.")
        return redirect("web:org-home", org_slug=found.organization.slug)
    return render(request, "web/invitations/accept.html", context)
