"""The page behind an invitation e-mail's link (docs/access.md, docs/web.md "Invitations").

Anyone holding the link sees which organisation, role and person the invitation is for and what
accepting means; no login is needed to look. Then:

- a logged-in user accepts with a button (a Django form, CSRF-protected);
- an anonymous visitor either signs in with an existing login (the login page, back here after)
  or creates a login right on the page (``InvitationSignUpForm``: username, password twice with
  Django's validators, the invitation's address as e-mail): creating it accepts the invitation in
  the same transaction, and the new login is signed in.

Accepting goes through ``teams.invitations``; a wrong token is the same 404 as any other, an
expired, revoked or used one a 410 page saying so. When password logins are switched off
(``TRANSFORM_PASSWORD_LOGIN`` false: single sign-on only) the page offers only the sign-in link.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.backends import ModelBackend
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from core.errors import DomainError
from teams.invitations import (
    InvitationAccepted,
    InvitationInvalid,
    invitation_accept,
    invitation_accept_with_new_login,
    invitation_get_by_token,
    invitation_open_check,
)
from teams.models import Invitation, Role
from transform.web.forms import InvitationSignUpForm

TEMPLATE = "web/invitations/accept.html"


class InvitationAcceptForm(forms.Form):
    """Nothing to type: the button confirms, the CSRF token proves the page was shown."""

    confirm = forms.BooleanField(initial=True, widget=forms.HiddenInput)


def _password_logins() -> bool:
    return bool(getattr(settings, "TRANSFORM_PASSWORD_LOGIN", True))


def _password_backend() -> str:
    """The configured backend a login created here is signed in with (Django must find it in
    ``AUTHENTICATION_BACKENDS`` on the next request)."""
    for path in settings.AUTHENTICATION_BACKENDS:
        if issubclass(import_string(path), ModelBackend):
            return str(path)
    return str(settings.AUTHENTICATION_BACKENDS[0])


def _context(request: HttpRequest, invitation: Invitation, **extra: Any) -> dict[str, Any]:
    login_url = f"{reverse('login')}?{urlencode({'next': request.path})}"
    context: dict[str, Any] = {
        "invitation": invitation,
        "role_label": Role(invitation.role).label,
        "login_url": login_url,
        "password_logins": _password_logins(),
        "form": InvitationAcceptForm(),
        "signup_form": InvitationSignUpForm(email=invitation.email),
        "error": "",
    }
    context.update(extra)
    return context


def _accepted(request: HttpRequest, accepted: InvitationAccepted) -> HttpResponse:
    organization = accepted.invitation.organization
    role = Role(accepted.invitation.role).label.lower()
    if accepted.person is not None:
        text = f"Your login is now {accepted.person.name} in {organization.name}"
    else:
        text = f"You joined {organization.name}"
    if accepted.role_granted:
        text += f", with the role {role}."
    else:
        text += "; your roles there stay as they were."
    messages.success(request, text)
    return redirect("web:org-home", org_slug=organization.slug)


@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the invitation is, and how to accept; POST: accept it with the logged-in login,
    or create a login and accept with it; then go to the organisation."""
    try:
        found = invitation_get_by_token(token=token)
    except InvitationInvalid:
        raise Http404("This invitation link is not valid.") from None
    try:
        invitation_open_check(invitation=found, at=timezone.now())
    except DomainError as exc:
        return render(
            request, TEMPLATE, _context(request, found, error=exc.message), status=exc.status_code
        )
    if request.method != "POST":
        return render(request, TEMPLATE, _context(request, found))
    if request.user.is_authenticated:
        form = InvitationAcceptForm(request.POST)
        try:
            if not form.is_valid():
                raise DomainError("Use the button to accept the invitation.")
            accepted = invitation_accept(token=token, user=request.user)
        except DomainError as exc:
            context = _context(request, found, form=form, error=exc.message)
            return render(request, TEMPLATE, context, status=exc.status_code)
        return _accepted(request, accepted)
    if not _password_logins():
        return redirect(_context(request, found)["login_url"])
    signup = InvitationSignUpForm(request.POST, email=found.email)
    if not signup.is_valid():
        return render(request, TEMPLATE, _context(request, found, signup_form=signup), status=400)
    try:
        accepted = invitation_accept_with_new_login(
            token=token,
            username=signup.cleaned_data["username"],
            password=signup.cleaned_data["password1"],
        )
    except DomainError as exc:
        context = _context(request, found, signup_form=signup, error=exc.message)
        return render(request, TEMPLATE, context, status=exc.status_code)
    login(request, accepted.user, backend=_password_backend())
    return _accepted(request, accepted)
