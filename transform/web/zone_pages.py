"""The "Time zones" page (docs/time-zones.md): everyone of the organisation sees which zone its
days and schedules follow and picks the zone they read times in; admins change the
organisation's zone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from core.errors import ApplicationError, PermissionDeniedError
from core.zones import time_zone_names, time_zone_validate, zone_get
from teams.selectors import person_of_user
from teams.services import organization_update
from teams.zones import person_time_zone_set
from transform.access import OrgAccess, org_admin_access_check
from transform.web.access import display_zone_remember, org_page
from transform.web.context import page_context

ZONE_HELP = "An IANA time zone name, e.g. Europe/Berlin, America/New_York, Asia/Tokyo or UTC."


class PersonZoneForm(forms.Form):
    time_zone = forms.CharField(
        label="Your time zone",
        required=False,
        max_length=64,
        validators=[time_zone_validate],
        help_text="Leave empty to read times in the organisation's zone. " + ZONE_HELP,
        widget=forms.TextInput(attrs={"list": "time-zone-names", "autocomplete": "off"}),
    )


class OrganizationZoneForm(forms.Form):
    time_zone = forms.CharField(
        label="Organisation's time zone",
        max_length=64,
        validators=[time_zone_validate],
        help_text=ZONE_HELP,
        widget=forms.TextInput(attrs={"list": "time-zone-names", "autocomplete": "off"}),
    )


@org_page
def time_zones(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """GET: both zones and the forms; POST ``form=person``: the caller's own display zone;
    POST ``form=organization``: the organisation's zone (admins only, 403 otherwise)."""
    organization = access.organization
    person = person_of_user(organization=organization, user_id=access.user_id)
    person_form = PersonZoneForm(initial={"time_zone": person.time_zone if person else ""})
    org_form = OrganizationZoneForm(initial={"time_zone": organization.time_zone})
    status = 200
    if request.method == "POST":
        if request.POST.get("form") == "organization":
            org_admin_access_check(access=access, action="change the organisation's time zone")
            org_form = OrganizationZoneForm(request.POST)
            if org_form.is_valid():
                try:
                    organization_update(
                        organization=organization,
                        data={"time_zone": org_form.cleaned_data["time_zone"]},
                    )
                except ApplicationError as exc:
                    organization.refresh_from_db()
                    org_form.add_error("time_zone", exc.message)
                else:
                    messages.success(
                        request,
                        f"The organisation's days, schedules and messages now follow "
                        f"{organization.time_zone}.",
                    )
                    return redirect("web:time-zones", org_slug=organization.slug)
        else:
            if person is None:
                raise PermissionDeniedError(
                    "Only people of the organisation can choose a zone here; your login is not "
                    "linked to a person."
                )
            person_form = PersonZoneForm(request.POST)
            if person_form.is_valid():
                try:
                    person_time_zone_set(
                        person=person, time_zone=person_form.cleaned_data["time_zone"]
                    )
                except ValidationError as exc:
                    person_form.add_error("time_zone", exc.message_dict.get("time_zone", []))
                else:
                    display_zone_remember(request, access, person.time_zone)
                    shown = (
                        person.time_zone or f"the organisation's zone ({organization.time_zone})"
                    )
                    messages.success(request, f"Times are now shown in {shown}.")
                    return redirect("web:time-zones", org_slug=organization.slug)
        status = 400
    context: dict[str, Any] = page_context(
        access,
        current="web:time-zones",
        person=person,
        person_form=person_form,
        org_form=org_form,
        organization_zone=organization.time_zone,
        organization_now=timezone.now().astimezone(zone_get(organization.time_zone)),
        zone_names=sorted(time_zone_names()),
    )
    return render(request, "web/time_zones.html", context, status=status)
